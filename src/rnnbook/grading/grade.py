"""Grade a folder of submissions: autograde each in isolation, write feedback, a CSV and a summary.

Layout of the work folder (outside the repository):

    <workdir>/template/         gradebook + release made from solutions/ for this run
    <workdir>/runs/<student>/   one sandbox per student (its own gradebook copy, autograded notebook)
    <workdir>/results/<assignment>/<student>.json   each student's result (kept across runs)
    <workdir>/feedback/<student>/<assignment>/<assignment>.html
    <workdir>/grades_<assignment>.csv
"""
from __future__ import annotations

import contextlib
import csv
import hashlib
import json
import os
import re
import shutil
import signal
import queue
import select
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbgrader import utils as nbutils

from . import release as release_mod
from . import warm
from .course import CELL_TIMEOUT, SUBMISSION_TIMEOUT, Course, CourseError
from .sandbox import bwrap_problem
from .submissions import BadSubmission, Submission, collect, read_notebook, repair
from .worker import RESULT_FILE

_TEST_CELL = re.compile(r"^test_(?P<item>.+?)(?:_(?:visible|hidden)(?:_\d+)?)?$")


@dataclass
class GradeItems:
    """The graded items of an assignment, in notebook order, and which grade cells belong to each."""
    cells: dict[str, float] = field(default_factory=dict)  # grade id -> max points
    item_of: dict[str, str] = field(default_factory=dict)  # grade id -> item

    @classmethod
    def from_release(cls, nb: nbformat.NotebookNode) -> "GradeItems":
        items = cls()
        for cell in nb.cells:
            if nbutils.is_grade(cell):
                grade_id = cell.metadata.nbgrader["grade_id"]
                items.cells[grade_id] = float(cell.metadata.nbgrader["points"])
                match = _TEST_CELL.match(grade_id)
                items.item_of[grade_id] = match.group("item") if match else grade_id
        return items

    @property
    def names(self) -> list[str]:
        return list(dict.fromkeys(self.item_of.values()))

    def max_points(self, item: str) -> float:
        return sum(p for g, p in self.cells.items() if self.item_of[g] == item)

    @property
    def total(self) -> float:
        return sum(self.cells.values())


def _zero_result(student: str, assignment: str, reason: str) -> dict:
    return {"student": student, "assignment": assignment, "status": "error", "reason": reason}


class Worker:
    """One job slot: a long-lived ``worker`` process, restarted after a crash or a timeout."""

    def __init__(self, log_path: Path):
        self.log_path, self.proc = log_path, None

    def start(self) -> None:
        # One thread per kernel: several submissions run at once, and graded work is small.
        env = {**os.environ, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1")}
        with open(self.log_path, "a") as log:
            self.proc = subprocess.Popen([sys.executable, "-m", "rnnbook.grading.worker"], stdin=subprocess.PIPE,
                                         stdout=subprocess.PIPE, stderr=log, text=True, start_new_session=True,
                                         cwd=self.log_path.parent, env=env)

    def grade(self, job: dict, timeout: float) -> str | None:
        """None when the job finished; else why not (the worker is then stopped)."""
        if self.proc is None or self.proc.poll() is not None:
            self.start()
        try:
            self.proc.stdin.write(json.dumps(job) + "\n")
            self.proc.stdin.flush()
        except BrokenPipeError:
            return self._crashed()
        ready, _, _ = select.select([self.proc.stdout], [], [], timeout)
        if not ready:
            self.kill()
            return f"grading took longer than {timeout:g} s and was stopped"
        if not self.proc.stdout.readline():
            return self._crashed()
        return None

    def _crashed(self) -> str:
        code = self.proc.wait()
        self.proc = None
        tail = self.log_path.read_text(errors="replace").strip().splitlines()[-2:]
        return f"the grader crashed (exit {code}): {' | '.join(tail)}"

    def kill(self) -> None:
        if self.proc is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)  # the worker and its kernels
            self.proc.wait()
            self.proc = None

    def finish(self) -> None:
        """No more jobs: the worker writes the feedback pages (``wait`` for it), then exits."""
        if self.proc is not None:
            self.proc.stdin.close()

    def wait(self, timeout: float) -> None:
        if self.proc is None:
            return
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()


