"""Generating text from a language model: greedy decoding and sampling with a temperature.
Chapter 2 (temperature) and Chapter 3 (samples); Assignment 2 writes its own.
"""
from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn


def next_token_distribution(logits: torch.Tensor, temperature: float) -> torch.Tensor:
    """``softmax(logits / temperature)`` over the last dimension.

    ``temperature = 1`` is the model's own distribution; below 1 it sharpens, above 1 it flattens;
    ``0`` is the limit, all mass on the arg-max (ties go to the first one).
    """
    if temperature < 0:
        raise ValueError(f"temperature must be >= 0, not {temperature}")
    if temperature == 0:
        greedy = torch.zeros_like(logits)
        return greedy.scatter_(-1, logits.argmax(dim=-1, keepdim=True), 1.0)
    return torch.softmax(logits / temperature, dim=-1)


@torch.no_grad()
def sample(model: nn.Module, prime: Sequence[int], max_len: int, temperature: float = 1.0,
           eos_index: int | None = None, generator: torch.Generator | None = None) -> list[int]:
    """Continue ``prime`` (at least one index) by up to ``max_len`` tokens; return the new tokens only.

    The prime is read in one call; then each drawn token is fed back with the carried hidden state.
    Generation stops after ``eos_index`` is produced (it is included) or after ``max_len`` tokens.
    ``temperature = 0`` picks the arg-max (greedy); otherwise one ``torch.multinomial`` draw per step
    from ``next_token_distribution``, using ``generator`` if given.
    """
    if len(prime) == 0:
        raise ValueError("prime needs at least one token (for example <eos> or <sos>)")
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    x = torch.tensor([list(prime)], dtype=torch.long, device=device)
    logits, hidden = model(x)
    out: list[int] = []
    for _ in range(max_len):
        last = logits[0, -1]
        if temperature == 0:
            token = int(last.argmax())
        else:
            probs = next_token_distribution(last.float(), temperature)
            token = int(torch.multinomial(probs.cpu(), 1, generator=generator))
        out.append(token)
        if eos_index is not None and token == eos_index:
            break
        logits, hidden = model(torch.tensor([[token]], device=device), hidden)
    model.train(was_training)
    return out
