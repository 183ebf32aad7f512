"""Context managers that hidden tests wrap around a learner's call, so a graded piece cannot hand its
work to the library: PyTorch's recurrent modules and the fused kernels behind them raise inside.

Used by the hidden tests of Assignments 3-5 (cells, encoders, decoders).
"""
from __future__ import annotations

import contextlib
from unittest import mock

import torch
from torch import nn

from . import checks

FUSED_KERNELS = ("lstm_cell", "gru_cell", "rnn_tanh_cell", "rnn_relu_cell", "lstm", "gru", "rnn_tanh", "rnn_relu")


@contextlib.contextmanager
def no_library_rnns(reason: str = "write the computation yourself"):
    """``nn.RNN/GRU/LSTM`` (and their cells) raise, and so do the fused ``torch``/``torch._VF`` kernels."""
    with contextlib.ExitStack() as stack:
        stack.enter_context(checks.forbid(nn.LSTMCell, nn.GRUCell, nn.RNNCell, nn.LSTM, nn.GRU, nn.RNN,
                                          nn.RNNBase, nn.modules.rnn.RNNCellBase, reason=reason))
        for holder in (torch, torch._VF):
            for name in FUSED_KERNELS:
                if hasattr(holder, name):
                    stack.enter_context(mock.patch.object(
                        holder, name, side_effect=checks.ForbiddenCallError(
                            f"your code called torch.{name}: {reason}.")))
        yield


class ModelSpy(nn.Module):
    """Wraps a language model ``(x, hidden) -> (logits, hidden)`` and records each call in ``calls``:
    the state it received (``in``: the first tensor of a tuple state, or None), whether that state was
    still ``attached`` to a graph, whether gradients were enabled (``grad_enabled``), and the state
    it handed on (``out``). Used by A2's tests of ``train_epoch`` and ``evaluate_perplexity``."""

    def __init__(self, inner: nn.Module):
        super().__init__()
        self.inner, self.calls = inner, []

    def forward(self, x, hidden=None):
        first = hidden[0] if isinstance(hidden, tuple) else hidden
        record = {"in": None if first is None else first.detach().clone(),
                  "attached": first is not None and first.grad_fn is not None,
                  "grad_enabled": torch.is_grad_enabled()}
        logits, new = self.inner(x, hidden)
        record["out"] = (new[0] if isinstance(new, tuple) else new).detach().clone()
        self.calls.append(record)
        return logits, new

    def init_hidden(self, batch_size, device=None):
        return self.inner.init_hidden(batch_size, device)


class GradNormSGD(torch.optim.SGD):
    """Plain SGD that records the total gradient norm it sees at each ``step()`` in ``norms``
    (so a test can tell whether the gradients were clipped before the step)."""

    def __init__(self, params, lr: float):
        self._params = list(params)
        super().__init__(self._params, lr=lr)
        self.norms: list[float] = []

    def step(self, closure=None):
        grads = [p.grad.norm() for p in self._params if p.grad is not None]
        self.norms.append(float(torch.stack(grads).norm()))
        return super().step(closure)
