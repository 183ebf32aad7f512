"""A learner's self-check: run a notebook and report each visible test, with points."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbgrader import utils as nbutils

from .preprocessors import HIDDEN_BEGIN
from .worker import first_line_of_error


@dataclass
class TestResult:
    grade_id: str
    points: float
    max_points: float
    hidden_only: bool
    problem: str | None


def _has_visible_code(source: str) -> bool:
    return any(line.strip() and not line.strip().startswith("#") for line in source.splitlines())


def run_checks(path: Path, cell_timeout: int = 300) -> list[TestResult]:
    nb = nbformat.read(path, as_version=4)
    os.environ["NBGRADER_EXECUTION"] = "validate"  # notebooks shrink their training, as when graded
    client = NotebookClient(nb, timeout=cell_timeout, allow_errors=True, kernel_name="python3",
                            resources={"metadata": {"path": str(Path(path).parent.resolve())}})
    client.execute()
    results = []
    for cell in nb.cells:
        if not (nbutils.is_grade(cell) and not nbutils.is_solution(cell)):
            continue
        score, max_points = nbutils.determine_grade(cell)
        hidden_only = HIDDEN_BEGIN in cell.source or not _has_visible_code(cell.source)
        results.append(TestResult(cell.metadata.nbgrader["grade_id"], score or 0.0, max_points, hidden_only,
                                  first_line_of_error(cell)))
    return results


def report(results: list[TestResult]) -> tuple[str, bool]:
    lines, got, possible, all_ok = [], 0.0, 0.0, True
    for r in results:
        if r.hidden_only:
            lines.append(f"  [hidden] {r.grade_id}: {r.max_points:g} points, checked when your notebook is graded")
            continue
        possible += r.max_points
        got += r.points
        if r.problem:
            all_ok = False
            lines.append(f"  [FAIL]   {r.grade_id}: 0/{r.max_points:g}  {r.problem}")
        else:
            lines.append(f"  [ok]     {r.grade_id}: {r.points:g}/{r.max_points:g}")
    lines.append(f"Visible tests: {got:g}/{possible:g} points."
                 + (" All visible tests pass; hidden tests check more cases when graded." if all_ok
                    else " Fix the first failing test first: later ones often depend on it."))
    return "\n".join(lines), all_ok
