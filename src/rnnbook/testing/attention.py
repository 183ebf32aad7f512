"""What Assignment 5's hidden tests share: padded random batches, a guard that switches off the package's
attention (and PyTorch's fused attention) during a learner's call, and a one-layer view of the package's
decoders that speaks the assignment's ``step(prev_tokens, hidden [B, H], memory, mask)`` interface.
"""
from __future__ import annotations

import contextlib
from unittest import mock

import torch
from torch import nn

from ..models import attention as reference
from . import checks


def lengths_mask(lengths, max_len: int) -> torch.Tensor:
    """``[B, max_len]`` bool mask, True at the first ``lengths[b]`` positions of row ``b``."""
    return torch.arange(max_len)[None, :] < torch.as_tensor(lengths)[:, None]


def random_lengths(gen: torch.Generator, batch: int, max_len: int) -> torch.Tensor:
    """Lengths in ``1..max_len`` with the longest row always full (as in a padded batch)."""
    lengths = torch.randint(1, max_len + 1, (batch,), generator=gen)
    lengths[int(torch.randint(0, batch, (1,), generator=gen))] = max_len
    return lengths


def scramble_padding(tensor: torch.Tensor, mask: torch.Tensor, gen: torch.Generator, scale: float = 100.0):
    """A copy of ``tensor [B, S, ...]`` with large random values at the padded positions."""
    out = tensor.clone()
    noise = torch.randn(out.shape, generator=gen, dtype=out.dtype) * scale
    out[~mask] = noise[~mask]
    return out


@contextlib.contextmanager
def no_reference_attention(reason: str = "this part asks you to write it yourself"):
    """The package's attention code, ``nn.MultiheadAttention`` and ``F.scaled_dot_product_attention`` raise."""
    with contextlib.ExitStack() as stack:
        stack.enter_context(checks.forbid(reference.masked_softmax, reference.make_attention, reference.Attention,
                                          reference.DotAttention, reference.GeneralAttention,
                                          reference.ConcatAttention, reference.LuongDecoder,
                                          reference.BahdanauDecoder, nn.MultiheadAttention, reason=reason))
        stack.enter_context(mock.patch.object(
            torch.nn.functional, "scaled_dot_product_attention",
            side_effect=checks.ForbiddenCallError(f"your code called scaled_dot_product_attention: {reason}.")))
        yield


@contextlib.contextmanager
def no_reference_decoders(reason: str = "write the decoder step yourself"):
    """The package's decoders raise (the attention module a decoder is given stays usable)."""
    with checks.forbid(reference.LuongDecoder, reference.BahdanauDecoder, reason=reason):
        yield


class OneLayerStep(nn.Module):
    """A package decoder (one layer, no input feeding) seen through the assignment's interface:
    ``step(prev_tokens [B], hidden [B, H], memory, mask) -> (logits, hidden [B, H], weights)``."""

    def __init__(self, decoder: nn.Module):
        super().__init__()
        self.decoder = decoder

    def step(self, prev_tokens, hidden, memory, mask):
        state = self.decoder.init_state(hidden.unsqueeze(0))
        logits, state, weights = self.decoder.step(prev_tokens, state, memory, mask)
        return logits, state[0][0], weights


def gru_cell_weights(rnn: nn.GRU) -> dict[str, torch.Tensor]:
    """The one-layer ``nn.GRU``'s weights under ``nn.GRUCell``'s names."""
    return {name: getattr(rnn, f"{name}_l0") for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")}


def copy_into_assignment_decoder(mine: nn.Module, ref: nn.Module) -> None:
    """Copy a package decoder's weights (one layer) into the assignment's decoder (``cell`` is a GRUCell)."""
    with torch.no_grad():
        mine.embedding.weight.copy_(ref.embedding.weight)
        for name, value in gru_cell_weights(ref.rnn).items():
            getattr(mine.cell, name).copy_(value)
        for name in ("W_c", "out"):
            if hasattr(ref, name):
                getattr(mine, name).load_state_dict(getattr(ref, name).state_dict())
