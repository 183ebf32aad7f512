"""A learner's self-check: run a notebook and report each visible test, with points.

Needs only nbclient/ipykernel (as on Colab), not nbgrader.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellTimeoutError, DeadKernelError

from .cells import HIDDEN_BEGIN, first_line_of_error, is_test, nbgrader_meta, test_passed
from .course import CHECK_CELL_TIMEOUT


@dataclass
class TestResult:
    grade_id: str
    points: float
    max_points: float
    hidden_only: bool
    problem: str | None


def _has_visible_code(source: str) -> bool:
    return any(line.strip() and not line.strip().startswith("#") for line in source.splitlines())


def run_checks(path: Path, cell_timeout: int = CHECK_CELL_TIMEOUT) -> tuple[list[TestResult], str | None]:
    """Run the notebook; returns the test results and, if the run stopped early, why (one line)."""
    nb = nbformat.read(path, as_version=4)
    # Notebooks shrink their training as when graded; only the kernel sees this, not the caller.
    env = {**os.environ, "NBGRADER_EXECUTION": "validate"}
    client = NotebookClient(nb, timeout=cell_timeout, allow_errors=True, kernel_name="python3",
                            resources={"metadata": {"path": str(Path(path).parent.resolve())}})
    running = {"cell": "?"}

    def on_cell_start(cell, cell_index):
        running["cell"] = f"{cell_index + 1} ({nbgrader_meta(cell).get('grade_id', 'code cell')})"

    client.on_cell_start = on_cell_start
    stopped = None
    try:
        client.execute(env=env)
    except CellTimeoutError:
        stopped = (f"cell {running['cell']} ran longer than {cell_timeout} s and was stopped (an endless "
                   "loop, or training that is too long?); later cells were not run.")
    except DeadKernelError:
        stopped = (f"the Python process died in cell {running['cell']} (exit(), a crash or out of memory); "
                   "later cells were not run.")
    results = []
    for cell in nb.cells:
        if not is_test(cell):
            continue
        meta = nbgrader_meta(cell)
        ran = cell.get("execution_count") is not None or cell.outputs
        ok = ran and test_passed(cell)
        max_points = float(meta.get("points", 0))
        hidden_only = HIDDEN_BEGIN in cell.source or not _has_visible_code(cell.source)
        problem = first_line_of_error(cell) if ran else "not run"
        results.append(TestResult(meta.get("grade_id", "?"), max_points if ok else 0.0, max_points, hidden_only,
                                  None if ok else problem))
    return results, stopped


def report(results: list[TestResult], stopped: str | None = None) -> tuple[str, bool]:
    lines, got, possible, all_ok = [], 0.0, 0.0, stopped is None
    if stopped:
        lines.append(f"  Stopped: {stopped}")
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
