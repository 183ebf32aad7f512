"""The grading pipeline end to end, through the real `course grade` command.

For every assignment in solutions/: the solution earns full marks on autograded items, the
untouched exercise earns zero, and every plausible wrong answer in tests/mutants/<id>.py loses
points on its item. Assignment 1 also gets the hostile cases: broken, runaway, crashing, edited,
warning and gamed notebooks.
"""
from __future__ import annotations

import copy
import csv
import importlib
import json
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from rnnbook.grading.course import Course

from conftest import ROOT

COURSE = Course(ROOT)
ASSIGNMENTS = COURSE.assignments()
pytestmark = pytest.mark.slow


def run_course(*args: str, timeout: int = 3000) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "rnnbook.grading.cli", *args], cwd=ROOT, text=True,
                          capture_output=True, timeout=timeout)


def read_table(csv_path: Path) -> dict[str, dict[str, str]]:
    with open(csv_path, newline="") as fh:
        return {row["student"]: row for row in csv.DictReader(fh)}


def cell_index(nb, grade_id: str) -> int:
    for i, cell in enumerate(nb.cells):
        if cell.metadata.get("nbgrader", {}).get("grade_id") == grade_id:
            return i
    raise KeyError(grade_id)


def with_cell(nb, grade_id: str, source: str):
    changed = copy.deepcopy(nb)
    changed.cells[cell_index(changed, grade_id)].source = source
    return changed


def mutants_of(assignment: str) -> dict[str, tuple[str, str]]:
    try:
        return importlib.import_module(f"mutants.{assignment}").MUTANTS
    except ModuleNotFoundError:
        return {}


def autograded_items(release_nb) -> dict[str, float]:
    """Item -> points, for the items a machine grades (written answers excluded)."""
    from rnnbook.grading.grade import GradeItems
    items = GradeItems.from_release(release_nb)
    manual = {c.metadata.nbgrader["grade_id"] for c in release_nb.cells
              if c.metadata.get("nbgrader", {}).get("solution") and c.metadata.nbgrader.get("grade")}
    return {name: items.max_points(name) for name in items.names if name not in manual}


@pytest.fixture(scope="module", params=ASSIGNMENTS)
def graded(request, tmp_path_factory):
    """Grade solution, exercise and all mutants of one assignment in one batch."""
    assignment = request.param
    subs = tmp_path_factory.mktemp(f"subs-{assignment}")
    work = tmp_path_factory.mktemp(f"work-{assignment}")
    source = nbformat.read(COURSE.source_notebook(assignment), as_version=4)
    nbformat.write(source, subs / "solution.ipynb")
    nbformat.write(nbformat.read(COURSE.exercises / assignment / f"{assignment}.ipynb", as_version=4),
                   subs / "untouched.ipynb")
    mutants = mutants_of(assignment)
    for name, (grade_id, code) in mutants.items():
        nbformat.write(with_cell(source, grade_id, code), subs / f"{name}.ipynb")
    extra = HOSTILE.get(assignment)
    if extra:
        extra(source, subs)
    result = run_course("grade", assignment, str(subs), "--workdir", str(work), "--cell-timeout", "60")
    assert result.returncode == 0, result.stdout + result.stderr
    release_nb = nbformat.read(work / "template" / "release" / assignment / f"{assignment}.ipynb", as_version=4)
    return {"assignment": assignment, "table": read_table(work / f"grades_{assignment}.csv"), "work": work,
            "subs": subs, "mutants": mutants, "items": autograded_items(release_nb), "stdout": result.stdout}


def test_solution_earns_full_marks(graded):
    row = graded["table"]["solution"]
    assert row["status"] == "graded", row
    for item, points in graded["items"].items():
        assert float(row[item]) == points, f"{graded['assignment']}: solution lost points on {item}: {row}"


