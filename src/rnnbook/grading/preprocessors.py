"""nbgrader preprocessors that make autograding robust and feedback safe to hand out."""
from __future__ import annotations

import asyncio
import copy

from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbclient.util import ensure_async, run_sync
from nbformat import NotebookNode
from nbgrader import utils as nbutils
from nbgrader.preprocessors import ClearHiddenTests, Execute, NbGraderPreprocessor
from traitlets import Bool, Int, Unicode

from .cells import HIDDEN_BEGIN
from .sandbox import Limits, SandboxedKernelManager



def error_output(ename: str, evalue: str) -> NotebookNode:
    return NotebookNode(output_type="error", ename=ename, evalue=evalue, traceback=[f"{ename}: {evalue}"])


class GuardedExecute(Execute):
    """Execute, but a runaway or crashing cell costs only that cell.

    A cell that runs past the timeout (even one that swallows KeyboardInterrupt) or kills its
    kernel is recorded as an error; the kernel is killed and a new one started, every earlier cell
    that worked is replayed silently so later cells find their definitions, and execution goes on.

    With ``scratch_dir`` set, each kernel runs in the sandbox (see ``sandbox``) with that folder as
    its only writable place; a cell's output is cut at ``max_output_bytes``.
    """

    scratch_dir = Unicode("", help="the kernel's scratch folder; empty: run the kernel unsandboxed").tag(config=True)
    use_bwrap = Bool(True, help="run the kernel inside bubblewrap (else rlimits only)").tag(config=True)
    warm_socket = Unicode("", help="a warm kernel server's socket (see warm): fork kernels from it; "
                                   "empty: start each kernel cold").tag(config=True)
    max_output_bytes = Int(200_000, help="bytes of output kept per cell").tag(config=True)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.scratch_dir:
            self.kernel_manager_class = SandboxedKernelManager
        self._output_bytes: dict[int, int] = {}
        self.interrupt_on_timeout = False  # interrupts can be swallowed; we kill and replay instead
        self._ok_cells: list[int] = []
        self._output_pollers: set[asyncio.Task] = set()

    async def _async_poll_output_msg(self, parent_msg_id, cell, cell_index):
        # nbclient leaves this task running after a timeout; once the kernel is replaced it would
        # steal the new kernel's messages. Keep track of it so it can be cancelled.
        task = asyncio.current_task()
        self._output_pollers.add(task)
        try:
            return await super()._async_poll_output_msg(parent_msg_id, cell, cell_index)
        finally:
            self._output_pollers.discard(task)

    async def async_execute_cell(self, cell, cell_index, execution_count=None, store_history=True):
        try:
            result = await super().async_execute_cell(cell, cell_index, execution_count, store_history)
        except CellTimeoutError:
            cell.outputs = [error_output(
                "CellTimeoutError",
                f"this cell ran longer than {self.timeout} s and was stopped; the cells after it "
                "were still run. Look for an endless loop or for training that is too long.",
            )]
        except DeadKernelError:
            cell.outputs = [error_output(
                "KernelDied",
                "the Python process died while running this cell (exit(), os._exit(), a crash or "
                "running out of memory); the cells after it were still run.",
            )]
        else:
            if cell.cell_type == "code" and not any(o.output_type == "error" for o in cell.outputs):
                self._ok_cells.append(cell_index)
            return result
        await self._restart_and_replay()
        return cell

    def create_kernel_manager(self):
        km = super().create_kernel_manager()
        if self.scratch_dir:
            km.prepare(self.scratch_dir, Limits(), self.use_bwrap, self.warm_socket or None)
        return km

    def output(self, outs, msg, display_id, cell_index):
        """Keep at most ``max_output_bytes`` of a cell's output (a flood of lines, or one 100 MB line)."""
        if msg["msg_type"] == "error":  # always kept, or a flood could hide a failing test
            out = super().output(outs, msg, display_id, cell_index)
            if out is not None:
                limit = self.max_output_bytes // 10
                out.evalue = out.evalue[:limit]
                out.traceback = [line[:limit] for line in out.traceback[-20:]]
            return out
        used = self._output_bytes.get(cell_index, 0)
        if used > self.max_output_bytes:
            return None
        content = msg.get("content", {})
        size = len(content.get("text", "")) + sum(len(str(v)) for v in content.get("data", {}).values())
        size += sum(len(line) for line in content.get("traceback", []))
        self._output_bytes[cell_index] = used + size
        if used + size <= self.max_output_bytes:
            return super().output(outs, msg, display_id, cell_index)
        self._output_bytes[cell_index] = self.max_output_bytes + 1
        note = f"\n... output cut: this cell printed more than {self.max_output_bytes} bytes\n"
        if msg["msg_type"] == "stream":
            outs.append(NotebookNode(output_type="stream", name="stdout",
                                     text=content.get("text", "")[: self.max_output_bytes - used] + note))
        else:
            outs.append(NotebookNode(output_type="stream", name="stdout", text=note))
        return None

    # nbclient binds the sync wrapper to its own coroutine at class creation: rebind it to ours.
    execute_cell = run_sync(async_execute_cell)

    async def _fresh_kernel(self) -> None:
        """Kill the kernel (it may ignore interrupts) and connect a new client to a new one."""
        pollers = list(self._output_pollers)
        for task in pollers:
            task.cancel()
        await asyncio.gather(*pollers, return_exceptions=True)  # let them let go of the sockets
        if self.kc is not None:
            await ensure_async(self.kc.stop_channels())
            self.kc = None
        await ensure_async(self.km.shutdown_kernel(now=True))
        self.km = self.create_kernel_manager()  # the old manager's sockets are gone with the kernel
        await self.async_start_new_kernel()
        await self.async_start_new_kernel_client()

    async def _restart_and_replay(self) -> None:
        """A fresh kernel with every earlier cell that worked replayed. A cell that fails on replay,
        or ends its kernel on the way out (`exit()` after a definition "succeeds"; a probe after each
        cell finds it), is dropped and the replay starts again without it."""
        cells = list(self._ok_cells)
        while True:
            await self._fresh_kernel()
            for index in cells:
                original = self.nb.cells[index]  # nbclient stores whatever it ran at this index
                try:
                    await super().async_execute_cell(copy.deepcopy(original), index, store_history=False)
                    await super().async_execute_cell(NotebookNode(cell_type="code", source="pass", metadata={},
                                                                  outputs=[]), index, store_history=False)
                except (CellTimeoutError, DeadKernelError):
                    cells.remove(index)
                    break
                finally:
                    self.nb.cells[index] = original
            else:
                self._ok_cells = cells
                return


