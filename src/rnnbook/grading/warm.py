"""Warm kernels for grading: one server per batch, started once inside bubblewrap with torch and
matplotlib imported, forks a fresh, isolated kernel for each submission (``zygote``).

Starting a kernel cold costs a Python start and ``import torch`` (seconds of CPU) for every
submission; forking the warm server costs milliseconds. The isolation is the cold sandbox's: each
kernel has its own namespaces, sees only its own scratch folder of the runs folder, and dies with
everything it started. ``RNNBOOK_WARM_KERNELS=0`` turns it off (every kernel starts cold).

The kernel manager starts a small relay in place of the kernel: it hands its stdin/stdout/stderr
and the request to the server, passes on interrupts and exits with the kernel's status. When the
server cannot be reached or cannot isolate a kernel, the relay starts the kernel cold instead.
"""
from __future__ import annotations

import json
import os
import select
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

from .sandbox import Limits, bwrap_command, bwrap_problem, kernel_env, process_limit

START_TIMEOUT = 120  # seconds for the server to import torch and say it is ready

# The relay, run with `python -S` (no site: it starts in milliseconds).
RELAY = """import ctypes, json, os, signal, socket, sys
parent = os.getppid()
ctypes.CDLL(None).prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG: die with the grader, as bwrap does
if os.getppid() != parent:
    os._exit(70)
def cold(why):
    sys.stderr.write("warm kernel server: " + why + "; starting this kernel cold\\n")
    fallback = json.loads(sys.argv[3])
    os.execv(fallback[0], fallback)
server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
try:
    server.connect(sys.argv[1])
    socket.send_fds(server, [sys.argv[2].encode()], [0, 1, 2])
except OSError as error:
    cold(str(error))
def forward(signum, frame):
    try:
        server.sendall(b"int\\n" if signum == signal.SIGINT else b"kill\\n")
    except OSError:
        pass
signal.signal(signal.SIGINT, forward)
signal.signal(signal.SIGTERM, forward)
reply = b""
while b"\\n" not in reply:
    data = server.recv(256)
    if not data:
        os._exit(70)
    reply += data
line = reply.split(b"\\n")[0].decode()
if line.startswith("exit "):
    os._exit(int(line[5:]) & 255)
cold(line)
"""


def enabled() -> bool:
    """Warm kernels need bubblewrap (their isolation is built on it) and can be turned off."""
    return os.environ.get("RNNBOOK_WARM_KERNELS", "1") != "0" and bwrap_problem() is None


class WarmServer:
    """The warm server for one runs folder (every submission's folder inside it); a context manager."""

    def __init__(self, runs_root: Path):
        self.runs_root = Path(runs_root).resolve()
        self.folder = self.runs_root / f".warm-{os.getpid()}"
        self.socket = self.folder / "server.sock"
        self.process: subprocess.Popen | None = None
        self.problem: str | None = None  # why the server is not there, once that is known
        self._ready: bool | None = None
        self._lock = threading.Lock()

    def start(self) -> "WarmServer":
        """Start the server and wait until it is ready; RuntimeError if it cannot start."""
        self.launch()
        return self.wait_ready()

    def launch(self) -> None:
        """Start the server without waiting. Call it from a thread that outlives the batch: bubblewrap
        dies with the thread that started it (``--die-with-parent``)."""
        shutil.rmtree(self.folder, ignore_errors=True)
        self.folder.mkdir(parents=True)
        server = [sys.executable, "-m", "rnnbook.grading.zygote", str(self.runs_root), str(self.socket)]
        # The runs folder is writable for the server only: each kernel hides all of it but its own scratch.
        extra = ("--dir", "/.stash", "--dir", "/.hostproc", "--ro-bind", "/proc", "/.hostproc")
        cmd = [*bwrap_command(self.runs_root, kernel_env(self.folder), extra), *server]
        try:
            self.process = subprocess.Popen(cmd, stdout=subprocess.PIPE, stdin=subprocess.DEVNULL,
                                            start_new_session=True)
        except OSError as error:  # wait_ready reports it
            self.problem = str(error)

    def wait_ready(self) -> "WarmServer":
        if self.process is None:
            raise RuntimeError(self.problem or "the warm kernel server was not launched")
        deadline, line = time.monotonic() + START_TIMEOUT, b""
        while time.monotonic() < deadline and self.process.poll() is None:
            if select.select([self.process.stdout], [], [], 1.0)[0]:
                line = self.process.stdout.readline()
                break
        self.process.stdout.close()
        if line.strip() != b"ready":
            self.stop()
            raise RuntimeError("the warm kernel server did not start (its error is on stderr)")
        return self

    def ready_socket(self) -> Path | None:
        """The socket, waiting the first time until the server is ready (any thread may ask); None
        when it could not start (``problem`` says why), and kernels then start cold."""
        with self._lock:
            if self._ready is None:
                try:
                    self.wait_ready()
                    self._ready = True
                except RuntimeError as error:
                    self._ready, self.problem = False, str(error)
            return self.socket if self._ready else None

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()  # bubblewrap takes every kernel still running with it
            self.process.wait()
        shutil.rmtree(self.folder, ignore_errors=True)

    def __enter__(self) -> "WarmServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def relay_command(server_socket: Path, scratch: Path, args: list[str], env: dict[str, str], limits: Limits,
                  cold: list[str]) -> list[str]:
    """The command that starts a kernel (``ipykernel_launcher`` with ``args``) through the warm server,
    or runs ``cold`` when the server is not there."""
    request = {"scratch": str(Path(scratch).resolve()), "args": args, "env": env,
               "memory_bytes": limits.memory_bytes, "processes": process_limit(limits),
               "file_bytes": limits.file_bytes, "cpu_seconds": limits.cpu_seconds}
    return [sys.executable, "-S", "-c", RELAY, str(server_socket), json.dumps(request), json.dumps(cold)]
