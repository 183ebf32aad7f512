"""Hostile and broken submissions, graded through the real `course grade`, many per batch.

Each case asserts what its student gets; a bystander (the solution) in every batch and a canary file
in the work folder show that nobody else's grade changed. Sandbox attacks sabotage their own
answer if they succeed, so "full marks" means "the attack found nothing".
"""
from __future__ import annotations

import copy
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

from rnnbook.grading.sandbox import bwrap_problem

from conftest import ROOT
from test_grading import COURSE, cell_index, read_table, run_course

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(bwrap_problem() is not None, reason=f"no sandbox here: {bwrap_problem()}")]
A1 = "a1_preprocessing"
MARKER = "rnnbook-hostile-daemon"
A1_ITEMS = {"tokenize": 3, "build_vocab": 4, "numericalize": 4, "pad_batch": 3, "run_packed": 4, "lm_batches": 4,
            "bucket_batches": 6}  # autograded items; the written answer (2 points) waits for a person


def _source(assignment: str):
    return nbformat.read(COURSE.source_notebook(assignment), as_version=4)


def _append(nb, grade_id: str, code: str):
    nb = copy.deepcopy(nb)
    nb.cells[cell_index(nb, grade_id)].source += "\n" + code
    return nb


def _sabotage_if(condition: str, helpers: str = "") -> str:
    """Code that, if ``condition`` is true inside the kernel, deletes the learner's own tokenize."""
    return f"import os, socket, subprocess, sys, signal\n{helpers}\nif {condition}:\n    del tokenize\n"


def _any_readable(paths) -> str:
    return (f"any(os.path.exists(_p) and (os.listdir(_p) if os.path.isdir(_p) else open(_p, 'rb').read(1)) "
            f"is not None for _p in {[str(p) for p in paths]!r})")


def _any_writable(paths) -> str:
    return f"any([_try_write(_p) for _p in {[str(p) for p in paths]!r}])"


WRITE_HELPER = """
def _try_write(path):
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, 'w') as fh:
            fh.write('{"hacked": 1}')
        return True
    except OSError:
        return False
"""


