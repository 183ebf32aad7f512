"""Generating text: sampling from a language model with a temperature (Chapters 2-3; Assignment 2 writes
its own), and greedy search for encoder-decoders through ``step(tokens, state)`` (Chapters 4-7).
"""
from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F
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


def _batch_size(state) -> torch.Tensor:
    """The first tensor of a decoding state (a tensor or a tuple of them; dimension 0 is the batch)."""
    return state if isinstance(state, torch.Tensor) else state[0]


@torch.no_grad()
def greedy_search(step: Callable, state, sos: int, eos: int, max_len: int) -> list[list[int]]:
    """Batched greedy decoding: each row starts from ``sos`` and takes the arg-max token at every step.

    ``step(tokens [N] long, state) -> (scores [N, V], state)`` (logits or log-probabilities: the
    arg-max is the same). A row stops at its first ``eos``; all stop after ``max_len`` steps. Returns
    one list of token ids per row, without ``sos`` and ``eos``.
    """
    first = _batch_size(state)
    n = first.size(0)
    tokens = torch.full((n,), sos, dtype=torch.long, device=first.device)
    done = torch.zeros(n, dtype=torch.bool, device=first.device)
    out: list[list[int]] = [[] for _ in range(n)]
    for _ in range(max_len):
        scores, state = step(tokens, state)
        tokens = scores.argmax(dim=-1)
        for row in (~done & (tokens != eos)).nonzero().flatten().tolist():
            out[row].append(int(tokens[row]))
        done |= tokens == eos
        if bool(done.all()):
            break
    return out


def model_step(model: nn.Module) -> Callable:
    """A model's ``decode_step`` as ``step(tokens, state) -> (log_softmax(logits), state)``."""
    def step(tokens, state):
        logits, state = model.decode_step(tokens, state)
        return F.log_softmax(logits, dim=-1), state
    return step