def test_untouched_exercise_earns_zero(graded):
    row = graded["table"]["untouched"]
    assert row["status"] == "graded", row
    for item in graded["items"]:
        assert float(row[item]) == 0, f"{graded['assignment']}: the empty exercise earns points on {item}"


def test_every_graded_function_has_three_wrong_versions(graded):
    per_item: dict[str, int] = {}
    for grade_id, _ in graded["mutants"].values():
        per_item[grade_id] = per_item.get(grade_id, 0) + 1
    solution_cells = {c.metadata.nbgrader["grade_id"] for c in
                      nbformat.read(COURSE.source_notebook(graded["assignment"]), as_version=4).cells
                      if c.metadata.get("nbgrader", {}).get("solution") and c.cell_type == "code"}
    thin = {item: per_item.get(item, 0) for item in solution_cells if per_item.get(item, 0) < 3}
    assert not thin, f"{graded['assignment']}: fewer than three wrong versions for {thin}"


def test_wrong_versions_lose_points(graded):
    survivors = []
    for name, (grade_id, _) in graded["mutants"].items():
        row = graded["table"][name]
        item_points = graded["items"].get(grade_id)
        if item_points is None or float(row[grade_id]) >= item_points:
            survivors.append(f"{name} ({grade_id}: {row.get(grade_id)})")
    assert not survivors, f"{graded['assignment']}: wrong versions kept full marks: {survivors}"


def test_summary_and_feedback(graded):
    assert "student" in graded["stdout"] and "total" in graded["stdout"]
    feedback = graded["work"] / "feedback" / "solution" / graded["assignment"] / f"{graded['assignment']}.html"
    assert feedback.is_file()
    html = feedback.read_text()
    assert "BEGIN HIDDEN TESTS" not in html and "hidden tests ran here" in html


# ---------------------------------------------------------------- hostile submissions (Assignment 1)

def _a1_hostile(source, subs: Path) -> None:
    runaway = "\nimport time\nwhile True:\n    try:\n        time.sleep(0.05)\n    except KeyboardInterrupt:\n        pass\n"
    nb = copy.deepcopy(source)
    nb.cells[cell_index(nb, "tokenize")].source += runaway
    nbformat.write(nb, subs / "runaway.ipynb")

    nb = copy.deepcopy(source)
    nb.cells[cell_index(nb, "numericalize")].source += "\nimport os\nos._exit(3)\n"
    nbformat.write(nb, subs / "crasher.ipynb")

    nb = copy.deepcopy(source)  # deletes two test cells and empties another
    nb.cells[cell_index(nb, "test_tokenize_hidden")].source = "pass"
    del nb.cells[cell_index(nb, "test_build_vocab_hidden")]
    del nb.cells[cell_index(nb, "test_pad_batch_visible")]
    nbformat.write(nb, subs / "editor.ipynb")

    nb = copy.deepcopy(source)  # correct, but warns on stderr inside the test cells
    i = cell_index(nb, "pad_batch")
    nb.cells[i].source = nb.cells[i].source.replace(
        "    lengths = torch.tensor", "    import warnings; warnings.warn('deprecated', UserWarning)\n    lengths = torch.tensor")
    nbformat.write(nb, subs / "warner.ipynb")

    nb = copy.deepcopy(source)  # wrong padding, and replaces the functions the tests compare with
    i = cell_index(nb, "pad_batch")
    nb.cells[i].source = nb.cells[i].source.replace("pad_index, dtype=torch.long)", "0, dtype=torch.long)") + (
        "\nimport builtins, torch\ntorch.equal = lambda *a, **k: True\ntorch.allclose = lambda *a, **k: True\n")
    nbformat.write(nb, subs / "gamer.ipynb")

    (subs / "broken.ipynb").write_text('{"cells": [')
    (subs / "empty.ipynb").write_text("")
    (subs / "not_a_notebook.ipynb").write_text('{"hello": 1}')

    nested = subs / "submitted" / "nested_student" / "a1_preprocessing"  # nbgrader's layout
    nested.mkdir(parents=True)
    nbformat.write(source, nested / "my_work.ipynb")