class StderrToStdoutInTests(NbGraderPreprocessor):
    """nbgrader scores a test cell that wrote to stderr as failed; a library warning (torch
    deprecations, ...) must not zero a correct answer, so test cells' stderr becomes stdout."""

    def preprocess_cell(self, cell, resources, cell_index):
        if nbutils.is_grade(cell) and not nbutils.is_solution(cell) and cell.cell_type == "code":
            for output in cell.outputs:
                if output.output_type == "stream" and output.name == "stderr":
                    output.name = "stdout"
        return cell, resources


class HideHiddenTests(NbGraderPreprocessor):
    """For feedback: remove hidden test code from test cells and cut their tracebacks down to the
    exception's name and message, so no hidden source leaks through an error."""

    def preprocess(self, nb, resources):
        self._clear = ClearHiddenTests(enforce_metadata=False)
        return super().preprocess(nb, resources)

    def preprocess_cell(self, cell, resources, cell_index):
        if cell.cell_type == "code" and HIDDEN_BEGIN in cell.source:
            self._clear._remove_hidden_test_region(cell)
            cell.source = cell.source.rstrip() + "\n# (hidden tests ran here; their code is not shown)"
            for output in cell.outputs:
                if output.output_type == "error":
                    output.traceback = [f"{output.ename}: {output.evalue}"]
        return cell, resources
