"""The epoch loop every trainer in the package shares: train, validate, record, keep the best weights.
Used by ``rnnbook.train.lm.fit`` (Chapters 2-3) and ``rnnbook.train.translation`` (Chapters 4-7).
"""
from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from torch import nn

from ..utils import progress


@dataclass
class History:
    """Per-epoch record of a training run (losses are mean cross-entropy per token, in nats).

    ``extra`` holds any other per-epoch series a trainer records (validation BLEU, teacher forcing).
    """

    train_loss: list[float] = field(default_factory=list)
    valid_loss: list[float] = field(default_factory=list)
    epoch_seconds: list[float] = field(default_factory=list)
    lr: list[float] = field(default_factory=list)
    extra: dict[str, list[float]] = field(default_factory=dict)

    @property
    def train_ppl(self) -> list[float]:
        return [math.exp(v) for v in self.train_loss]

    @property
    def valid_ppl(self) -> list[float]:
        return [math.exp(v) for v in self.valid_loss]

    @property
    def best_valid_loss(self) -> float:
        return min(self.valid_loss) if self.valid_loss else math.inf

    @property
    def seconds(self) -> float:
        return sum(self.epoch_seconds)


def run_epochs(model: nn.Module, optimizer, *, epochs: int, train_one: Callable[[float | None], float],
               validate: Callable[[], float], max_seconds: float | None = None, keep_best: bool = True,
               on_no_improvement: Callable[[], None] | None = None,
               after_epoch: Callable[[int, History], dict[str, float]] | None = None) -> History:
    """Up to ``epochs`` rounds of ``train_one(deadline) -> mean train loss`` and ``validate() -> loss``.

    ``deadline`` is a ``time.monotonic()`` value (or ``None``) after which training stops early.
    ``on_no_improvement`` runs when the validation loss got worse (learning-rate annealing);
    ``after_epoch(epoch, history)`` may return more numbers to record under ``history.extra``.
    With ``keep_best``, the weights of the best validation epoch are restored at the end.
    """
    start = time.monotonic()
    deadline = start + max_seconds if max_seconds is not None else None
    history, best_state = History(), None
    bar = progress(range(epochs), desc="epochs")
    for epoch in bar:
        t0 = time.monotonic()
        train_loss = float(train_one(deadline))
        valid_loss = float(validate())
        history.train_loss.append(train_loss)
        history.valid_loss.append(valid_loss)
        history.lr.append(optimizer.param_groups[0]["lr"])
        for name, value in (after_epoch(epoch, history) if after_epoch else {}).items():
            history.extra.setdefault(name, []).append(float(value))
        history.epoch_seconds.append(time.monotonic() - t0)
        bar.set_postfix(train_loss=f"{train_loss:.3f}", valid_loss=f"{valid_loss:.3f}")
        if valid_loss <= history.best_valid_loss:
            if keep_best:
                best_state = copy.deepcopy(model.state_dict())
        elif on_no_improvement is not None:
            on_no_improvement()
        if deadline is not None and time.monotonic() >= deadline:
            break
    if keep_best and best_state is not None:
        model.load_state_dict(best_state)
    return history


def make_optimizer(model: nn.Module, optimizer, lr: float):
    """``"sgd"``/``"adam"`` -> a new optimizer over the model's parameters; an instance passes through."""
    if not isinstance(optimizer, str):
        return optimizer
    kinds = {"sgd": torch.optim.SGD, "adam": torch.optim.Adam}
    if optimizer not in kinds:
        raise ValueError(f"optimizer must be 'sgd', 'adam' or an optimizer instance, not {optimizer!r}")
    return kinds[optimizer](model.parameters(), lr=lr)
