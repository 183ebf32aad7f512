"""The warm-kernel server: runs inside the grader's bubblewrap sandbox with torch and matplotlib
already imported, and forks one fresh, isolated kernel per request (see ``warm``).

    python -m rnnbook.grading.zygote RUNS_ROOT SOCKET

Each request (one JSON line on SOCKET, with the requester's stdin/stdout/stderr passed along) gets
a child that enters new user, mount, PID, network and IPC namespaces, hides RUNS_ROOT (every
student's folder) behind an empty read-only tmpfs except its own scratch folder, gets a private
/tmp, and forks the kernel: PID 1 of its own namespace, with a fresh /proc, the rlimits, no
capabilities and no way to gain any. The child then relays interrupts to the kernel and reports
its exit status; when the requester goes away it kills the kernel, and with it the namespace.
This process is made undumpable so no kernel can read or write its memory through /proc.
"""
from __future__ import annotations

import ctypes
import json
import os
import resource
import select
import signal
import socket
import sys
import traceback
from pathlib import Path

from .sandbox import TMP_BYTES, readonly_roots

SHM_BYTES = 256 << 20  # each kernel's /dev/shm (torch's shared tensors, multiprocessing locks)

# Linux constants (not all in Python 3.11's os module).
CLONE_NEWNS, CLONE_NEWIPC, CLONE_NEWUSER = 0x00020000, 0x08000000, 0x10000000
CLONE_NEWPID, CLONE_NEWNET = 0x20000000, 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 32, 4096, 16384, 1 << 18
MNT_DETACH = 2
PR_SET_PDEATHSIG, PR_SET_DUMPABLE, PR_CAPBSET_DROP, PR_SET_NO_NEW_PRIVS = 1, 4, 24, 38
LINUX_CAPABILITY_VERSION_3 = 0x20080522

STASH = "/.stash"  # an empty directory bubblewrap creates: the scratch folder waits here while RUNS_ROOT is hidden
HOST_PROC = "/.hostproc"  # a fully visible proc, which the kernel needs to mount its own /proc
MATPLOTLIB_DIR = "/tmp/.matplotlib"  # matplotlib's config/cache folder, decided at import time

_libc = ctypes.CDLL(None, use_errno=True)


def _check(result: int, what: str) -> None:
    if result != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"{what}: {os.strerror(errno)}")


def _mount(source: str | None, target: str, fstype: str | None, flags: int, data: str | None = None) -> None:
    enc = (lambda s: s.encode() if s is not None else None)
    _check(_libc.mount(enc(source), enc(target), enc(fstype), ctypes.c_ulong(flags), enc(data)), f"mount {target}")


