"""The data layer: download with checksums from a real HTTP server, mirror, cache, clear errors."""
from __future__ import annotations

import hashlib
import socket

import pytest

from rnnbook.data import datasets
from rnnbook.data.datasets import (ChecksumMismatchError, DataUnavailableError, Dataset, RemoteFile,
                              UnknownSplitError)

from conftest import mirror_dir, needs_mirror

PAYLOAD = b"to be or not to be\n" * 500


def _fake(base_url: str, sha: str | None = None) -> Dataset:
    sha = sha or hashlib.sha256(PAYLOAD).hexdigest()
    return Dataset(key="fake-corpus", title="Fake", license="none", citation="none", attribution="none",
                   files={"train.txt": RemoteFile("train.txt", f"{base_url}/train.txt", sha, len(PAYLOAD))},
                   splits={"train": "train.txt"})


@pytest.fixture
def isolated(tmp_path, monkeypatch):
    """An empty cache, no mirror, and a registry we can add fakes to."""
    monkeypatch.setenv(datasets.CACHE_ENV, str(tmp_path / "cache"))
    monkeypatch.delenv(datasets.MIRROR_ENV, raising=False)
    monkeypatch.setattr(datasets, "REGISTRY", dict(datasets.REGISTRY))
    return tmp_path


def test_download_verifies_and_caches(isolated, http_server):
    base, www = http_server
    (www / "train.txt").write_bytes(PAYLOAD)
    datasets.register(_fake(base))
    path = datasets.fetch("fake-corpus", "train")
    assert path.read_bytes() == PAYLOAD
    assert path.parent == isolated / "cache" / "fake-corpus"
    (www / "train.txt").unlink()  # second call must not need the server
    assert datasets.fetch("fake-corpus", "train.txt") == path
    assert list(path.parent.iterdir()) == [path], "no temporary files may be left behind"


def test_checksum_mismatch_is_refused_and_nothing_is_kept(isolated, http_server):
    base, www = http_server
    (www / "train.txt").write_bytes(PAYLOAD)
    datasets.register(_fake(base, sha="0" * 64))
    with pytest.raises(ChecksumMismatchError, match="expects 0000") as err:
        datasets.fetch("fake-corpus", "train")
    assert "fetch it again from http://127.0.0.1" in str(err.value)
    folder = isolated / "cache" / "fake-corpus"
    assert not folder.exists() or not any(folder.iterdir()), "a file that failed its checksum must not stay"


def test_server_down_says_what_to_do(isolated):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    datasets.register(_fake(f"http://127.0.0.1:{port}"))
    with pytest.raises(DataUnavailableError) as err:
        datasets.fetch("fake-corpus", "train")
    message = str(err.value)
    assert datasets.MIRROR_ENV in message and f"127.0.0.1:{port}/train.txt" in message
    assert "save it as" in message


def test_mirror_is_read_and_verified(isolated, monkeypatch):
    mirror = isolated / "mirror"
    (mirror / "fake-corpus").mkdir(parents=True)
    (mirror / "fake-corpus" / "train.txt").write_bytes(PAYLOAD)
    datasets.register(_fake("http://127.0.0.1:9"))  # never contacted
    monkeypatch.setenv(datasets.MIRROR_ENV, str(mirror))
    assert datasets.fetch("fake-corpus", "train") == mirror / "fake-corpus" / "train.txt"
    (mirror / "fake-corpus" / "train.txt").write_bytes(PAYLOAD[:-1])
    with pytest.raises(ChecksumMismatchError, match="mirror file"):
        datasets.fetch("fake-corpus", "train")


def test_mirror_without_the_file_falls_back_to_download(isolated, monkeypatch, http_server):
    base, www = http_server
    (www / "train.txt").write_bytes(PAYLOAD)
    datasets.register(_fake(base))
    monkeypatch.setenv(datasets.MIRROR_ENV, str(isolated / "empty-mirror"))
    assert datasets.fetch("fake-corpus", "train").read_bytes() == PAYLOAD


def test_unknown_split_and_dataset_name_the_choices():
    with pytest.raises(UnknownSplitError, match="choose one of: test, test.txt, train"):
        datasets.fetch("wikitext-2", "training")
    with pytest.raises(UnknownSplitError, match="the registry has: .*tinyshakespeare"):
        datasets.fetch("wikitext-3", "train")


def test_registry_covers_the_course_data_sets():
    assert {"tinyshakespeare", "wikitext-2", "ptb", "eng-fra", "kor-eng", "multi30k"} <= set(datasets.REGISTRY)
    for ds in datasets.REGISTRY.values():
        assert ds.license and ds.citation and ds.attribution
        for remote in ds.files.values():
            assert remote.url.startswith("https://") and len(remote.sha256) == 64


@needs_mirror
def test_every_registered_file_matches_the_mirror_manifest():
    """The registry's checksums agree with the mirror's MANIFEST.tsv, and every file verifies."""
    manifest = {}
    for line in (mirror_dir() / "MANIFEST.tsv").read_text().splitlines()[1:]:
        path, size, sha, _license = line.split("\t")
        manifest[path] = (int(size), sha)
    for ds in datasets.REGISTRY.values():
        for remote in ds.files.values():
            assert manifest[f"{ds.key}/{remote.name}"] == (remote.size, remote.sha256)
            datasets.fetch(ds.key, remote.name, download=False)


@needs_mirror
def test_readers_return_real_text():
    pairs = datasets.translation_pairs("eng-fra", source="fr", target="en")
    assert len(pairs) == 142_787 and pairs[0][1] == "Go."
    assert len(datasets.translation_pairs("kor-eng", source="en", target="ko")) == 5_749
    assert len(datasets.translation_pairs("multi30k", "valid", source="en", target="de")) == 1_014
    assert datasets.read_text("tinyshakespeare", "all").startswith("First Citizen:")
    assert "WikiText-2" in datasets.describe("wikitext-2")


def test_gradescope_setup_fetches_every_file_into_a_mirror(isolated, http_server, monkeypatch):
    from rnnbook.grading.export import fetch_data
    base, www = http_server
    (www / "train.txt").write_bytes(PAYLOAD)
    monkeypatch.setattr(datasets, "REGISTRY", {})
    datasets.register(_fake(base))
    monkeypatch.setenv(datasets.MIRROR_ENV, str(isolated / "no-mirror"))  # ignored: setup.sh downloads
    monkeypatch.setenv(datasets.CACHE_ENV, str(isolated / "cache"))  # restored after the test
    paths = fetch_data(isolated / "data")
    assert paths == [isolated / "data" / "fake-corpus" / "train.txt"] and paths[0].read_bytes() == PAYLOAD
    # run_autograder reads that folder as the mirror, offline.
    assert datasets.fetch("fake-corpus", "train", mirror=isolated / "data", download=False) == paths[0]
