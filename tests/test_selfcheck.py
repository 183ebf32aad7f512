"""A learner's self-check: `course check` runs the visible tests and explains the result."""
from __future__ import annotations

import subprocess
import sys

import nbformat
import pytest

from conftest import ROOT

pytestmark = pytest.mark.slow


def visible_points(assignment: str) -> int:
    """The points of an assignment's visible test cells (what `course check` can score)."""
    nb = nbformat.read(ROOT / "exercises" / assignment / f"{assignment}.ipynb", as_version=4)
    return int(sum(c.metadata.nbgrader.get("points", 0) for c in nb.cells
                   if c.metadata.get("nbgrader", {}).get("grade_id", "").endswith("_visible")))


def check(path):
    return subprocess.run([sys.executable, "-m", "rnnbook.grading.cli", "check", str(path)], cwd=ROOT,
                          capture_output=True, text=True, timeout=900)


def test_solution_passes_every_visible_test():
    result = check(ROOT / "solutions" / "a1_preprocessing" / "a1_preprocessing.ipynb")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "All visible tests pass" in result.stdout
    assert "[hidden] test_tokenize_hidden" in result.stdout


def test_untouched_exercise_fails_with_guidance():
    result = check(ROOT / "exercises" / "a1_preprocessing" / "a1_preprocessing.ipynb")
    assert result.returncode == 1
    assert "[FAIL]   test_tokenize_visible: 0/1  NotImplementedError" in result.stdout
    assert f"Visible tests: 0/{visible_points('a1_preprocessing')} points." in result.stdout
