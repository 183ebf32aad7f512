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


async def _run_in_sandbox(scratch: Path, code: str, use_bwrap: bool, warm_socket: Path | None = None) -> str:
    km = SandboxedKernelManager(kernel_name="python3")
    km.prepare(scratch, Limits(), use_bwrap, warm_socket)
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


WARM_PROBE = """
import ctypes, os, sys
seen = {'preloaded': 'torch' in sys.modules, 'pid': os.getpid()}
runs = os.path.dirname(os.path.dirname(os.getcwd()))
seen['runs'] = sorted(os.listdir(runs))
seen['own_folder'] = sorted(os.listdir(os.path.dirname(os.getcwd())))
seen['capabilities'] = [line.split()[1] for line in open('/proc/self/status') if line.startswith('Cap')]
libc = ctypes.CDLL(None, use_errno=True)
seen['umount'] = libc.umount2(runs.encode(), 2)
seen['remount'] = libc.mount(None, runs.encode(), None, 32, None)
try:
    open(os.path.join(runs, 'planted'), 'w').close()
    seen['write_runs'] = True
except OSError:
    seen['write_runs'] = False
seen['open_files'] = []
for fd in os.listdir('/proc/self/fd'):
    try:
        target = os.readlink('/proc/self/fd/' + fd)
    except OSError:
        continue
    if target.startswith('/'):
        seen['open_files'].append(target)
seen['tmp'] = sorted(os.listdir('/tmp'))
open('/tmp/left-behind', 'w').close()
open('written', 'w').write('mine')
print(seen)
"""


@pytest.mark.skipif(bwrap_problem() is not None, reason=f"no sandbox here: {bwrap_problem()}")
def test_warm_kernel_is_forked_preloaded_and_sees_only_its_scratch(tmp_path):
    from rnnbook.grading import warm
    runs = tmp_path / "runs"
    for student in ("alice", "bob"):
        (runs / student / "scratch").mkdir(parents=True)
        (runs / student / "gradebook.db").write_text("hidden tests and grades")
    with warm.WarmServer(runs) as server:
        seen = [eval(asyncio.run(_run_in_sandbox(runs / s / "scratch", WARM_PROBE, True, server.socket)))
                for s in ("alice", "bob")]
    for student, probe in zip(("alice", "bob"), seen):
        assert probe["preloaded"] and probe["pid"] == 1, probe  # forked warm, PID 1 of its own namespace
        assert probe["runs"] == [student] and probe["own_folder"] == ["scratch"], probe
        assert set(probe["capabilities"]) == {"0000000000000000"}, probe
        assert probe["umount"] != 0 and probe["remount"] != 0 and not probe["write_runs"], probe
        assert "left-behind" not in probe["tmp"]  # each kernel has its own /tmp
        # No file of the grader's is open in the kernel (its stdout is a file in its own scratch folder).
        scratch = str(runs / student / "scratch")
        assert all(f.startswith(scratch) or f == "/dev/null" for f in probe["open_files"]), probe["open_files"]
        assert (runs / student / "scratch" / "written").read_text() == "mine"
    assert not (runs / "planted").exists()


SHARED_DEV_PLANT = """
import os
open('/dev/shm/from-alice', 'w').write('hello')
for attempt in (lambda: os.rename('/dev/shm', '/dev/.shm-old'), lambda: open('/dev/planted', 'w').close()):
    try:
        attempt()
    except OSError:
        pass
print('planted')
"""
SHARED_DEV_FIND = """
import os, torch
print({'shm': sorted(os.listdir('/dev/shm')), 'dev': sorted(n for n in os.listdir('/dev') if 'old' in n or 'planted' in n),
       'shared_tensor': float(torch.ones(3).share_memory_().sum())})
"""


@pytest.mark.skipif(bwrap_problem() is not None, reason=f"no sandbox here: {bwrap_problem()}")
def test_warm_kernels_share_no_dev_or_shared_memory(tmp_path):
    from rnnbook.grading import warm
    runs = tmp_path / "runs"
    runs.mkdir()
    with warm.WarmServer(runs) as server:
        asyncio.run(_run_in_sandbox(runs / "alice" / "scratch", SHARED_DEV_PLANT, True, server.socket))
        out = asyncio.run(_run_in_sandbox(runs / "bob" / "scratch", SHARED_DEV_FIND, True, server.socket))
    assert out.startswith("{"), f"the second kernel could not even look: {out!r}"
    assert eval(out) == {"shm": [], "dev": [], "shared_tensor": 3.0}


