"""Test helpers for translation models: random padded batches, a spy on the tokens a decoder is fed,
and the binomial bound for checking a teacher-forcing ratio. Used by Assignment 4's hidden tests.
"""
from __future__ import annotations

import contextlib
import math

import torch


def random_batch(gen: torch.Generator, batch: int, vocab: int, max_len: int, pad_index: int = 0,
                 extra_pad: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
    """``(tokens [B, max_len + extra_pad], lengths [B])``: lengths in 1..max_len in random order, real
    tokens drawn from ``vocab`` excluding ``pad_index``, padding after each sentence's end."""
    lengths = torch.randint(1, max_len + 1, (batch,), generator=gen)
    lengths[int(torch.randint(0, batch, (1,), generator=gen))] = max_len
    tokens = torch.randint(0, vocab - 1, (batch, max_len + extra_pad), generator=gen)
    tokens = tokens + (tokens >= pad_index).long()  # skip the padding index
    return fill_padding(tokens, lengths, pad_index), lengths


def fill_padding(tokens: torch.Tensor, lengths: torch.Tensor, value: int) -> torch.Tensor:
    """A copy of ``tokens`` with every position at or after a row's length set to ``value``."""
    padded = torch.arange(tokens.size(1))[None, :] >= lengths[:, None]
    return tokens.masked_fill(padded, value)


@contextlib.contextmanager
def record_step_inputs(decoder):
    """Wrap ``decoder.step`` so every call's ``prev_tokens`` is appended to the yielded list."""
    fed: list[torch.Tensor] = []
    original = decoder.step

    def step(prev_tokens, hidden):
        fed.append(prev_tokens.detach().clone())
        return original(prev_tokens, hidden)

    decoder.step = step
    try:
        yield fed
    finally:
        del decoder.step  # back to the class's method


def binomial_bound(n: int, p: float, sigmas: float = 5.0) -> float:
    """How far a fraction of ``n`` Bernoulli(p) draws may stray from ``p`` (``sigmas`` standard deviations)."""
    return sigmas * math.sqrt(max(p * (1 - p), 1e-12) / n) + 1e-12