def preload() -> None:
    """What every kernel would import first: done once here instead of once per submission."""
    os.environ.setdefault("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    os.environ["MPLCONFIGDIR"] = MATPLOTLIB_DIR
    import IPython  # noqa: F401
    import ipykernel.kernelapp  # noqa: F401
    import matplotlib.pyplot  # noqa: F401  (builds the font cache once; no figure, so no backend yet)
    import numpy  # noqa: F401
    import torch  # noqa: F401
    import rnnbook.data.batching, rnnbook.data.datasets, rnnbook.data.parallel, rnnbook.data.vocab  # noqa: F401,E401
    import rnnbook.decoding, rnnbook.metrics, rnnbook.plotting, rnnbook.utils  # noqa: F401,E401
    import rnnbook.models.attention, rnnbook.models.rnn, rnnbook.models.seq2seq  # noqa: F401,E401
    import rnnbook.train.lm, rnnbook.train.translation  # noqa: F401,E401
    # Not rnnbook.testing: its tamper guard records originals at import, after IPython set up builtins.


def isolate(scratch: Path, runs_root: Path) -> None:
    """Enter new namespaces in which ``runs_root`` shows nothing but ``scratch``, and /tmp is private."""
    uid, gid = os.getuid(), os.getgid()
    _check(_libc.unshare(CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC), "unshare")
    Path("/proc/self/setgroups").write_text("deny")
    Path("/proc/self/uid_map").write_text(f"{uid} {uid} 1")
    Path("/proc/self/gid_map").write_text(f"{gid} {gid} 1")
    _mount(None, "/", None, MS_REC | MS_PRIVATE)
    _mount(str(scratch), STASH, None, MS_BIND)
    # What the kernel reads (Python, packages, data) may lie under /tmp (a checkout there with its
    # virtual environment): hold on to those folders and put them back on the private /tmp.
    kept = [(root, os.open(root, os.O_PATH)) for root in map(str, readonly_roots()) if root.startswith("/tmp/")]
    _mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, f"mode=1777,size={TMP_BYTES}")
    for root, fd in kept:
        os.makedirs(root, exist_ok=True)
        _mount(f"/proc/self/fd/{fd}", root, None, MS_BIND | MS_REC)
        _mount(None, root, None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV)
        os.close(fd)
    # The server's /dev is one tmpfs for all its kernels: each gets its own /dev/shm, the rest read-only.
    _mount("tmpfs", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, f"mode=1777,size={SHM_BYTES}")
    _mount(None, "/dev", None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV)
    runs_root.mkdir(parents=True, exist_ok=True)  # gone if it lay under /tmp: the mount point again
    _mount("tmpfs", str(runs_root), "tmpfs", MS_NOSUID | MS_NODEV, "mode=755,size=64k")
    scratch.mkdir(parents=True)
    _mount(STASH, str(scratch), None, MS_BIND)
    _check(_libc.umount2(STASH.encode(), MNT_DETACH), "umount stash")
    _mount(None, str(runs_root), None, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV)
    _mount("tmpfs", HOST_PROC, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=4k,mode=0")
    Path(MATPLOTLIB_DIR).mkdir()


def drop_privileges() -> None:
    """No capabilities (so the mounts above cannot be undone), and none to be gained by exec."""
    for cap in range(64):
        _libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0)  # fails harmlessly past the last capability

    class Header(ctypes.Structure):
        _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]

    class Data(ctypes.Structure):
        _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32), ("inheritable", ctypes.c_uint32)]

    _check(_libc.capset(ctypes.byref(Header(LINUX_CAPABILITY_VERSION_3, 0)), (Data * 2)()), "capset")
    _check(_libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "no_new_privs")
    _check(_libc.prctl(PR_SET_DUMPABLE, 1, 0, 0, 0), "dumpable")  # its own /proc/self, as usual


def become_kernel(request: dict, stdio: list[int]) -> None:
    """In the kernel's own PID namespace (we are PID 1): finish the sandbox, then run ipykernel."""
    _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    _mount("proc", "/proc", "proc", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC)
    for target, fd in enumerate(stdio):
        os.dup2(fd, target)
        os.close(fd)
    for name, value in ((resource.RLIMIT_AS, request["memory_bytes"]), (resource.RLIMIT_NPROC, request["processes"]),
                        (resource.RLIMIT_FSIZE, request["file_bytes"]), (resource.RLIMIT_CPU, request["cpu_seconds"]),
                        (resource.RLIMIT_CORE, 0)):
        hard = resource.getrlimit(name)[1]
        value = value if hard == resource.RLIM_INFINITY else min(value, hard)
        resource.setrlimit(name, (value, value))
    drop_privileges()
    os.setsid()
    os.chdir(request["scratch"])
    # `python -m` put the server's folder first on sys.path; ipykernel_launcher drops it, as here, and
    # IPython adds the working folder back.
    sys.path = [entry for entry in sys.path if entry not in ("", os.path.dirname(os.path.dirname(request["scratch"])))]
    os.environ.clear()
    os.environ.update(request["env"], MPLCONFIGDIR=MATPLOTLIB_DIR)
    if request.get("probe"):
        return
    sys.argv = ["ipykernel_launcher", *request["args"]]
    from ipykernel import kernelapp
    kernelapp.launch_new_instance()


