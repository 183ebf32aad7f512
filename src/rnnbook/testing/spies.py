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
