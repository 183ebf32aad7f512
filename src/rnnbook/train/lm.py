"""Training a recurrent language model with truncated backpropagation through time.

Vocabulary-agnostic: ``data`` is a batchified token stream ``[B, L]`` (see
``rnnbook.data.batching.batchify``) of word or character indices, and the model is any module with
``forward(x [B, T], hidden) -> (logits [B, T, V], hidden)`` (``rnnbook.models.rnn.RNNLanguageModel``).
"""
from __future__ import annotations

import math
import time
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from ..data.batching import lm_chunks
from ..utils import progress
from .loop import History, make_optimizer, run_epochs  # noqa: F401  (History: fit's return type)


def detach_hidden(hidden):
    """Cut the graph behind a hidden state (a tensor, a tuple/list of them, or ``None``).

    The values are kept, so the next chunk starts where this one ended, but backpropagation stops
    here: without it, every chunk's graph hangs on to all earlier chunks.
    """
    if hidden is None:
        return None
    if isinstance(hidden, torch.Tensor):
        return hidden.detach()
    return type(hidden)(detach_hidden(h) for h in hidden)


def _device_of(model: nn.Module, device) -> torch.device:
    if device is not None:
        return torch.device(device)
    try:
        return next(model.parameters()).device
    except StopIteration:
        return torch.device("cpu")


def _start_hidden(model: nn.Module, batch_size: int, device):
    init = getattr(model, "init_hidden", None)
    return init(batch_size, device) if callable(init) else None


def _token_loss_sum(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    return F.cross_entropy(logits.reshape(-1, logits.size(-1)), targets.reshape(-1), reduction="sum")


def train_epoch(model: nn.Module, data: torch.Tensor, bptt: int, optimizer: torch.optim.Optimizer,
                clip: float | None = None, device=None, *, deadline: float | None = None,
                show_progress: bool = False) -> float:
    """One pass over ``data [B, L]`` in chunks of ``bptt`` steps; returns the mean loss per token.

    The hidden state starts at ``model.init_hidden(B)`` (or ``None``), is carried from chunk to
    chunk and detached in between (truncated BPTT). Gradients are clipped to total norm ``clip``.
    ``deadline`` (a ``time.monotonic()`` value) stops the epoch early.
    """
    device = _device_of(model, device)
    data = data.to(device)
    model.train()
    hidden = _start_hidden(model, data.size(0), device)
    total, count = 0.0, 0
    chunks = lm_chunks(data, bptt)
    if show_progress:
        chunks = progress(chunks, total=math.ceil((data.size(1) - 1) / bptt), desc="train", leave=False)
    for x, y in chunks:
        hidden = detach_hidden(hidden)
        logits, hidden = model(x, hidden)
        loss = F.cross_entropy(logits.reshape(-1, logits.size(-1)), y.reshape(-1))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if clip is not None:
            nn.utils.clip_grad_norm_(model.parameters(), clip)
        optimizer.step()
        total += loss.item() * y.numel()
        count += y.numel()
        if deadline is not None and time.monotonic() >= deadline:
            break
    return total / max(count, 1)


@torch.no_grad()
def evaluate(model: nn.Module, data: torch.Tensor, bptt: int, device=None) -> float:
    """Mean loss per token over the whole stream: (sum of token losses) / (number of tokens).

    Perplexity is ``math.exp`` of this. The hidden state is carried across chunks, as in training;
    dropout is off while evaluating and the model's mode is restored afterwards.
    """
    device = _device_of(model, device)
    data = data.to(device)
    was_training = model.training
    model.eval()
    hidden = _start_hidden(model, data.size(0), device)
    total, count = 0.0, 0
    for x, y in lm_chunks(data, bptt):
        logits, hidden = model(x, hidden)
        total += float(_token_loss_sum(logits, y))
        count += y.numel()
    model.train(was_training)
    return total / max(count, 1)


def fit(model: nn.Module, train_data: torch.Tensor, valid_data: torch.Tensor, *, epochs: int, bptt: int,
        lr: float, clip: float | None, device=None, max_seconds: float | None = None,
        optimizer: str | torch.optim.Optimizer = "sgd", anneal: float | None = 4.0, keep_best: bool = True,
        train_fn: Callable | None = None, eval_fn: Callable | None = None) -> History:
    """Train for up to ``epochs`` epochs (or ``max_seconds`` of wall time) and validate after each.

    ``optimizer`` is ``"sgd"``, ``"adam"`` or an optimizer instance. With ``anneal``, the learning
    rate is divided by it whenever the validation loss does not improve (the classic recipe for
    SGD on word-level LMs). With ``keep_best``, the weights of the best validation epoch are restored
    at the end. ``train_fn(model, data, bptt, optimizer, clip)`` and ``eval_fn(model, data, bptt)``
    replace ``train_epoch``/``evaluate`` (an exercise plugs its own in; ``eval_fn`` must return the
    mean loss per token).
    """
    device = _device_of(model, device)
    model.to(device)
    train_data, valid_data = train_data.to(device), valid_data.to(device)
    optimizer = make_optimizer(model, optimizer, lr)

    def train_one(deadline):
        if train_fn is None:
            return train_epoch(model, train_data, bptt, optimizer, clip, deadline=deadline)
        return train_fn(model, train_data, bptt, optimizer, clip)

    def divide_lr():
        for group in optimizer.param_groups:
            group["lr"] /= anneal

    return run_epochs(model, optimizer, epochs=epochs, train_one=train_one,
                      validate=lambda: (eval_fn or evaluate)(model, valid_data, bptt), max_seconds=max_seconds,
                      keep_best=keep_best, on_no_improvement=divide_lr if anneal else None)
