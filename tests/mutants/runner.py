"""Fast mutant runner: execute an assignment's source notebook once, forking the Python process
before each cell that has variants; a child runs the variant's cell and the cells after it, and
scores the test cells it ran as nbgrader does (a test cell that raises loses its points).

Forking gives each variant exactly the state the real grader would have before that cell, without
re-running the earlier cells. A wrong version (``MUTANTS``) stops after its own item's last test
cell (only that item is asserted on); a correct one (``ALTERNATIVES``) runs to the end of the
notebook, since it must keep every point. The end-to-end path through `course grade` is tested
separately, once per assignment (tests/test_grading.py).

    python tests/mutants/runner.py NOTEBOOK SPEC.json OUT.json   (SPEC: {name: [grade_id, source, full]})
"""
from __future__ import annotations

import io
import json
import os
import re
import signal
import sys
import tempfile
import time
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

TEST_CELL = re.compile(r"^test_(?P<item>.+)_(?:visible|hidden)$")


def grading_environment() -> dict[str, str]:
    """What the grader sets: tiny run scale, no display, one thread (safe to fork)."""
    return {"NBGRADER_EXECUTION": "autograde", "MPLBACKEND": "Agg", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def run_variants(notebook: Path, variants: dict[str, tuple[str, str, bool]], timeout: int = 120) -> dict:
    """Run in a fresh Python (forking is only safe there). ``variants``: name -> (grade_id, source,
    run_to_end). Returns {"baseline": result, "variants": {name: result}}, where a result is
    {"lost": {test grade_id: points}, "failures": {grade_id: first error line}}."""
    import subprocess
    with tempfile.TemporaryDirectory() as tmp:
        spec, out = Path(tmp) / "spec.json", Path(tmp) / "out.json"
        spec.write_text(json.dumps({k: list(v) for k, v in variants.items()}))
        env = {**os.environ, **grading_environment()}
        done = subprocess.run([sys.executable, __file__, str(Path(notebook).resolve()), str(spec), str(out), str(timeout)],
                              cwd=tmp, env=env, capture_output=True, text=True)
        if done.returncode != 0 or not out.is_file():
            raise RuntimeError(f"mutant runner failed ({done.returncode}):\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
        return json.loads(out.read_text())


class Notebook:
    def __init__(self, path: Path):
        import nbformat
        nb = nbformat.read(path, as_version=4)
        self.cells = [c for c in nb.cells if c.cell_type == "code"]
        self.grade_ids = [c.metadata.get("nbgrader", {}).get("grade_id") for c in self.cells]
        self.points = {}
        for cell, gid in zip(self.cells, self.grade_ids):
            meta = cell.metadata.get("nbgrader", {})
            if meta.get("grade") and not meta.get("solution"):
                self.points[gid] = float(meta.get("points", 0))

    def index(self, grade_id: str) -> int:
        return self.grade_ids.index(grade_id)

    def last_test_of(self, item: str) -> int:
        found = [i for i, g in enumerate(self.grade_ids) if g and (m := TEST_CELL.match(g)) and m["item"] == item]
        if not found:
            raise KeyError(f"no test cells for item {item!r}")
        return max(found)


class Executor:
    """IPython in this process: magics work, and errors are caught per cell like a kernel's."""

    def __init__(self):
        from IPython.core.interactiveshell import InteractiveShell
        self.shell = InteractiveShell.instance()
        self.shell.enable_gui = lambda gui=None: None  # `%matplotlib inline` asks for one; a kernel has it

    def run(self, source: str) -> str | None:
        """Run one cell; None when it succeeded, else its error's first line."""
        with redirect_stdout(io.StringIO()), redirect_stderr(io.StringIO()):
            result = self.shell.run_cell(source, store_history=False)
        error = result.error_before_exec or result.error_in_exec
        if error is None:
            return None
        return f"{type(error).__name__}: {error}".splitlines()[0][:300]


def score(nb: Notebook, failures: dict[str, str], ran: list[int]) -> dict:
    lost = {nb.grade_ids[i]: nb.points[nb.grade_ids[i]] for i in ran
            if nb.grade_ids[i] in nb.points and nb.grade_ids[i] in failures}
    return {"lost": lost, "failures": failures, "ran": [nb.grade_ids[i] for i in ran if nb.grade_ids[i]]}


def run_child(nb: Notebook, shell: Executor, start: int, source: str, stop: int, out: Path) -> None:
    failures, ran = {}, []
    for i in range(start, stop + 1):
        error = shell.run(source if i == start else nb.cells[i].source)
        ran.append(i)
        if error:
            failures[nb.grade_ids[i] or f"cell {i}"] = error
    out.write_text(json.dumps(score(nb, failures, ran)))


def fork_variant(nb, shell, start, source, stop, timeout) -> dict:
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as fh:
        out = Path(fh.name)
    pid = os.fork()
    if pid == 0:  # child
        try:
            run_child(nb, shell, start, source, stop, out)
        finally:
            os._exit(0)
    deadline = time.monotonic() + timeout * (stop - start + 1)
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            break
        time.sleep(0.05)
    try:
        result = json.loads(out.read_text())
    except (OSError, ValueError):  # killed, or the child's Python died: every test cell it owed fails
        ran = list(range(start, stop + 1))
        result = score(nb, {nb.grade_ids[i] or f"cell {i}": "timed out or crashed" for i in ran}, ran)
    out.unlink(missing_ok=True)
    return result


def main(notebook: str, spec: str, out: str, timeout: str = "120") -> None:
    nb = Notebook(Path(notebook))
    variants = json.loads(Path(spec).read_text())
    by_cell: dict[int, list[str]] = {}
    for name, (grade_id, _, _) in variants.items():
        by_cell.setdefault(nb.index(grade_id), []).append(name)
    shell = Executor()
    results, failures = {}, {}
    for i, cell in enumerate(nb.cells):
        for name in by_cell.get(i, []):
            grade_id, source, to_end = variants[name]
            stop = len(nb.cells) - 1 if to_end else nb.last_test_of(grade_id)
            results[name] = fork_variant(nb, shell, i, source, stop, int(timeout))
        error = shell.run(cell.source)
        if error:
            failures[nb.grade_ids[i] or f"cell {i}"] = error
    baseline = score(nb, failures, list(range(len(nb.cells))))
    Path(out).write_text(json.dumps({"baseline": baseline, "variants": results}))


if __name__ == "__main__":
    main(*sys.argv[1:])