def _exit_code(status: int) -> int:
    code = os.waitstatus_to_exitcode(status)
    return code if code >= 0 else 128 - code


def serve_one(conn: socket.socket, runs_root: Path) -> int:
    """The child for one request: isolate, fork the kernel, relay signals, report its exit."""
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    message, stdio, _, _ = socket.recv_fds(conn, 1 << 20, 3)
    request = json.loads(message)
    scratch = Path(os.path.normpath(request["scratch"]))
    if scratch.parent.parent != runs_root or scratch.name != "scratch":
        raise ValueError(f"{scratch} is not a folder <runs>/<student>/scratch of {runs_root}")
    isolate(scratch, runs_root)
    pid = os.fork()
    if pid == 0:
        code = 0
        try:
            conn.close()
            become_kernel(request, stdio)
        except BaseException:  # noqa: BLE001 - report anything, then leave without our cleanup
            traceback.print_exc()
            code = 1
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)
    for fd in stdio:
        os.close(fd)
    kernel = os.pidfd_open(pid)
    while True:
        ready, _, _ = select.select([conn, kernel], [], [])
        if kernel in ready:
            _, status = os.waitpid(pid, 0)
            conn.sendall(f"exit {_exit_code(status)}\n".encode())
            return 0
        data = conn.recv(64)
        for line in data.split(b"\n"):
            if line == b"int":
                os.kill(pid, signal.SIGINT)
        if not data or b"kill" in data:  # the requester is gone, or asked: end the whole namespace
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            return 0


def _fork_for(conn: socket.socket, listener: socket.socket, runs_root: Path) -> None:
    try:
        pid = os.fork()
    except OSError as error:  # e.g. out of processes while a neighbour's fork bomb runs
        conn.sendall(f"failed {error}\n".encode())
        return
    if pid == 0:
        code = 1
        try:
            listener.close()
            code = serve_one(conn, runs_root)
        except BaseException as error:  # noqa: BLE001 - no kernel was started: the relay starts it cold
            traceback.print_exc()
            try:
                conn.sendall(f"failed {type(error).__name__}: {error}\n".encode())
            except OSError:
                pass
        finally:
            os._exit(code)


def probe(runs_root: Path, folder: Path) -> None:
    """Check once, before saying ready, that a child can really be isolated here."""
    scratch = folder / "scratch"
    scratch.mkdir(exist_ok=True)
    ours, theirs = socket.socketpair()
    request = {"scratch": str(scratch), "probe": True, "env": {}, "args": [], "memory_bytes": 1 << 40,
               "processes": 1 << 20, "file_bytes": 1 << 30, "cpu_seconds": 60}
    pid = os.fork()
    if pid == 0:
        ours.close()
        os._exit(serve_one(theirs, runs_root))
    theirs.close()
    socket.send_fds(ours, [json.dumps(request).encode()], [0, 2, 2])
    reply = ours.recv(64).decode().strip()
    os.waitpid(pid, 0)
    if reply != "exit 0":
        raise RuntimeError(f"a test kernel could not be isolated ({reply or 'no reply'})")


def main(argv: list[str]) -> int:
    runs_root, socket_path = Path(argv[0]), Path(argv[1])
    preload()
    probe(runs_root, socket_path.parent)
    _check(_libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0), "undumpable")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(socket_path))
    listener.listen(16)
    listener.settimeout(2.0)
    print("ready", flush=True)
    os.dup2(2, 1)  # nobody reads our stdout after this line
    while True:
        try:
            conn, _ = listener.accept()
        except TimeoutError:
            conn = None
        while True:  # reap finished children
            try:
                if os.waitpid(-1, os.WNOHANG)[0] == 0:
                    break
            except ChildProcessError:
                break
        if conn is not None:
            conn.settimeout(None)
            _fork_for(conn, listener, runs_root)
            conn.close()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
