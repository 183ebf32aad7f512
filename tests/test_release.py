"""One source of truth: exercises/ is generated from solutions/, and drift is caught."""
from __future__ import annotations

import shutil
import subprocess
import sys

import nbformat
import pytest

from rnnbook.grading import release
from rnnbook.grading.course import Course, repository_url

from conftest import ROOT


def test_exercises_are_in_sync_with_solutions():
    result = subprocess.run([sys.executable, "-m", "rnnbook.grading.cli", "release", "--check"], cwd=ROOT,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr


def test_exercises_hide_solutions_and_hidden_tests():
    course = Course(ROOT)
    for assignment in course.assignments():
        text = (course.exercises / assignment / f"{assignment}.ipynb").read_text()
        assert "BEGIN SOLUTION" not in text and "BEGIN HIDDEN TESTS" not in text
        assert "raise NotImplementedError()" in text
        assert "colab.research.google.com/github/" in text, "the exercise needs its Open-in-Colab badge"


@pytest.fixture
def course_copy(tmp_path):
    for name in ("_config.yml", "pyproject.toml", "autograder", "solutions", "exercises", "book"):
        src = ROOT / name
        (shutil.copytree if src.is_dir() else shutil.copy)(src, tmp_path / name)
    return Course(tmp_path)


def test_drift_is_detected_and_release_repairs_it(course_copy):
    assignment = course_copy.assignments()[0]
    path = course_copy.source_notebook(assignment)
    nb = nbformat.read(path, as_version=4)
    nb.cells.append(nbformat.v4.new_markdown_cell("A new paragraph in the source."))
    nbformat.write(nb, path)
    problems = release.release(course_copy, [assignment], check=True)
    assert any("differs from what solutions/ generates" in p for p in problems), problems
    assert release.release(course_copy, [assignment]) == []
    assert release.release(course_copy, [assignment], check=True) == []


def test_headers_follow_the_repository_url(course_copy):
    config = course_copy.root / "_config.yml"
    config.write_text(config.read_text().replace("github.com/rnn-to-attention/course", "github.com/someone/fork"))
    assert repository_url(course_copy.root) == "https://github.com/someone/fork"
    stale = release.refresh_headers(course_copy, check=True)
    assert course_copy.source_notebook(course_copy.assignments()[0]) in stale
    release.refresh_headers(course_copy)
    assert release.refresh_headers(course_copy, check=True) == []
    assert "github.com/someone/fork" in course_copy.source_notebook(course_copy.assignments()[0]).read_text()
