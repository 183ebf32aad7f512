"""The book builds strictly (warnings are errors; a failing chapter fails the build)."""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT, needs_mirror

pytestmark = [pytest.mark.slow, needs_mirror]


def test_book_builds_strictly(tmp_path):
    jupyter_book = Path(sys.executable).parent / "jupyter-book"
    build = ROOT / "_build"  # the execution cache lives here, so a second build is fast
    result = subprocess.run([str(jupyter_book), "build", str(ROOT), "--warningiserror", "--keep-going"],
                            capture_output=True, text=True, timeout=3000)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    html = build / "html"
    for page in ("book/intro.html", "book/how_to_use.html", "book/01_text_as_sequences.html"):
        assert (html / page).is_file(), page
    chapter = (html / "book" / "01_text_as_sequences.html").read_text()
    assert "data:image/png" in chapter or "_images/" in chapter, "chapter figures are missing"
    assert "colab.research.google.com/github/rnn-to-attention/course" in chapter
    shutil.rmtree(tmp_path, ignore_errors=True)
