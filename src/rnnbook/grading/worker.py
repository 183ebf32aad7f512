"""Autograde submissions one after another, each in its own folder with its own gradebook copy;
started by ``grade`` (one worker per job slot, so nbgrader is imported once per slot, not per student).

    python -m rnnbook.grading.worker < jobs (one JSON object per line)

The worker is the grader's side: the learner's code runs only in the kernel, which sees nothing but
``<folder>/scratch`` (isolation ``bwrap``; ``rlimits`` without bubblewrap). Each result is written
here after its kernel is gone. If the worker dies, ``grade`` gives that student a zero row with the
reason and starts a new worker for the next one.
"""
from __future__ import annotations

import json
import os
import re
import sys
import time
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


def grading_config(root: Path, sandbox: Path, cell_timeout: int, isolation: str = "bwrap",
                   warm_socket: str | None = None) -> Config:
    c = Config()
    configure(c, root, sandbox, release_dir=sandbox / "release", cell_timeout=cell_timeout)
    c.GuardedExecute.scratch_dir = str(sandbox / "scratch")
    c.GuardedExecute.use_bwrap = isolation == "bwrap"
    c.GuardedExecute.warm_socket = warm_socket or ""  # kernels forked from the batch's warm server
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


_KERNEL_START = re.compile(r"kernel (died|didn't respond|did not respond|failed to start)|"
                           r"Kernel(Died|Startup)|kernel_info|Resource temporarily unavailable", re.I)
_EXCEPTION = re.compile(r"^[A-Za-z_][\w.]*(Error|Exception|Exit)\b")


def explain_failure(log: str) -> str:
    """One line for the grade table from nbgrader's log when autograding failed outright: what
    happened (the exception, or nbgrader's last error line) and what to do about it."""
    lines = [line.strip() for line in log.splitlines() if line.strip()]
    errors = [re.sub(r"^\[[^]]*\| ERROR\]\s*", "", line) for line in lines if "| ERROR]" in line]
    exceptions = [line for line in lines if _EXCEPTION.match(line)]
    what = (exceptions or errors or lines or ["nbgrader gave no reason"])[-1][:200]
    if _KERNEL_START.search(log):
        advice = ("its kernel could not start (the machine may be out of memory or processes); "
                  "grade this student again")
    else:
        advice = "see the worker's log in <workdir>/runs/ and grade this student again once fixed"
    return f"nbgrader could not autograde it ({what}): {advice}"


RETRY_WAITS = (10, 20, 30, None)  # seconds before each retry of a failed autograde; None: give up


def grade_one(job: dict) -> None:
    """Autograde one submission; its result is written once its kernel is gone."""
    root, sandbox, student, assignment = Path(job["root"]), Path(job["sandbox"]), job["student"], job["assignment"]
    if os.environ.get("RNNBOOK_TEST_CRASH_WORKER") == student:  # tests: a worker that dies
        os.abort()
    config = grading_config(root, sandbox, int(job["cell_timeout"]), job["isolation"], job.get("warm_socket"))
    api = NbGraderAPI(coursedir=CourseDirectory(config=config), config=config)
    result: dict = {"student": student, "assignment": assignment}
    for wait in RETRY_WAITS:
        # nbgrader fails outright when the kernel cannot start, e.g. while another submission's fork
        # bomb holds the user's process slots: that is the machine's fault, not this student's, so
        # wait and try again before recording an error.
        graded = api.autograde(assignment, student, force=True, create=True)
        if graded["success"] or wait is None:
            break
        time.sleep(wait)
    if not graded["success"]:
        result.update(status="error", reason=explain_failure(graded.get("error") or graded.get("log") or ""))
    else:
        result.update(status="graded", **read_scores(sandbox, assignment, student))
    (sandbox / RESULT_FILE).write_text(json.dumps(result, indent=1, sort_keys=True))


def feedback(job: dict) -> None:
    """The learner's feedback page (hidden tests removed); made after the batch's grades."""
    sandbox = Path(job["sandbox"])
    config = grading_config(Path(job["root"]), sandbox, int(job["cell_timeout"]), job["isolation"])
    api = NbGraderAPI(coursedir=CourseDirectory(config=config), config=config)
    api.generate_feedback(job["assignment"], job["student"], force=True)


def serve() -> int:
    """Grade the jobs (one JSON line each) read from stdin, one at a time, answering each with a
    line on stdout; at the end of stdin, write the feedback pages of everything graded."""
    replies = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)  # anything else printed (nbgrader, kernels) goes to the log, not the replies
    graded = []
    for line in sys.stdin:
        job = json.loads(line)
        grade_one(job)
        graded.append(job)
        replies.write(job["student"] + "\n")
        replies.flush()
    for job in graded:
        if json.loads((Path(job["sandbox"]) / RESULT_FILE).read_text())["status"] == "graded":
            feedback(job)
    return 0


if __name__ == "__main__":
    sys.exit(serve())