def _a1_cases(subs: Path, work: Path, port: int) -> dict:
    """Writes the A1 submissions; returns name -> expectation (a function of the row)."""
    src = _source(A1)
    res = work / "results" / A1
    full = lambda row: float(row["total"]) == sum(A1_ITEMS.values()) and row["status"] == "graded"  # noqa: E731
    cases = {}

    def attack(name: str, condition: str, extra: str = ""):
        nbformat.write(_append(src, "tokenize", _sabotage_if(condition, extra)), subs / f"{name}.ipynb")
        cases[name] = full

    attack("read_solutions", _any_readable([COURSE.source_notebook(A1), ROOT / "solutions", ROOT / "autograder"]))
    attack("read_release_source", _any_readable([work / "template" / "release" / A1 / f"{A1}.ipynb",
                                                 work / "template" / "gradebook.db"]))
    attack("read_own_gradebook", _any_readable([work / "runs" / "read_own_gradebook" / "gradebook.db",
                                                work / "runs" / "read_own_gradebook" / "submitted"]))
    attack("read_other_students", _any_readable([subs / "bystander.ipynb", work / "runs" / "bystander", res]))
    # Writes: the sandbox may give the kernel a private copy of a path (its /tmp is its own), so the
    # proof is that the real files are untouched (test_nobody_else_changed), not what the kernel saw.
    attack("write_results", _any_writable([res / "bystander.json", work / "grades_a1_preprocessing.csv",
                                           work / "canary.txt", work / "feedback" / "bystander" / "x.html"])
           + " and False", WRITE_HELPER)
    attack("write_template", _any_writable([work / "template" / "release" / A1 / f"{A1}.ipynb",
                                            ROOT / "exercises" / A1 / "planted.ipynb"]) + " and False", WRITE_HELPER)
    attack("network", f"socket.socket().connect_ex(('127.0.0.1', {port})) == 0")
    attack("sees_grader", "len([p for p in os.listdir('/proc') if p.isdigit()]) > 4")
    attack("kill_everything", "[os.kill(int(p), signal.SIGKILL) for p in os.listdir('/proc') "
                              "if p.isdigit() and int(p) > 2 and int(p) != os.getpid()] and False")
    attack("daemon", "subprocess.Popen([sys.executable, '-c', 'import time\\nwhile True: time.sleep(0.2)', "
                     f"'{MARKER}'], start_new_session=True) is None")
    attack("memory_bomb", "len(bytearray(1 << 40)) == 0")
    attack("flood_lines", "[print(i) for i in range(300_000)] is None and False")
    attack("sys_exit", "sys.exit(3)")
    attack("exit_after_def", "exit()")  # an innocent habit: ignored while grading

    # Killing the kernel, or starving it (a fork bomb leaves it no thread to answer with, a 100 MB line
    # can outlast the cell's time), costs the cell that did it: its definitions are gone with the kernel.
    for name, code in (("segfault", "import ctypes; ctypes.string_at(0)"),
                       ("fork_bomb", "[subprocess.Popen(['sleep', '600']) for _ in range(100000)]"),
                       ("flood_one_line", "print('x' * 100_000_000)")):
        nbformat.write(_append(src, "tokenize", "import subprocess\n" + code), subs / f"{name}.ipynb")
        cases[name] = lambda row: float(row["total"]) >= sum(A1_ITEMS.values()) - 3 and all(
            float(row[item]) == points for item, points in A1_ITEMS.items() if item != "tokenize")

    # Tampering with what the tests use, together with a wrong answer: the answer still loses.
    wrong_pad = "0, dtype=torch.long)"
    tampering = {
        "rebind_checks": "import rnnbook.testing.checks as _c\n_c.expect_close = _c.expect_sequence = "
                         "_c.expect_shape = lambda *a, **k: None\n",
        "patch_torch": "torch.equal = torch.allclose = lambda *a, **k: True\n"
                       "torch.testing.assert_close = lambda *a, **k: None\n",
        "eq_always_true": "class _Yes(torch.Tensor):\n    def __eq__(self, other): return True\n"
                          "    def equal(self, other): return True\n_old = pad_batch\n"
                          "def pad_batch(*a, **k):\n    p, l = _old(*a, **k)\n    return p.as_subclass(_Yes), l\n",
    }
    for name, code in tampering.items():
        nb = copy.deepcopy(src)
        i = cell_index(nb, "pad_batch")
        nb.cells[i].source = nb.cells[i].source.replace("pad_index, dtype=torch.long)", wrong_pad) + "\n" + code
        nbformat.write(nb, subs / f"{name}.ipynb")
        cases[name] = lambda row: float(row["pad_batch"]) < 3 and float(row["build_vocab"]) == 4

    # Innocent metadata damage: repaired, full marks, and the note says what was repaired.
    def damaged(name, change, note):
        nb = copy.deepcopy(src)
        change(nb)
        nbformat.write(nb, subs / f"{name}.ipynb")
        cases[name] = lambda row: full(row) and note in row["note"]

    damaged("renamed_grade_id", lambda nb: nb.cells[cell_index(nb, "tokenize")].metadata.nbgrader.update(
        grade_id="my_tokenize"), "repaired the metadata of cell tokenize")
    damaged("flipped_flags", lambda nb: nb.cells[cell_index(nb, "test_tokenize_visible")].metadata.nbgrader.update(
        grade=False, solution=True), "reset the nbgrader flags of cell test_tokenize_visible")
    damaged("duplicated_cell", lambda nb: nb.cells.insert(cell_index(nb, "pad_batch"),
                                                          copy.deepcopy(nb.cells[cell_index(nb, "pad_batch")])),
            "duplicate of cell pad_batch kept as an ordinary cell")
    damaged("stripped_metadata", lambda nb: [nb.cells[cell_index(nb, g)].metadata.pop("nbgrader")
                                             for g in ("build_vocab", "test_build_vocab_visible")],
            "repaired the metadata of cell test_build_vocab_visible")
    damaged("deleted_cell", lambda nb: nb.cells.pop(cell_index(nb, "test_numericalize_visible")),
            "restored deleted cell test_numericalize_visible")
    nbformat.write(nbformat.convert(copy.deepcopy(src), 3), subs / "format_three.ipynb", version=3)
    cases["format_three"] = lambda row: full(row) and "upgraded from notebook format 3" in row["note"]

    # Files and names.
    for name in ("José", "Jose", "Jose\u0301", "Anna", "anna"):
        nbformat.write(src, subs / f"{name}.ipynb")
    os.symlink(subs / "bystander.ipynb", subs / "linked.ipynb")
    cases["linked"] = lambda row: row["status"] == "error" and "symbolic link" in row["note"]
    for folder, names, expect in (("two_named", [f"{A1}.ipynb", "scratch.ipynb"],
                                   lambda row: full(row) and "ignored scratch.ipynb" in row["note"]),
                                  ("two_unnamed", ["try1.ipynb", "try2.ipynb"],
                                   lambda row: row["status"] == "error" and "several notebooks" in row["note"])):
        nested = subs / "submitted" / folder / A1
        nested.mkdir(parents=True)
        for n in names:
            nbformat.write(src, nested / n)
        cases[folder] = expect
    cases["crashme"] = lambda row: row["status"] == "error" and "crashed" in row["note"] and row["total"] == "0"
    nbformat.write(src, subs / "crashme.ipynb")
    nbformat.write(src, subs / "bystander.ipynb")
    cases["bystander"] = full
    return cases


