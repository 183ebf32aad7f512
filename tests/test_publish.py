"""`course publish`: the student edition never contains solutions, hidden tests or grading configuration."""
from __future__ import annotations

import shutil

import pytest

from rnnbook.grading.course import Course
from rnnbook.grading.publish import PublishError, leaks, publish, secrets

from conftest import ROOT


@pytest.fixture
def built_book(tmp_path):
    """The real build when there is one (after `make book`), else a one-page stand-in."""
    html = ROOT / "_build" / "html"
    if (html / "index.html").is_file():
        return html
    html = tmp_path / "html"
    html.mkdir()
    (html / "index.html").write_text("<html><body>From RNNs to Attention</body></html>")
    return html


def test_student_edition_has_exercises_and_package_but_no_secrets(tmp_path, built_book):
    course = Course(ROOT)
    dest = publish(course, tmp_path / "site", built_book)
    assert (dest / "index.html").is_file()
    for assignment in course.assignments():
        assert (dest / "course" / "exercises" / assignment / f"{assignment}.ipynb").is_file()
    assert (dest / "course" / "src" / "rnnbook" / "__init__.py").is_file()
    assert (dest / "course" / "data-manifest.json").is_file()
    names = {p.name for p in dest.rglob("*")}
    assert not names & {"solutions", "autograder", "nbgrader_config.py", "gradebook.db", "tests"}
    assert len(secrets(course)) > 20, "the leak check found too little to look for"
    assert leaks(course, dest) == []


def test_a_leaked_solution_or_hidden_test_is_caught(tmp_path, built_book):
    course = Course(ROOT)
    dest = publish(course, tmp_path / "site", built_book)
    assignment = course.assignments()[0]
    shutil.copy(course.source_notebook(assignment), dest / "course" / "exercises" / "copy.ipynb")
    assert any("copy.ipynb" in line for line in leaks(course, dest))
    (dest / "course" / "exercises" / "copy.ipynb").unlink()
    hidden = next(s for s in secrets(course) if "\n" not in s)  # one line of a hidden test or solution
    (dest / "notes.html").write_text(f"<pre>{hidden}</pre>")
    assert leaks(course, dest) == [f"notes.html: contains {hidden[:70]!r}"]


def test_publish_refuses_without_a_built_book(tmp_path):
    with pytest.raises(PublishError, match="make book"):
        publish(Course(ROOT), tmp_path / "site", tmp_path / "nothing")