def grade_one(course: Course, assignment: str, submission: Submission, workdir: Path, template: Path,
              release_nb: nbformat.NotebookNode, worker: Worker, cell_timeout: int, submission_timeout: int,
              isolation: str = "bwrap", warm_socket: Path | None = None) -> dict:
    if submission.problem:
        return _zero_result(submission.student, assignment, submission.problem)
    sandbox = workdir / "runs" / submission.student
    shutil.rmtree(sandbox, ignore_errors=True)
    target = sandbox / "submitted" / submission.student / assignment / f"{assignment}.ipynb"
    target.parent.mkdir(parents=True)
    try:
        nb, notes = read_notebook(submission.path)
    except BadSubmission as err:
        return _zero_result(submission.student, assignment, str(err))
    notes += repair(nb, release_nb)
    nbformat.write(nb, target)
    shutil.copy(template / "gradebook.db", sandbox / "gradebook.db")
    shutil.copytree(template / "release", sandbox / "release")
    job = {"root": str(course.root), "assignment": assignment, "student": submission.student,
           "sandbox": str(sandbox), "cell_timeout": cell_timeout, "isolation": isolation,
           "warm_socket": str(warm_socket) if warm_socket else None}
    problem = worker.grade(job, submission_timeout)
    result_path = sandbox / RESULT_FILE
    if problem or not result_path.is_file():
        result = _zero_result(submission.student, assignment, problem or "the grader wrote no result")
    else:
        result = json.loads(result_path.read_text())
        result["feedback"] = str(workdir / "feedback" / submission.student / assignment / f"{assignment}.html")
    result["repairs"] = [*submission.notes, *notes]
    return result


def collect_feedback(workdir: Path, assignment: str, students: list[str]) -> None:
    """Copy each student's feedback page from their folder to ``workdir/feedback``."""
    for student in students:
        page = workdir / "runs" / student / "feedback" / student / assignment / f"{assignment}.html"
        if page.is_file():
            dest = workdir / "feedback" / student / assignment / page.name
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(page, dest)


def item_scores(result: dict, items: GradeItems) -> dict[str, float | None]:
    """Points per item; None where a hand-graded answer still waits for a person."""
    scores = result.get("scores", {})
    out: dict[str, float | None] = {}
    for item in items.names:
        total, waiting = 0.0, False
        for grade_id, owner in items.item_of.items():
            if owner != item:
                continue
            entry = scores.get(grade_id)
            if entry and entry.get("manual") and entry.get("score") is None:
                waiting = True
            elif entry and entry.get("score") is not None:
                total += float(entry["score"])
        out[item] = None if waiting and total == 0 else round(total, 2)
    return out


