"""Grading. End to end, through the real `course grade` command (slow: one batch per assignment):
the solution earns full marks on autograded items and the untouched exercise earns zero; Assignment 1
also gets the hostile cases (broken, runaway, crashing, edited, warning and gamed notebooks).

Through the fast mutant runner (tests/mutants/runner.py: the notebook executed once, each variant
forked before its cell): every plausible wrong answer in tests/mutants/<id>.py loses points on its
item, and every correct alternative keeps full marks.
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
from mutants.runner import run_variants

COURSE = Course(ROOT)
ASSIGNMENTS = COURSE.assignments()
slow = pytest.mark.slow


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


def variants_of(assignment: str, kind: str = "MUTANTS") -> dict[str, tuple[str, str]]:
    """``MUTANTS`` (wrong versions) or ``ALTERNATIVES`` (correct ones) of an assignment."""
    try:
        return getattr(importlib.import_module(f"mutants.{assignment}"), kind, {})
    except ModuleNotFoundError:
        return {}


def autograded_max(graded) -> float:
    """The most a submission can score before a person grades the written answers (the table's
    ``max`` includes those; its ``total`` does not until they are graded)."""
    return sum(graded["items"].values())


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
    extra = HOSTILE.get(assignment)
    if extra:
        extra(source, subs)
    result = run_course("grade", assignment, str(subs), "--workdir", str(work), "--cell-timeout", "60")
    assert result.returncode == 0, result.stdout + result.stderr
    release_nb = nbformat.read(work / "template" / "release" / assignment / f"{assignment}.ipynb", as_version=4)
    return {"assignment": assignment, "table": read_table(work / f"grades_{assignment}.csv"), "work": work,
            "subs": subs, "items": autograded_items(release_nb), "stdout": result.stdout}


@slow
def test_solution_earns_full_marks(graded):
    row = graded["table"]["solution"]
    assert row["status"] == "graded", row
    for item, points in graded["items"].items():
        assert float(row[item]) == points, f"{graded['assignment']}: solution lost points on {item}: {row}"


@slow
def test_untouched_exercise_earns_zero(graded):
    row = graded["table"]["untouched"]
    assert row["status"] == "graded", row
    for item in graded["items"]:
        assert float(row[item]) == 0, f"{graded['assignment']}: the empty exercise earns points on {item}"


# ---------------------------------------------------------------- mutants and alternatives (fast runner)

@pytest.fixture(scope="module", params=ASSIGNMENTS)
def variants(request):
    """Every wrong and correct variant of one assignment, run by the mutant runner in one go."""
    assignment = request.param
    mutants, alternatives = variants_of(assignment), variants_of(assignment, "ALTERNATIVES")
    spec = {name: (grade_id, code, False) for name, (grade_id, code) in mutants.items()}
    spec |= {name: (grade_id, code, True) for name, (grade_id, code) in alternatives.items()}
    results = run_variants(COURSE.source_notebook(assignment), spec)
    return {"assignment": assignment, "mutants": mutants, "alternatives": alternatives, **results}


def test_runner_gives_the_solution_full_marks(variants):
    assert not variants["baseline"]["failures"], variants["baseline"]["failures"]


def test_every_graded_function_has_three_wrong_versions(variants):
    per_item: dict[str, int] = {}
    for grade_id, _ in variants["mutants"].values():
        per_item[grade_id] = per_item.get(grade_id, 0) + 1
    solution_cells = {c.metadata.nbgrader["grade_id"] for c in
                      nbformat.read(COURSE.source_notebook(variants["assignment"]), as_version=4).cells
                      if c.metadata.get("nbgrader", {}).get("solution") and c.cell_type == "code"}
    thin = {item: per_item.get(item, 0) for item in solution_cells if per_item.get(item, 0) < 3}
    assert not thin, f"{variants['assignment']}: fewer than three wrong versions for {thin}"


def test_wrong_versions_lose_points(variants):
    survivors = []
    for name, (grade_id, _) in variants["mutants"].items():
        lost = variants["variants"][name]["lost"]
        if not any(test in lost for test in (f"test_{grade_id}_visible", f"test_{grade_id}_hidden")):
            survivors.append(f"{name} ({grade_id}: failures {variants['variants'][name]['failures']})")
    assert not survivors, f"{variants['assignment']}: wrong versions kept full marks: {survivors}"


def test_correct_alternatives_keep_full_marks(variants):
    losers = {name: variants["variants"][name]["failures"] for name in variants["alternatives"]
              if variants["variants"][name]["lost"]}
    assert not losers, f"{variants['assignment']}: correct alternatives lost points: {losers}"


@slow
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

    grade_id, code = variants_of("a1_preprocessing")["tokenize_delegates_to_package"]
    nbformat.write(with_cell(source, grade_id, code), subs / "tokenize_delegates_to_package.ipynb")

    (subs / "broken.ipynb").write_text('{"cells": [')
    (subs / "empty.ipynb").write_text("")
    (subs / "not_a_notebook.ipynb").write_text('{"hello": 1}')

    nested = subs / "submitted" / "nested_student" / "a1_preprocessing"  # nbgrader's layout
    nested.mkdir(parents=True)
    nbformat.write(source, nested / "my_work.ipynb")


HOSTILE = {"a1_preprocessing": _a1_hostile}


@slow
@pytest.mark.assignment_only("a1_preprocessing")
def test_runaway_cell_costs_only_its_item(graded):
    row = graded["table"]["runaway"]
    assert row["status"] == "graded" and float(row["tokenize"]) == 0
    assert float(row["total"]) == autograded_max(graded) - graded["items"]["tokenize"]


@slow
@pytest.mark.assignment_only("a1_preprocessing")
def test_crashing_kernel_costs_only_its_item(graded):
    row = graded["table"]["crasher"]
    assert float(row["numericalize"]) == 0
    assert float(row["total"]) == autograded_max(graded) - graded["items"]["numericalize"]


@slow
@pytest.mark.assignment_only("a1_preprocessing")
def test_deleted_and_edited_tests_are_restored(graded):
    row = graded["table"]["editor"]
    assert float(row["total"]) == autograded_max(graded)
    assert "restored deleted cell test_build_vocab_hidden" in row["note"]
    assert "restored deleted cell test_pad_batch_visible" in row["note"]


@slow
@pytest.mark.assignment_only("a1_preprocessing")
def test_warnings_never_zero_a_correct_answer(graded):
    row = graded["table"]["warner"]
    assert float(row["total"]) == autograded_max(graded), row


@slow
@pytest.mark.assignment_only("a1_preprocessing")
def test_replacing_library_functions_does_not_fool_hidden_tests(graded):
    row = graded["table"]["gamer"]
    assert float(row["pad_batch"]) < graded["items"]["pad_batch"], row
    results = json.loads((graded["work"] / "results" / "a1_preprocessing" / "gamer.json").read_text())
    assert "replaced functions that the tests rely on" in results["failures"]["test_pad_batch_hidden"]


@slow
@pytest.mark.assignment_only("a1_preprocessing")
def test_broken_files_get_a_zero_row_with_the_reason(graded):
    table = graded["table"]
    assert "not valid notebook JSON" in table["broken"]["note"]
    assert "empty" in table["empty"]["note"]
    assert "not a Jupyter notebook" in table["not_a_notebook"]["note"]
    for name in ("broken", "empty", "not_a_notebook"):
        assert table[name]["status"] == "error" and float(table[name]["total"]) == 0


@slow
@pytest.mark.assignment_only("a1_preprocessing")
def test_nbgrader_layout_is_collected(graded):
    row = graded["table"]["nested_student"]
    assert float(row["total"]) == autograded_max(graded)


@slow
@pytest.mark.assignment_only("a1_preprocessing")
def test_delegating_to_the_answer_key_loses_points(graded):
    results = json.loads((graded["work"] / "results" / "a1_preprocessing" / "tokenize_delegates_to_package.json")
                         .read_text())
    assert "ForbiddenCallError" in results["failures"]["test_tokenize_hidden"]


@slow
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


@slow
@pytest.mark.assignment_only("a1_preprocessing")
def test_feedback_hides_hidden_test_code_even_in_tracebacks(graded):
    html = (graded["work"] / "feedback" / "untouched" / "a1_preprocessing" / "a1_preprocessing.html").read_text()
    assert "_reference" not in html and "Random(1234)" not in html
    assert "NotImplementedError" in html
