"""Autograde one submission inside its own sandbox folder; run as a subprocess by ``grade``.

Running each student in a separate process, with a separate copy of the gradebook, means a
hostile or crashing notebook can only ever cost its own grade.

    python -m rnnbook.grading.worker ROOT ASSIGNMENT STUDENT SANDBOX CELL_TIMEOUT ISOLATION

The worker is the grader's side: the learner's code runs only in the kernel, which sees nothing but
``SANDBOX/scratch`` (ISOLATION ``bwrap``; ``rlimits`` without bubblewrap). The result is written
here after the kernel is gone.
"""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import nbformat
from nbconvert.preprocessors import ClearMetadataPreprocessor, CSSHTMLHeaderPreprocessor
from nbgrader import utils as nbutils
from nbgrader.api import Gradebook
from nbgrader.apps import NbGraderAPI
from nbgrader.coursedir import CourseDirectory
from nbgrader.preprocessors import (AssignLatePenalties, CheckCellMetadata, GetGrades, IgnorePattern,
                                    LimitOutput, SaveAutoGrades)
from traitlets.config import Config

from .cells import first_line_of_error
from .course import COURSE_ID, configure
from .preprocessors import GuardedExecute, HideHiddenTests, StderrToStdoutInTests

RESULT_FILE = "result.json"


def grading_config(root: Path, sandbox: Path, cell_timeout: int, isolation: str = "bwrap") -> Config:
    c = Config()
    configure(c, root, sandbox, release_dir=sandbox / "release", cell_timeout=cell_timeout)
    c.GuardedExecute.scratch_dir = str(sandbox / "scratch")
    c.GuardedExecute.use_bwrap = isolation == "bwrap"
    c.Autograde.autograde_preprocessors = [
        GuardedExecute, IgnorePattern, ClearMetadataPreprocessor, LimitOutput,
        StderrToStdoutInTests, SaveAutoGrades, AssignLatePenalties, CheckCellMetadata,
    ]
    c.GenerateFeedback.preprocessors = [GetGrades, HideHiddenTests, CSSHTMLHeaderPreprocessor]
    return c


def read_scores(sandbox: Path, assignment: str, student: str) -> dict:
    """Scores from the sandbox gradebook, and why each failing test cell failed."""
    scores: dict[str, dict] = {}
    with Gradebook(f"sqlite:///{sandbox / 'gradebook.db'}", COURSE_ID) as gb:
        notebook = gb.find_submission_notebook(assignment, assignment, student)
        for grade in notebook.grades:
            # nbgrader's Grade.score reads 0 for an answer nobody has graded yet; keep that as None.
            score = grade.manual_score if grade.manual_score is not None else grade.auto_score
            scores[grade.name] = {"score": score, "max": grade.max_score,
                                  "manual": bool(grade.needs_manual_grade)}
    graded = sandbox / "autograded" / student / assignment / f"{assignment}.ipynb"
    failures = {}
    if graded.is_file():
        nb = nbformat.read(graded, as_version=4)
        for cell in nb.cells:
            if nbutils.is_grade(cell) and not nbutils.is_solution(cell):
                why = first_line_of_error(cell)
                if why:
                    failures[cell.metadata.nbgrader["grade_id"]] = why
    return {"scores": scores, "failures": failures}


def main(argv: list[str]) -> int:
    root, assignment, student, sandbox, cell_timeout, isolation = argv
    root, sandbox = Path(root), Path(sandbox)
    if os.environ.get("RNNBOOK_TEST_CRASH_WORKER") == student:  # tests: a worker that dies
        os.abort()
    config = grading_config(root, sandbox, int(cell_timeout), isolation)
    api = NbGraderAPI(coursedir=CourseDirectory(config=config), config=config)
    result: dict = {"student": student, "assignment": assignment}
    graded = api.autograde(assignment, student, force=True, create=True)
    if not graded["success"]:
        log = (graded.get("error") or graded.get("log") or "").strip().splitlines()
        result.update(status="error", reason="nbgrader could not autograde it: " + " | ".join(log[-3:]))
    else:
        result.update(status="graded", **read_scores(sandbox, assignment, student))
        feedback = api.generate_feedback(assignment, student, force=True)
        if not feedback["success"]:
            result["feedback_error"] = (feedback.get("error") or "")[-500:]
    (sandbox / RESULT_FILE).write_text(json.dumps(result, indent=1, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