HOSTILE = {"a1_preprocessing": _a1_hostile}


@pytest.mark.assignment_only("a1_preprocessing")
def test_runaway_cell_costs_only_its_item(graded):
    row = graded["table"]["runaway"]
    assert row["status"] == "graded" and float(row["tokenize"]) == 0
    assert float(row["total"]) == float(row["max"]) - graded["items"]["tokenize"]


@pytest.mark.assignment_only("a1_preprocessing")
def test_crashing_kernel_costs_only_its_item(graded):
    row = graded["table"]["crasher"]
    assert float(row["numericalize"]) == 0
    assert float(row["total"]) == float(row["max"]) - graded["items"]["numericalize"]


@pytest.mark.assignment_only("a1_preprocessing")
def test_deleted_and_edited_tests_are_restored(graded):
    row = graded["table"]["editor"]
    assert float(row["total"]) == float(row["max"])
    assert "restored deleted cell test_build_vocab_hidden" in row["note"]
    assert "restored deleted cell test_pad_batch_visible" in row["note"]


@pytest.mark.assignment_only("a1_preprocessing")
def test_warnings_never_zero_a_correct_answer(graded):
    row = graded["table"]["warner"]
    assert float(row["total"]) == float(row["max"]), row


@pytest.mark.assignment_only("a1_preprocessing")
def test_replacing_library_functions_does_not_fool_hidden_tests(graded):
    row = graded["table"]["gamer"]
    assert float(row["pad_batch"]) < graded["items"]["pad_batch"], row
    results = json.loads((graded["work"] / "results" / "a1_preprocessing" / "gamer.json").read_text())
    assert "replaced functions that the tests rely on" in results["failures"]["test_pad_batch_hidden"]


@pytest.mark.assignment_only("a1_preprocessing")
def test_broken_files_get_a_zero_row_with_the_reason(graded):
    table = graded["table"]
    assert "not valid notebook JSON" in table["broken"]["note"]
    assert "empty" in table["empty"]["note"]
    assert "not a Jupyter notebook" in table["not_a_notebook"]["note"]
    for name in ("broken", "empty", "not_a_notebook"):
        assert table[name]["status"] == "error" and float(table[name]["total"]) == 0


@pytest.mark.assignment_only("a1_preprocessing")
def test_nbgrader_layout_is_collected(graded):
    row = graded["table"]["nested_student"]
    assert float(row["total"]) == float(row["max"])


@pytest.mark.assignment_only("a1_preprocessing")
def test_delegating_to_the_answer_key_loses_points(graded):
    results = json.loads((graded["work"] / "results" / "a1_preprocessing" / "tokenize_delegates_to_package.json")
                         .read_text())
    assert "ForbiddenCallError" in results["failures"]["test_tokenize_hidden"]


@pytest.mark.assignment_only("a1_preprocessing")
def test_regrading_gives_the_same_table_and_keeps_other_students(graded):
    table = graded["table"]
    subset = graded["subs"].parent / "regrade-subset"
    subset.mkdir(exist_ok=True)
    for name in ("solution", "broken", "warner"):
        target = subset / f"{name}.ipynb"
        target.write_bytes((graded["subs"] / f"{name}.ipynb").read_bytes())
    result = run_course("grade", "a1_preprocessing", str(subset), "--workdir", str(graded["work"]))
    assert result.returncode == 0, result.stderr
    again = read_table(graded["work"] / "grades_a1_preprocessing.csv")
    assert again == table, "regrading changed the table or lost students"


@pytest.mark.assignment_only("a1_preprocessing")
def test_feedback_hides_hidden_test_code_even_in_tracebacks(graded):
    html = (graded["work"] / "feedback" / "untouched" / "a1_preprocessing" / "a1_preprocessing.html").read_text()
    assert "_reference" not in html and "Random(1234)" not in html
    assert "NotImplementedError" in html
