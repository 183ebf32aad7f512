"""Grading beyond one machine: a Gradescope autograder zip for an assignment, and a Canvas CSV.

    course export gradescope ASSIGNMENT -o DIR   -> DIR/autograder.zip
    course export canvas ASSIGNMENT -o DIR       -> DIR/canvas_<assignment>.csv (from `course grade`'s table)

The zip holds a minimal course (the assignment's nbgrader source, with its hidden tests), the
``rnnbook`` package itself and pinned requirements; ``run_autograder`` grades the notebook in
``/autograder/submission/`` with the same code as ``course grade`` and writes
``/autograder/results/results.json``: one entry per test cell, visible tests ``visible``, hidden
tests ``after_published``. Set ``AUTOGRADER_ROOT`` to run it against a fake root (tests do).
``setup.sh`` also downloads and verifies the course's data sets into ``/autograder/data``, which
``run_autograder`` uses as the data mirror: grading needs no network.
"""
from __future__ import annotations

import csv
import json
import os
import shutil
import sys
import tempfile
import zipfile
from pathlib import Path

from .course import Course, CourseError

# What the graded kernel and the grader need at grading time (the book's tools are left out).
NOT_NEEDED_TO_GRADE = ("jupyter-book", "pytest", "-e ")

SETUP_SH = """#!/usr/bin/env bash
# Gradescope runs this once when the image is built: the pinned toolchain, CPU-only torch.
set -euo pipefail
apt-get update && apt-get install -y --no-install-recommends python3 python3-pip python3-venv bubblewrap || true
python3 -m venv /autograder/venv
/autograder/venv/bin/pip install --extra-index-url https://download.pytorch.org/whl/cpu -r /autograder/source/requirements.txt
# The course's data sets (26 MB), downloaded and checked against their sha256 now, so that grading
# needs no network: run_autograder reads them as the data mirror.
PYTHONPATH=/autograder/source/package /autograder/venv/bin/python -m rnnbook.grading.export fetch-data /autograder/data
"""

RUN_AUTOGRADER = """#!/usr/bin/env bash
# Gradescope runs this for each submission. AUTOGRADER_ROOT replaces /autograder (for local tests).
set -euo pipefail
ROOT="${AUTOGRADER_ROOT:-/autograder}"
PYTHON="${AUTOGRADER_PYTHON:-$ROOT/venv/bin/python}"
export PYTHONPATH="$ROOT/source/package${PYTHONPATH:+:$PYTHONPATH}"
if [ -z "${RNNBOOK_DATA_MIRROR:-}" ] && [ -d "$ROOT/data" ]; then export RNNBOOK_DATA_MIRROR="$ROOT/data"; fi
exec "$PYTHON" -m rnnbook.grading.export run "$ROOT" %(assignment)s
"""


