"""Shared fixtures: the repository root, the data mirror, a local HTTP server."""
from __future__ import annotations

import contextlib
import functools
import http.server
import os
import threading
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def mirror_dir() -> Path | None:
    value = os.environ.get("RNNBOOK_DATA_MIRROR")
    return Path(value) if value and Path(value).is_dir() else None


needs_mirror = pytest.mark.skipif(mirror_dir() is None, reason="RNNBOOK_DATA_MIRROR is not set to a data folder")


@contextlib.contextmanager
def serve_folder(folder):
    """Serve ``folder`` on 127.0.0.1 while the block runs; yields the base URL."""
    handler = functools.partial(_QuietHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def http_server(tmp_path):
    """Serve ``tmp_path/www`` on 127.0.0.1; yields (base_url, folder)."""
    folder = tmp_path / "www"
    folder.mkdir()
    with serve_folder(folder) as base:
        yield base, folder


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # keep test output clean
        pass


def pytest_collection_modifyitems(config, items):
    """Tests marked ``assignment_only(id)`` run only with the ``graded`` fixture of that assignment
    (the hostile submissions are built for Assignment 1 alone)."""
    kept, dropped = [], []
    for item in items:
        marker = item.get_closest_marker("assignment_only")
        callspec = getattr(item, "callspec", None)
        if marker and callspec and callspec.params.get("graded") not in marker.args:
            dropped.append(item)
        else:
            kept.append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept
