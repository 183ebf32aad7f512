"""The sandbox a submission's kernel runs in: only the kernel (the learner's code) is inside; the
grader, nbgrader and the gradebook stay outside.

With bubblewrap (``bwrap``, Debian package ``bubblewrap``) the kernel gets its own PID, network,
mount, IPC and user namespaces; it sees read-only the system's /usr, the Python it runs on, the
``rnnbook`` package and the data mirror, and read-write only its own empty scratch folder. It talks
to the grader over Unix sockets in that folder (no network). When the kernel is killed, the PID
namespace goes with it: forked children and ``setsid`` daemons included. Inside, rlimits cap memory,
processes, file size (so the kernel's own stdout file too) and CPU time.

Without bubblewrap only the rlimits apply; ``course grade`` says so loudly and
``--require-sandbox`` refuses to grade.
"""
from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from jupyter_client.manager import AsyncKernelManager

# Environment passed into the kernel; everything else (tokens, paths of the course) stays out.
KERNEL_ENV = ("LANG", "LC_ALL", "NBGRADER_EXECUTION", "NBGRADER_VALIDATING", "RNNBOOK_SCALE",
              "OMP_NUM_THREADS", "MKL_NUM_THREADS")
SYSTEM_FILES = ("/etc/passwd", "/etc/group", "/etc/hosts", "/etc/nsswitch.conf", "/etc/ld.so.cache",
                "/etc/localtime", "/etc/alternatives", "/etc/fonts")


KERNEL_OUTPUT = ".kernel-output.log"  # in the scratch folder: what the kernel process itself printed
TMP_BYTES = 1 << 30  # the sandbox's private /tmp (a tmpfs, so memory): bounded in total


@dataclass(frozen=True)
class Limits:
    memory_bytes: int = 6 << 30  # address space; torch alone maps about 1.5 GiB
    processes: int = 256  # on top of what the user already runs (RLIMIT_NPROC counts per user)
    file_bytes: int = 64 << 20  # any file the kernel writes, its stdout/stderr included
    cpu_seconds: int = 3600


# Runs inside the sandbox before the kernel: set the limits, then become the kernel.
_LIMITER = """import os, resource, sys
mem, nproc, fsize, cpu = (int(v) for v in sys.argv[1:5])
for name, value in ((resource.RLIMIT_AS, mem), (resource.RLIMIT_NPROC, nproc),
                    (resource.RLIMIT_FSIZE, fsize), (resource.RLIMIT_CPU, cpu), (resource.RLIMIT_CORE, 0)):
    resource.setrlimit(name, (value, value))
os.execv(sys.argv[5], sys.argv[5:])
"""


@functools.lru_cache(maxsize=1)
def bwrap_problem() -> str | None:
    """None when bubblewrap works here; otherwise why not (shown to the instructor)."""
    bwrap = shutil.which("bwrap")
    if not bwrap:
        return "bubblewrap (bwrap) is not installed (Debian/Ubuntu: apt-get install bubblewrap)"
    probe = subprocess.run([bwrap, "--unshare-all", "--die-with-parent", "--ro-bind", "/", "/", "true"],
                           capture_output=True, text=True)
    if probe.returncode != 0:
        return f"bubblewrap cannot create namespaces here: {probe.stderr.strip()[:200]}"
    return None


def readonly_roots() -> list[Path]:
    """What the kernel must read: the Python it runs on, its packages, and the rnnbook package only
    (never the folder around it, which in a checkout holds solutions/)."""
    import rnnbook
    roots = {Path(sys.prefix).resolve(), Path(sys.base_prefix).resolve(), Path(sys.executable).resolve().parent}
    roots.add(Path(rnnbook.__file__).resolve().parent)
    for entry in sys.path:  # site-packages of the venv (and user site) hold torch, ipykernel, ...
        path = Path(entry or ".").resolve()
        if path.is_dir() and path.name in ("site-packages", "dist-packages"):
            roots.add(path)
    mirror = os.environ.get("RNNBOOK_DATA_MIRROR")
    if mirror and Path(mirror).is_dir():
        roots.add(Path(mirror).resolve())
    # Drop roots inside other roots (bwrap binds them anyway).
    return sorted(r for r in roots if not any(o != r and o in r.parents for o in roots))


def _system_binds() -> list[str]:
    args = []
    for top in ("/usr", "/bin", "/lib", "/lib64", "/lib32", "/sbin"):
        path = Path(top)
        if path.is_symlink():
            args += ["--symlink", os.readlink(path), top]
        elif path.is_dir():
            args += ["--ro-bind", top, top]
    for name in SYSTEM_FILES:
        if Path(name).exists():
            args += ["--ro-bind", name, name]
    return args


def kernel_env(scratch: Path) -> dict[str, str]:
    import rnnbook
    env = {k: v for k, v in os.environ.items() if k in KERNEL_ENV or k.startswith("LC_")}
    env.update(HOME=str(scratch), TMPDIR="/tmp", PATH=f"{Path(sys.executable).parent}:/usr/bin:/bin",
               PYTHONPATH=str(Path(rnnbook.__file__).resolve().parent.parent), RNNBOOK_CACHE=str(scratch / ".cache"),
               MPLCONFIGDIR=str(scratch / ".matplotlib"), IPYTHONDIR=str(scratch / ".ipython"),
               PYTHONDONTWRITEBYTECODE="1")
    env.setdefault("OMP_NUM_THREADS", "1")
    mirror = os.environ.get("RNNBOOK_DATA_MIRROR")
    if mirror:
        env["RNNBOOK_DATA_MIRROR"] = str(Path(mirror).resolve())
    return env


def _processes_of(uid: int) -> int:
    count = 0
    for entry in os.scandir("/proc"):
        try:
            count += entry.name.isdigit() and entry.stat().st_uid == uid
        except OSError:  # the process ended meanwhile
            pass
    return count


# IPython runs this in the kernel before the notebook: `exit()` after a definition is an innocent
# habit, and it must not end the kernel in the middle of grading.
_STARTUP = """from IPython import get_ipython as _get_ipython
_get_ipython().ask_exit = lambda *args, **kwargs: print("(exit() is ignored while grading)")
del _get_ipython
"""


def _write_startup(ipython_dir: Path) -> None:
    startup = ipython_dir / "profile_default" / "startup"
    startup.mkdir(parents=True, exist_ok=True)
    (startup / "00-grading.py").write_text(_STARTUP)


def bwrap_command(writable: Path, env: dict[str, str], extra: tuple[str, ...] = ()) -> list[str]:
    """bubblewrap's arguments for a sandbox whose only writable folder is ``writable`` (also the
    working directory), with only ``env`` in its environment; the command to run follows."""
    args = [shutil.which("bwrap"), "--unshare-all", "--die-with-parent", "--new-session", "--hostname", "sandbox",
            "--uid", "65534", "--gid", "65534", "--proc", "/proc", "--dev", "/dev",
            "--size", str(TMP_BYTES), "--tmpfs", "/tmp", *_system_binds()]
    for root in readonly_roots():  # after /tmp: a root under /tmp must not be hidden by the tmpfs
        args += ["--ro-bind", str(root), str(root)]
    args += [*extra, "--bind", str(writable), str(writable), "--remount-ro", "/",
             "--chdir", str(writable), "--clearenv"]
    for key, value in sorted(env.items()):
        args += ["--setenv", key, value]
    return args


def process_limit(limits: Limits) -> int:
    """RLIMIT_NPROC counts every process of the real user, so allow for those already running."""
    return limits.processes + _processes_of(os.getuid())


def wrap(cmd: list[str], scratch: Path, limits: Limits, use_bwrap: bool) -> list[str]:
    """The kernel command ``cmd`` run with ``limits``, inside bubblewrap when ``use_bwrap``."""
    limited = [sys.executable, "-S", "-c", _LIMITER, str(limits.memory_bytes), str(process_limit(limits)),
               str(limits.file_bytes), str(limits.cpu_seconds), *cmd]
    if not use_bwrap:
        return ["/usr/bin/env", f"IPYTHONDIR={scratch / '.ipython'}", *limited]
    return [*bwrap_command(scratch, kernel_env(scratch)), *limited]


class SandboxedKernelManager(AsyncKernelManager):
    """A kernel manager whose kernel runs inside ``wrap`` and listens on Unix sockets in its scratch
    folder (the sandbox has no network). Call ``prepare`` before starting it.

    With ``warm_socket`` (a running ``warm.WarmServer``'s socket) and bubblewrap, the kernel is
    forked from the warm server instead of started cold: the same isolation, without importing
    torch again for each submission."""

    scratch: Path | None = None
    limits: Limits = Limits()
    use_bwrap: bool = True
    warm_socket: Path | None = None

    def prepare(self, scratch: Path, limits: Limits, use_bwrap: bool, warm_socket: Path | None = None) -> None:
        self.scratch, self.limits, self.use_bwrap = Path(scratch), limits, use_bwrap
        self.warm_socket = Path(warm_socket) if warm_socket and use_bwrap else None
        self.scratch.mkdir(parents=True, exist_ok=True)
        self.transport = "ipc"
        self.ip = str(self.scratch / ".kernel")
        self.connection_file = str(self.scratch / ".kernel.json")

    async def _async_pre_start_kernel(self, **kwargs):
        _write_startup(self.scratch / ".ipython")
        return await super()._async_pre_start_kernel(**kwargs)

    async def _async_launch_kernel(self, kernel_cmd, **kw):
        # The kernel's own stdout/stderr go to a file in its scratch folder, never to the grader's log
        # (which names other students, and which the kernel could reopen through /proc/self/fd).
        with open(self.scratch / KERNEL_OUTPUT, "ab") as output:  # the kernel keeps its own copy
            kw.update(stdin=subprocess.DEVNULL, stdout=output, stderr=output)
            return await super()._async_launch_kernel(kernel_cmd, **kw)

    def format_kernel_cmd(self, extra_arguments=None) -> list[str]:
        cmd = super().format_kernel_cmd(extra_arguments)
        if self.scratch is None:
            raise RuntimeError("SandboxedKernelManager.prepare() was not called")
        if self.use_bwrap and self.kernel_spec and os.path.basename(cmd[0]).startswith("python"):
            cmd[0] = sys.executable  # the sandbox only holds this Python
        cold = wrap(cmd, self.scratch, self.limits, self.use_bwrap)
        if self.warm_socket is not None and cmd[1:3] == ["-m", "ipykernel_launcher"]:
            from .warm import relay_command
            return relay_command(self.warm_socket, self.scratch, cmd[3:], kernel_env(self.scratch), self.limits, cold)
        return cold