@pytest.fixture(scope="module")
def a1_batch(tmp_path_factory):
    subs, work = tmp_path_factory.mktemp("hostile-subs"), tmp_path_factory.mktemp("hostile-work")
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    cases = _a1_cases(subs, work, listener.getsockname()[1])
    (work / "canary.txt").write_text("untouched")
    env = {**os.environ, "RNNBOOK_TEST_CRASH_WORKER": "crashme"}
    result = subprocess.run([sys.executable, "-m", "rnnbook.grading.cli", "grade", A1, str(subs), "--workdir",
                             str(work), "--cell-timeout", "60", "--require-sandbox"], cwd=ROOT, text=True,
                            capture_output=True, timeout=3000, env=env)
    listener.close()
    assert result.returncode == 0, result.stdout + result.stderr
    return {"cases": cases, "table": read_table(work / f"grades_{A1}.csv"), "work": work, "subs": subs}


def test_at_least_thirty_cases(a1_batch):
    assert len(a1_batch["cases"]) >= 30


@pytest.mark.parametrize("name", [
    "read_solutions", "read_release_source", "read_own_gradebook", "read_other_students", "write_results",
    "write_template", "network", "sees_grader", "kill_everything", "daemon", "fork_bomb", "memory_bomb",
    "flood_one_line", "flood_lines", "sys_exit", "exit_after_def", "segfault", "rebind_checks", "patch_torch",
    "eq_always_true", "renamed_grade_id", "flipped_flags", "duplicated_cell", "stripped_metadata",
    "deleted_cell", "format_three", "linked", "two_named", "two_unnamed", "crashme", "bystander"])
def test_hostile_submission_gets_what_it_should(a1_batch, name):
    row = a1_batch["table"][name]
    assert a1_batch["cases"][name](row), row


def test_nobody_else_changed(a1_batch):
    work = a1_batch["work"]
    assert (work / "canary.txt").read_text() == "untouched"
    assert "hacked" not in (work / "results" / A1 / "bystander.json").read_text()
    assert "hacked" not in (work / f"grades_{A1}.csv").read_text()
    assert "hacked" not in (work / "template" / "release" / A1 / f"{A1}.ipynb").read_text()
    assert not (ROOT / "exercises" / A1 / "planted.ipynb").exists()
    assert not (work / "feedback" / "bystander" / "x.html").exists()