def write_table(results: list[dict], items: GradeItems, path: Path) -> list[list[str]]:
    header = ["student", "status", *items.names, "total", "max", "note"]
    rows = [header]
    for result in sorted(results, key=lambda r: r["student"]):
        scores = item_scores(result, items)
        total = sum(v for v in scores.values() if v is not None)
        notes = []
        if result["status"] != "graded":
            notes.append(result.get("reason", ""))
        notes += result.get("repairs", [])
        if any(v is None for v in scores.values()):
            notes.append("needs manual grading: " + ", ".join(k for k, v in scores.items() if v is None))
        rows.append([result["student"], result["status"],
                     *("" if scores[i] is None else f"{scores[i]:g}" for i in items.names),
                     f"{total:g}", f"{items.total:g}", "; ".join(notes)])
    with open(path, "w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows(rows)
    return rows


def format_table(rows: list[list[str]], max_note: int = 60) -> str:
    rows = [r[:-1] + [r[-1][:max_note] + ("..." if len(r[-1]) > max_note else "")] for r in rows]
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def isolation_mode(require_sandbox: bool, log=print) -> str:
    """"bwrap" when kernels can be sandboxed here; else "rlimits", said loudly (or refused)."""
    problem = bwrap_problem()
    if problem is None:
        return "bwrap"
    if require_sandbox:
        raise CourseError(f"--require-sandbox: {problem}; refusing to grade without a sandbox.")
    log("!" * 78 + f"\nWARNING: submissions are NOT isolated: {problem}.\nLearners' code can read "
        "and write what you can (solutions, gradebook, other students); only rlimits apply.\n" + "!" * 78)
    return "rlimits"


def grade(course: Course, assignment: str, submissions_dir: Path, workdir: Path, *,
          cell_timeout: int = CELL_TIMEOUT, submission_timeout: int = SUBMISSION_TIMEOUT, jobs: int = 1,
          require_sandbox: bool = False, log=print) -> tuple[Path, list[list[str]]]:
    workdir = Path(workdir).resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    isolation = isolation_mode(require_sandbox, log)
    submissions = collect(Path(submissions_dir), assignment)
    if not submissions:
        raise BadSubmission(f"no notebooks in {submissions_dir} (expected <student>.ipynb files or "
                            f"<student>/{assignment}/*.ipynb folders)")
    # Workers (importing nbgrader) and the warm kernel server (importing torch) start while the
    # release is generated: on two cores that work overlaps.
    (workdir / "runs").mkdir(exist_ok=True)
    workers = [Worker(workdir / "runs" / f".worker-{i}.log") for i in range(max(1, jobs))]
    for worker in workers:
        worker.start()
    server = warm.WarmServer(workdir / "runs") if isolation == "bwrap" and warm.enabled() else None
    if server is not None:
        server.launch()  # from this thread, which lasts as long as the batch (bwrap dies with it)
    try:
        return _grade_batch(course, assignment, submissions, workdir, workers, server, cell_timeout,
                            submission_timeout, isolation, log)
    finally:
        if server is not None:
            server.stop()
        for worker in workers:
            worker.kill()


def _grade_batch(course: Course, assignment: str, submissions: list[Submission], workdir: Path,
                 workers: list[Worker], server: warm.WarmServer | None, cell_timeout: int,
                 submission_timeout: int, isolation: str, log) -> tuple[Path, list[list[str]]]:
    template = workdir / "template"
    shutil.rmtree(template, ignore_errors=True)
    release_path = release_mod.generate(course, assignment, template / "release", template)
    release_nb = nbformat.read(release_path, as_version=4)
    items = GradeItems.from_release(release_nb)
    results_dir = workdir / "results" / assignment
    results_dir.mkdir(parents=True, exist_ok=True)

    finished: set[str] = set()
    release_digest = hashlib.sha256(release_path.read_bytes()).hexdigest()

    warned = []

    def warm_socket() -> Path | None:
        socket = server.ready_socket() if server is not None else None
        if server is not None and socket is None and not warned:
            warned.append(True)
            log(f"warm kernels are off for this batch ({server.problem}); every kernel starts cold.")
        return socket

    def work(sub: Submission) -> dict:
        digest = _digest(sub.path, release_digest)
        previous = results_dir / f"{sub.student}.json"
        if previous.is_file():  # resume: an unchanged submission graded by this release is kept
            kept = json.loads(previous.read_text())
            if kept.get("digest") == digest and kept.get("status") == "graded":
                log(f"kept {sub.student}: unchanged since it was graded")
                finished.add(sub.student)
                return kept
        worker = idle.get()
        try:
            result = grade_one(course, assignment, sub, workdir, template, release_nb, worker, cell_timeout,
                               submission_timeout, isolation, warm_socket())
        finally:
            idle.put(worker)
        result["digest"] = digest
        if stopping.is_set():  # interrupted: this one was cut short, it is not a result
            return result
        (results_dir / f"{sub.student}.json").write_text(json.dumps(result, indent=1, sort_keys=True))
        finished.add(sub.student)
        scores = item_scores(result, items)
        got = sum(v for v in scores.values() if v is not None)
        log(f"graded {sub.student}: {got:g}/{items.total:g}" + ("" if result["status"] == "graded"
                                                                  else f" ({result.get('reason', '')[:80]})"))
        return result

    stopping = threading.Event()
    idle: queue.Queue[Worker] = queue.Queue()
    for worker in workers:
        idle.put(worker)
    pool = ThreadPoolExecutor(max_workers=len(workers))
    futures = {pool.submit(work, sub): sub for sub in submissions}
    try:
        for future in futures:
            future.result()
    except KeyboardInterrupt:  # Ctrl-C, or SIGTERM (see cli): keep what is finished, say what is not
        stopping.set()
        for future in futures:
            future.cancel()
        for worker in workers:
            worker.kill()
        pool.shutdown(wait=True)
        missing = [sub.student for sub in submissions if sub.student not in finished]
        csv_path, rows = _table(results_dir, items, workdir, assignment)
        log(f"\nInterrupted: the table {csv_path} holds everyone graded so far. Not graded ({len(missing)}): "
            f"{', '.join(missing)}. Run the same command again to grade them.")
        raise
    pool.shutdown()
    csv_path, rows = _table(results_dir, items, workdir, assignment)
    log("writing feedback pages...")
    for worker in workers:  # feedback after the grades: off the critical path of the table
        worker.finish()
    for worker in workers:  # all workers write their pages at once
        worker.wait(timeout=submission_timeout)
    collect_feedback(workdir, assignment, sorted(finished))
    return csv_path, rows


def _digest(path: Path, release_digest: str) -> str:
    content = b"" if path.is_symlink() or not path.is_file() else path.read_bytes()
    return hashlib.sha256(content + release_digest.encode()).hexdigest()


def _table(results_dir: Path, items: GradeItems, workdir: Path, assignment: str) -> tuple[Path, list[list[str]]]:
    # Every result for this assignment, including students graded in earlier runs: nothing is lost.
    results = [json.loads(p.read_text()) for p in sorted(results_dir.glob("*.json"))]
    csv_path = workdir / f"grades_{assignment}.csv"
    return csv_path, write_table(results, items, csv_path)