# Stands in for the grader's worker: starts one warm kernel that keeps writing a heartbeat, then waits.
_WORKER = """
import asyncio, sys
from pathlib import Path
from rnnbook.grading.sandbox import Limits, SandboxedKernelManager
async def main():
    km = SandboxedKernelManager(kernel_name="python3")
    km.prepare(Path(sys.argv[1]), Limits(), True, Path(sys.argv[2]))
    await km.start_kernel()
    kc = km.client()
    kc.start_channels()
    await kc.wait_for_ready(timeout=120)
    kc.execute("import time\\nwhile True:\\n    open('heartbeat', 'w').write(str(time.time()))\\n    time.sleep(0.2)")
    await asyncio.sleep(3600)
asyncio.run(main())
"""


@pytest.mark.skipif(bwrap_problem() is not None, reason=f"no sandbox here: {bwrap_problem()}")
def test_warm_kernel_dies_with_the_worker_that_started_it(tmp_path):
    import signal
    import time
    from rnnbook.grading import warm
    runs = tmp_path / "runs"
    scratch = runs / "alice" / "scratch"
    scratch.mkdir(parents=True)
    heartbeat = scratch / "heartbeat"
    with warm.WarmServer(runs) as server:
        worker = subprocess.Popen([sys.executable, "-c", _WORKER, str(scratch), str(server.socket)],
                                  start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            for _ in range(600):
                if heartbeat.exists():
                    break
                time.sleep(0.2)
            assert heartbeat.exists(), "the kernel never started"
        finally:
            os.killpg(worker.pid, signal.SIGKILL)  # what grade.Worker.kill does
            worker.wait()
        time.sleep(2)
        before = heartbeat.stat().st_mtime
        time.sleep(2)
        assert heartbeat.stat().st_mtime == before, "the kernel kept running after its worker was killed"


@pytest.mark.skipif(bwrap_problem() is not None, reason=f"no sandbox here: {bwrap_problem()}")
def test_warm_kernel_can_be_interrupted_and_its_death_is_seen(tmp_path):
    from rnnbook.grading import warm

    async def scenario(server_socket):
        km = SandboxedKernelManager(kernel_name="python3")
        km.prepare(tmp_path / "runs" / "alice" / "scratch", Limits(), True, server_socket)
        await km.start_kernel()
        kc = km.client()
        kc.start_channels()
        try:
            await kc.wait_for_ready(timeout=120)
            kc.execute("import time\ntime.sleep(60)")
            await asyncio.sleep(1.0)
            await km.interrupt_kernel()
            reply = await kc.get_shell_msg(timeout=30)
            interrupted = reply["content"].get("ename")
            kc.execute("import os; os._exit(3)")
            for _ in range(100):
                if not await km.is_alive():
                    break
                await asyncio.sleep(0.1)
            return interrupted, await km.is_alive()
        finally:
            kc.stop_channels()
            await km.shutdown_kernel(now=True)

    (tmp_path / "runs").mkdir()
    with warm.WarmServer(tmp_path / "runs") as server:
        interrupted, alive = asyncio.run(scenario(server.socket))
    assert interrupted == "KeyboardInterrupt" and alive is False


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


def test_an_autograde_failure_says_what_happened_and_what_to_do():
    from rnnbook.grading.worker import explain_failure
    kernel = explain_failure("[AutogradeApp | ERROR] There was an error processing assignment: /x\n"
                             "[AutogradeApp | ERROR] Traceback (most recent call last):\n  File \"x.py\", line 1\n"
                             "RuntimeError: Kernel died before replying to kernel_info\n")
    assert "RuntimeError: Kernel died before replying to kernel_info" in kernel and "grade this student again" in kernel
    other = explain_failure("[AutogradeApp | ERROR] There was an error processing assignment: /x\n"
                            "[AutogradeApp | ERROR] Traceback (most recent call last):\n"
                            "nbgrader.preprocessors.MissingCellError: cell 'abc' is missing\n")
    assert "MissingCellError: cell 'abc' is missing" in other and "worker's log" in other
    assert "nbgrader gave no reason" in explain_failure("")
