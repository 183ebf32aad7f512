"""From lists of indices to tensors: padding, packing, and language-model batches.
Chapter 1 (padding, packing) and Chapter 2 (language-model batches).
"""
from __future__ import annotations

from collections.abc import Iterator, Sequence

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence


def pad_batch(sequences: Sequence[Sequence[int]], pad_index: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Pad to the longest sequence. Returns ``(padded [B, T_max] long, lengths [B] long)``."""
    lengths = torch.tensor([len(s) for s in sequences], dtype=torch.long)
    longest = int(lengths.max()) if len(sequences) else 0
    padded = torch.full((len(sequences), longest), pad_index, dtype=torch.long)
    for row, seq in enumerate(sequences):
        padded[row, : len(seq)] = torch.as_tensor(list(seq), dtype=torch.long)
    return padded, lengths


def run_packed(rnn: nn.RNNBase, inputs: torch.Tensor, lengths: torch.Tensor):
    """Run a batch-first RNN over padded ``inputs [B, T, D]`` so that padding is never read.

    Returns ``(outputs [B, T_max, H*dirs], h_n)`` in the batch's original order; outputs are zero
    at padded positions, and ``h_n`` holds each sequence's state after its own last real token.
    """
    packed = pack_padded_sequence(inputs, lengths.cpu(), batch_first=True, enforce_sorted=False)
    packed_out, h_n = rnn(packed)
    outputs, _ = pad_packed_sequence(packed_out, batch_first=True, total_length=inputs.size(1))
    return outputs, h_n


def batchify(stream: torch.Tensor, batch_size: int) -> torch.Tensor:
    """Cut one long token stream into ``batch_size`` contiguous rows: ``[batch_size, L]``.

    Row ``b`` is the ``b``-th consecutive piece of the stream; the tail that does not fill a
    whole column is dropped.
    """
    length = stream.numel() // batch_size
    return stream[: length * batch_size].reshape(batch_size, length)


def lm_chunk(data: torch.Tensor, start: int, bptt: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Inputs and next-token targets for the chunk starting at column ``start``.

    ``x = data[:, start:start+n]`` and ``y = data[:, start+1:start+1+n]`` with
    ``n = min(bptt, L - 1 - start)``: the last chunk is shorter.
    """
    n = min(bptt, data.size(1) - 1 - start)
    return data[:, start : start + n], data[:, start + 1 : start + 1 + n]


def lm_chunks(data: torch.Tensor, bptt: int) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """Every ``(x, y)`` chunk of a batchified stream, left to right."""
    for start in range(0, data.size(1) - 1, bptt):
        yield lm_chunk(data, start, bptt)