def gradescope_zip(course: Course, assignment: str, out_dir: Path) -> Path:
    source = course.source_notebook(assignment)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / "autograder.zip"
    import rnnbook
    package = Path(rnnbook.__file__).resolve().parent
    requirements = [line for line in (course.root / "requirements.txt").read_text().splitlines()
                    if line.strip() and not line.startswith(NOT_NEEDED_TO_GRADE)]
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as zf:
        def add_text(name: str, text: str, executable: bool = False) -> None:
            info = zipfile.ZipInfo(name)
            info.external_attr = (0o755 if executable else 0o644) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, text)

        add_text("setup.sh", SETUP_SH, executable=True)
        add_text("run_autograder", RUN_AUTOGRADER % {"assignment": assignment}, executable=True)
        add_text("requirements.txt", "\n".join(requirements) + "\n")
        add_text("course/_config.yml", (course.root / "_config.yml").read_text())
        for path in sorted((course.autograder).rglob("*")):
            if path.is_file():
                zf.write(path, f"course/autograder/{path.relative_to(course.autograder)}")
        for path in sorted(source.parent.rglob("*")):
            if path.is_file() and ".ipynb_checkpoints" not in path.parts:
                zf.write(path, f"course/solutions/{assignment}/{path.relative_to(source.parent)}")
        for path in sorted(package.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                zf.write(path, f"package/rnnbook/{path.relative_to(package)}")
    return target


def canvas_csv(assignment: str, workdir: Path, out_dir: Path) -> Path:
    table = Path(workdir) / f"grades_{assignment}.csv"
    if not table.is_file():
        raise CourseError(f"no grade table {table}: run `course grade {assignment} ...` with that --workdir first")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / f"canvas_{assignment}.csv"
    with open(table, newline="", encoding="utf-8") as fh, open(target, "w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(["Student", assignment])
        for row in csv.DictReader(fh):
            writer.writerow([row["student"], row["total"]])
    return target


def results_json(result: dict, release_nb) -> dict:
    """Gradescope's results.json from one ``course grade`` result."""
    from .cells import is_test, nbgrader_meta
    scores, failures = result.get("scores", {}), result.get("failures", {})
    tests = []
    for cell in release_nb.cells:
        if not is_test(cell):
            continue
        grade_id = nbgrader_meta(cell)["grade_id"]
        entry = scores.get(grade_id, {})
        tests.append({"name": grade_id, "score": float(entry.get("score") or 0),
                      "max_score": float(nbgrader_meta(cell)["points"]),
                      "output": failures.get(grade_id, "passed" if entry.get("score") else "not graded"),
                      "visibility": "after_published" if grade_id.endswith("_hidden") else "visible"})
    out = {"score": sum(t["score"] for t in tests), "tests": tests}
    notes = [result.get("reason", "")] if result.get("status") != "graded" else []
    notes += result.get("repairs", [])
    if any(notes):
        out["output"] = "; ".join(n for n in notes if n)
    return out


def run(root: Path, assignment: str) -> int:
    """Inside Gradescope (or a fake root): grade /autograder/submission, write results.json."""
    import nbformat

    from .grade import grade
    root = Path(root)
    course = Course(root / "source" / "course")
    notebooks = sorted((root / "submission").rglob("*.ipynb"))
    named = [p for p in notebooks if p.name == f"{assignment}.ipynb"]
    results_dir = root / "results"
    results_dir.mkdir(parents=True, exist_ok=True)
    if not notebooks:
        (results_dir / "results.json").write_text(json.dumps(
            {"score": 0, "output": f"no notebook submitted: upload {assignment}.ipynb"}))
        return 0
    with tempfile.TemporaryDirectory(prefix="rnnbook-gradescope-") as tmp:
        subs = Path(tmp) / "subs"
        subs.mkdir()
        shutil.copy((named or notebooks)[0], subs / "submission.ipynb")
        work = Path(tmp) / "work"
        grade(course, assignment, subs, work, jobs=1, log=lambda line: print(line, file=sys.stderr))
        result = json.loads((work / "results" / assignment / "submission.json").read_text())
        release_nb = nbformat.read(work / "template" / "release" / assignment / f"{assignment}.ipynb", as_version=4)
    (results_dir / "results.json").write_text(json.dumps(results_json(result, release_nb), indent=1))
    return 0


def fetch_data(target: Path) -> list[Path]:
    """Every file of every registered data set, verified, laid out as a data mirror in ``target``
    (``<dataset>/<file>``); run by ``setup.sh`` while Gradescope builds the image."""
    from ..data import datasets
    os.environ[datasets.CACHE_ENV] = str(target)  # the cache's layout is the mirror's
    os.environ.pop(datasets.MIRROR_ENV, None)
    return [datasets.fetch(key, name) for key, ds in sorted(datasets.REGISTRY.items()) for name in sorted(ds.files)]


if __name__ == "__main__":
    if sys.argv[1:2] == ["run"]:
        sys.exit(run(Path(sys.argv[2]), sys.argv[3]))
    if sys.argv[1:2] == ["fetch-data"]:
        print(f"{len(fetch_data(Path(sys.argv[2])))} data files in {sys.argv[2]}")
        sys.exit(0)
    sys.exit(f"usage: python -m rnnbook.grading.export run ROOT ASSIGNMENT | fetch-data DIR "
             f"(see {os.path.basename(__file__)})")
