"""Seeded inputs and stand-in models that several notebook tests share: random weights for a
reference module, and toy language models whose outputs are known in advance.

Used by the visible and hidden tests of Assignments 2 and 3 (and later ones).
"""
from __future__ import annotations

import torch
from torch import nn


def randomize_(module: nn.Module, generator: torch.Generator, scale: float = 1.0) -> nn.Module:
    """Overwrite every parameter of ``module`` with ``scale * N(0, 1)`` drawn from ``generator``, in
    parameter order (so a seeded test sees the same weights every run). Returns the module."""
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(torch.randn(p.shape, generator=generator, dtype=p.dtype) * scale)
    return module


class BigramLM(nn.Module):
    """Next-token logits depend only on the previous token: ``logits = table[x]``; the hidden state
    is passed through untouched."""

    def __init__(self, table: torch.Tensor):
        super().__init__()
        self.table = nn.Parameter(table)

    def forward(self, x, hidden=None):
        return self.table[x], hidden


class CountingLM(nn.Module):
    """A stand-in whose state counts the tokens read so far: after reading n tokens it strongly
    predicts token ``(n + shift) mod vocab_size``, so what it generates depends on how much of the
    prime went through the model, not only on the prime's last token."""

    def __init__(self, vocab_size: int, shift: int = 0, margin: float = 60.0):
        super().__init__()
        self.vocab_size, self.shift, self.margin = vocab_size, shift, margin
        self.dummy = nn.Parameter(torch.zeros(1))

    def forward(self, x, hidden=None):
        start = torch.zeros(x.shape[0], dtype=torch.long) if hidden is None else hidden
        n = start[:, None] + torch.arange(1, x.shape[1] + 1)
        logits = nn.functional.one_hot((n + self.shift) % self.vocab_size, self.vocab_size).float() * self.margin
        return logits + self.dummy, n[:, -1]
