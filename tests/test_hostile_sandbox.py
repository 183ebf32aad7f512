"""The kernel sandbox and the learner's self-check, without grading whole notebooks (seconds)."""
from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from rnnbook.grading.sandbox import Limits, SandboxedKernelManager, bwrap_problem

from conftest import ROOT

PROBE = f"""
import os, socket, resource, torch
seen = {{}}
seen['solutions'] = os.path.exists({str(ROOT / 'solutions')!r})
seen['repo_root'] = sorted(os.listdir({str(ROOT)!r}))
seen['processes'] = len([p for p in os.listdir('/proc') if p.isdigit()])
try:
    socket.create_connection(('1.1.1.1', 80), timeout=2)
    seen['network'] = True
except OSError:
    seen['network'] = False
seen['torch'] = float(torch.ones(3) @ torch.ones(3))
seen['memory_limit'] = resource.getrlimit(resource.RLIMIT_AS)[0]
seen['can_write_home'] = os.access(os.path.expanduser('~'), os.W_OK)
print(seen)
"""
# Only run inside the sandbox: without it, this would really write into the repository.
WRITE_PROBE = f"""
try:
    open({str(ROOT / 'planted.py')!r}, 'w').close()
    seen['can_write_repo'] = True
except OSError:
    seen['can_write_repo'] = False
"""


async def _run_in_sandbox(scratch: Path, code: str, use_bwrap: bool) -> str:
    km = SandboxedKernelManager(kernel_name="python3")
    km.prepare(scratch, Limits(), use_bwrap)
    await km.start_kernel()
    kc = km.client()
    kc.start_channels()
    try:
        await kc.wait_for_ready(timeout=120)
        out = []
        await kc.execute_interactive(code, timeout=120, output_hook=lambda m: out.append(
            m["content"].get("text", "") if m["msg_type"] == "stream" else ""))
        return "".join(out)
    finally:
        kc.stop_channels()
        await km.shutdown_kernel(now=True)


@pytest.mark.skipif(bwrap_problem() is not None, reason=f"no sandbox here: {bwrap_problem()}")
def test_sandboxed_kernel_sees_only_what_it_needs(tmp_path):
    probe = PROBE.replace("print(seen)", WRITE_PROBE + "print(seen)")
    seen = eval(asyncio.run(_run_in_sandbox(tmp_path / "scratch", probe, True)))
    # Of the checkout, only the package (and a virtual environment kept inside it, as CI's is) is visible.
    assert seen["solutions"] is False and "src" in seen["repo_root"]
    assert set(seen["repo_root"]) <= {"src", ".venv"}, seen["repo_root"]
    assert seen["network"] is False and seen["processes"] <= 3  # its own PID namespace
    assert seen["torch"] == 3.0 and seen["memory_limit"] == Limits().memory_bytes
    # A checkout under /tmp sits in the kernel's private /tmp, where a write lands in its own copy;
    # what matters is that the real repository is untouched.
    assert seen["can_write_home"] and not (ROOT / "planted.py").exists()
    assert not seen["can_write_repo"] or str(ROOT).startswith("/tmp/")


def test_without_sandbox_the_limits_still_apply(tmp_path):
    seen = eval(asyncio.run(_run_in_sandbox(tmp_path / "scratch", PROBE, False)))
    assert seen["memory_limit"] == Limits().memory_bytes and seen["torch"] == 3.0


def test_self_check_needs_no_nbgrader():
    code = ("import sys, rnnbook.grading.cli, rnnbook.grading.selfcheck\n"
            "assert 'nbgrader' not in sys.modules, 'course check imports nbgrader'")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


def _notebook(path: Path, *sources: str) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    for i, source in enumerate(sources):
        cell = nbformat.v4.new_code_cell(source)
        if source.startswith("# test"):
            cell.metadata["nbgrader"] = {"grade": True, "solution": False, "locked": True, "points": 1,
                                         "grade_id": f"test_{i}_visible"}
        nb.cells.append(cell)
    nbformat.write(nb, path)
    return path


def test_self_check_keeps_the_callers_environment_and_reports_a_timeout_in_one_line(tmp_path):
    from rnnbook.grading.selfcheck import report, run_checks
    path = _notebook(tmp_path / "nb.ipynb", "# test\nimport os\nassert os.environ['NBGRADER_EXECUTION'] == 'validate'",
                     "while True:\n    pass", "# test\nassert True")
    before = os.environ.get("NBGRADER_EXECUTION")
    results, stopped = run_checks(path, cell_timeout=5)
    assert os.environ.get("NBGRADER_EXECUTION") == before
    text, ok = report(results, stopped)
    assert not ok and "Traceback" not in text
    assert "Stopped: cell 2 (code cell) ran longer than 5 s" in text
    assert "[ok]     test_0_visible" in text and "[FAIL]   test_2_visible: 0/1  not run" in text


def test_require_sandbox_refuses_without_bubblewrap(tmp_path):
    env = {**os.environ, "PATH": str(Path(sys.executable).parent)}  # no bwrap on this PATH
    done = subprocess.run([sys.executable, "-m", "rnnbook.grading.cli", "grade", "a1_preprocessing", str(tmp_path),
                           "--workdir", str(tmp_path / "work"), "--require-sandbox"], cwd=ROOT, env=env,
                          capture_output=True, text=True)
    assert done.returncode == 2 and "refusing to grade without a sandbox" in done.stderr, done.stderr
