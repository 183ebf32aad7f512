"""The book builds strictly (warnings are errors; a failing chapter fails the build)."""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from conftest import ROOT, needs_mirror

pytestmark = [pytest.mark.slow, needs_mirror]


def test_book_builds_strictly(tmp_path):
    jupyter_book = Path(sys.executable).parent / "jupyter-book"
    build = ROOT / "_build"  # the execution cache lives here, so a second build is fast
    result = subprocess.run([str(jupyter_book), "build", str(ROOT), "--warningiserror", "--keep-going"],
                            capture_output=True, text=True, timeout=3000)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    html = build / "html"
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    parts = toc.get("parts", [{"chapters": toc.get("chapters", [])}])
    pages = [toc["root"]] + [entry["file"] for part in parts for entry in part["chapters"]]
    for page in pages:
        assert (html / f"{page}.html").is_file(), f"{page} was not rendered"
    for page in pages:
        if (ROOT / f"{page}.ipynb").is_file():  # chapters: executed, with figures and a Colab button
            text = (html / f"{page}.html").read_text()
            assert "<img" in text, f"{page} shows no figure"
            assert "colab.research.google.com/github/rnn-to-attention/course" in text, f"{page} has no Colab button"
            assert "Traceback" not in text, f"{page} shows an error"
    shutil.rmtree(tmp_path, ignore_errors=True)
