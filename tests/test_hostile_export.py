"""`course export`: the Gradescope autograder zip, run locally against a fake /autograder root, gives
the score `course grade` gives; the Canvas CSV lists each student's total."""
from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import nbformat
import pytest

from test_grading import COURSE, read_table, run_course

pytestmark = pytest.mark.slow
A1 = "a1_preprocessing"
# What the solution scores before a person grades the written answers: the autograded test cells' points.
A1_AUTOGRADED = sum(c.metadata.nbgrader.get("points", 0) for c in nbformat.read(COURSE.source_notebook(A1), as_version=4).cells
                    if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("grade"))


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    out = tmp_path_factory.mktemp("export")
    result = run_course("export", "gradescope", A1, "-o", str(out))
    assert result.returncode == 0, result.stderr
    return out / "autograder.zip"


def run_autograder(zip_path: Path, notebook: Path, root: Path) -> dict:
    """Gradescope's layout: the zip in source/, the upload in submission/, results/ written."""
    (root / "source").mkdir(parents=True)
    (root / "submission").mkdir()
    with zipfile.ZipFile(zip_path) as zf:
        zf.extractall(root / "source")
    (root / "submission" / f"{A1}.ipynb").write_bytes(notebook.read_bytes())
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}  # only the shipped package
    env.update(AUTOGRADER_ROOT=str(root), AUTOGRADER_PYTHON=sys.executable)
    done = subprocess.run(["bash", str(root / "source" / "run_autograder")], env=env, cwd=root, text=True,
                          capture_output=True, timeout=1800)
    assert done.returncode == 0, done.stdout + done.stderr
    return json.loads((root / "results" / "results.json").read_text())


def test_zip_layout(exported):
    names = set(zipfile.ZipFile(exported).namelist())
    assert {"setup.sh", "run_autograder", "requirements.txt", f"course/solutions/{A1}/{A1}.ipynb",
            "package/rnnbook/grading/grade.py"} <= names
    requirements = zipfile.ZipFile(exported).read("requirements.txt").decode()
    assert "torch==" in requirements and "nbgrader==" in requirements and "-e ." not in requirements


@pytest.mark.parametrize("which", ["solution", "untouched"])
def test_gradescope_score_equals_course_grade(exported, tmp_path, which):
    notebook = (COURSE.source_notebook(A1) if which == "solution"
                else COURSE.exercises / A1 / f"{A1}.ipynb")
    results = run_autograder(exported, notebook, tmp_path / "autograder")
    subs = tmp_path / "subs"
    subs.mkdir()
    (subs / f"{which}.ipynb").write_bytes(notebook.read_bytes())
    graded = run_course("grade", A1, str(subs), "--workdir", str(tmp_path / "work"))
    assert graded.returncode == 0, graded.stderr
    row = read_table(tmp_path / "work" / f"grades_{A1}.csv")[which]
    assert results["score"] == float(row["total"]) == (A1_AUTOGRADED if which == "solution" else 0)
    tests = {t["name"]: t for t in results["tests"]}
    assert tests["test_tokenize_visible"]["visibility"] == "visible"
    assert tests["test_tokenize_hidden"]["visibility"] == "after_published"
    assert all(t["max_score"] > 0 and "BEGIN HIDDEN" not in t["output"] for t in tests.values())
    # Canvas: the same total, from course grade's table.
    canvas = run_course("export", "canvas", A1, "-o", str(tmp_path / "canvas"), "--workdir", str(tmp_path / "work"))
    assert canvas.returncode == 0, canvas.stderr
    with open(tmp_path / "canvas" / f"canvas_{A1}.csv", newline="") as fh:
        assert list(csv.reader(fh)) == [["Student", A1], [which, row["total"]]]