def test_no_daemon_survives(a1_batch):
    left = []
    for entry in Path("/proc").iterdir():
        try:
            if MARKER.encode() in (entry / "cmdline").read_bytes():
                left.append(entry.name)
        except OSError:
            pass
    assert not left, f"processes left behind by a submission: {left}"


def test_floods_are_cut_in_bytes(a1_batch):
    for name in ("flood_one_line", "flood_lines"):
        graded = a1_batch["work"] / "runs" / name / "autograded" / name / A1 / f"{A1}.ipynb"
        assert graded.stat().st_size < 2_000_000, f"{name}: {graded.stat().st_size} bytes kept"


def test_names_differing_by_case_or_unicode_are_distinct_rows(a1_batch):
    names = [n for n in a1_batch["table"] if n.lower().startswith(("jos", "anna"))]
    assert len(names) == 5 and all(not n.startswith("unnamed") for n in names), names
    assert all(float(a1_batch["table"][n]["total"]) == sum(A1_ITEMS.values()) for n in names)


def test_deleted_cell_restored_at_its_own_position(a1_batch):
    graded = a1_batch["work"] / "runs" / "deleted_cell" / "autograded" / "deleted_cell" / A1 / f"{A1}.ipynb"
    nb = nbformat.read(graded, as_version=4)
    assert cell_index(nb, "test_numericalize_visible") == cell_index(nb, "numericalize") + 1


@pytest.mark.parametrize("assignment", ["a2_rnn_lm", "a3_lstm_gru"])
def test_broken_files_in_later_assignments(tmp_path, assignment):
    """Cheap cases for A2 and A3: nothing of these runs, so each is refused with its reason."""
    subs = tmp_path / "subs"
    subs.mkdir()
    (subs / "empty.ipynb").write_text("")
    (subs / "broken.ipynb").write_text('{"cells": [')
    (subs / "not_a_notebook.ipynb").write_text('{"hello": 1}')
    os.symlink(ROOT / "solutions" / assignment / f"{assignment}.ipynb", subs / "linked.ipynb")
    nested = subs / "submitted" / "two" / assignment
    nested.mkdir(parents=True)
    for n in ("a.ipynb", "b.ipynb"):
        (nested / n).write_text("{}")
    result = run_course("grade", assignment, str(subs), "--workdir", str(tmp_path / "work"))
    assert result.returncode == 0, result.stdout + result.stderr
    table = read_table(tmp_path / "work" / f"grades_{assignment}.csv")
    expected = {"empty": "empty", "broken": "not valid notebook JSON", "not_a_notebook": "not a Jupyter notebook",
                "linked": "symbolic link", "two": "several notebooks"}
    for name, reason in expected.items():
        assert table[name]["status"] == "error" and table[name]["total"] == "0" and reason in table[name]["note"]


def test_sigterm_writes_the_table_so_far_and_a_rerun_resumes(tmp_path):
    subs, work = tmp_path / "subs", tmp_path / "work"
    subs.mkdir()
    for name in ("first", "second", "third"):
        nbformat.write(_source(A1), subs / f"{name}.ipynb")
    proc = subprocess.Popen([sys.executable, "-m", "rnnbook.grading.cli", "grade", A1, str(subs), "--workdir",
                             str(work), "--jobs", "1"], cwd=ROOT, text=True, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)
    lines = []
    for line in proc.stdout:
        lines.append(line)
        if line.startswith("graded first"):
            time.sleep(1)
            proc.send_signal(signal.SIGTERM)
            break
    out = "".join(lines) + proc.stdout.read()
    assert proc.wait(timeout=120) == 130, out
    assert "Not graded (2): second, third" in out, out
    assert set(read_table(work / f"grades_{A1}.csv")) == {"first"}
    again = run_course("grade", A1, str(subs), "--workdir", str(work), "--jobs", "2")
    assert "kept first: unchanged" in again.stdout, again.stdout
    table = read_table(work / f"grades_{A1}.csv")
    assert set(table) == {"first", "second", "third"} and all(float(r["total"]) == sum(A1_ITEMS.values()) for r in table.values())
