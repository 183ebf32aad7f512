"""One fit loop for every task: epochs of a training function, validation after each, and callbacks
for the rest (progress bar, gradient clipping, time limit, early stopping, keeping the best weights,
learning-rate annealing, logging). Task wrappers (``train.lm`` for Chapters 2-3, translation later)
say what an epoch and a validation are.

The loop wraps ``optimizer.step`` while it runs, so step callbacks (clipping, the time limit) work
whatever the training function is, a learner's own included: a run that passes ``max_seconds``
stops inside the epoch, at the next optimizer step.
"""
from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import torch
from torch import nn

from ..metrics import perplexity
from ..utils import progress


class StopTraining(Exception):
    """Raised inside an epoch (at an optimizer step) to end the run; the loop catches it."""


@dataclass
class History:
    """Per-epoch record of a run: mean losses per token (nats), seconds and learning rate. An epoch
    cut short by the time limit inside a training function that does not report its loss has
    ``nan`` as its training loss. ``extra`` holds any other per-epoch series a task records
    (validation BLEU, the teacher-forcing probability, ...)."""

    train_loss: list[float] = field(default_factory=list)
    valid_loss: list[float] = field(default_factory=list)
    epoch_seconds: list[float] = field(default_factory=list)
    lr: list[float] = field(default_factory=list)
    extra: dict[str, list[float]] = field(default_factory=dict)

    @property
    def train_ppl(self) -> list[float]:
        return [perplexity(v) for v in self.train_loss]

    @property
    def valid_ppl(self) -> list[float]:
        return [perplexity(v) for v in self.valid_loss]

    @property
    def best_valid_loss(self) -> float:
        return min(self.valid_loss) if self.valid_loss else math.inf

    @property
    def seconds(self) -> float:
        return sum(self.epoch_seconds)


class Callback:
    """Hooks the loop calls; set ``loop.stop_requested`` (or raise ``StopTraining`` in a step hook) to stop."""

    def on_fit_start(self, loop: "Loop") -> None: ...
    def before_step(self, loop: "Loop") -> None: ...   # gradients computed, weights not yet updated
    def after_step(self, loop: "Loop") -> None: ...
    def on_epoch_end(self, loop: "Loop") -> None: ...  # loop.history holds this epoch's numbers
    def on_fit_end(self, loop: "Loop") -> None: ...


class Loop:
    """The state callbacks see: model, optimizer, history, epoch and step counters, start time."""

    def __init__(self, model: nn.Module, optimizer: torch.optim.Optimizer, callbacks: Iterable[Callback] = ()):
        self.model, self.optimizer, self.callbacks = model, optimizer, list(callbacks)
        self.history = History()
        self.epoch = self.step = 0
        self.started = time.monotonic()
        self.stop_requested = False

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def _emit(self, hook: str) -> None:
        for callback in self.callbacks:
            getattr(callback, hook)(self)

    def _hooked_step(self, step: Callable) -> Callable:
        def hooked(*args, **kwargs):
            if self.stop_requested:  # the training function did not stop by itself: stop it here
                raise StopTraining
            self._emit("before_step")
            result = step(*args, **kwargs)
            self.step += 1
            self._emit("after_step")
            return result
        return hooked

    def fit(self, train_epoch: Callable[["Loop"], float], validate: Callable[["Loop"], float] | None,
            epochs: int) -> History:
        """``train_epoch(loop)`` runs one epoch and returns its mean training loss; ``validate(loop)``
        returns the validation loss (skipped when None)."""
        self.optimizer.step = self._hooked_step(self.optimizer.step)  # an instance attribute, removed below
        try:
            self._emit("on_fit_start")
            for self.epoch in range(1, epochs + 1):
                t0 = time.monotonic()
                try:
                    train_loss = float(train_epoch(self))
                except StopTraining:
                    train_loss = math.nan
                self.history.train_loss.append(train_loss)
                if validate is not None:
                    self.history.valid_loss.append(float(validate(self)))
                self.history.epoch_seconds.append(time.monotonic() - t0)
                self.history.lr.append(self.optimizer.param_groups[0]["lr"])
                self._emit("on_epoch_end")
                if self.stop_requested:
                    break
            self._emit("on_fit_end")
        finally:
            del self.optimizer.step
        return self.history


# ---------------------------------------------------------------- callbacks

class ClipGradients(Callback):
    """Clip the total gradient norm before every optimizer step."""

    def __init__(self, max_norm: float):
        self.max_norm = max_norm

    def before_step(self, loop: Loop) -> None:
        nn.utils.clip_grad_norm_(loop.model.parameters(), self.max_norm)


class TimeLimit(Callback):
    """Stop once ``max_seconds`` of wall time have passed, checked after every optimizer step: the
    training function may finish its current step; at the next one the loop stops it."""

    def __init__(self, max_seconds: float):
        self.max_seconds = max_seconds

    def _check(self, loop: Loop) -> None:
        if loop.elapsed() >= self.max_seconds:
            loop.stop_requested = True

    after_step = on_epoch_end = _check


class EarlyStopping(Callback):
    """Stop when the validation loss has not improved for ``patience`` epochs."""

    def __init__(self, patience: int):
        self.patience = patience

    def on_epoch_end(self, loop: Loop) -> None:
        losses = loop.history.valid_loss
        best_epoch = losses.index(min(losses)) + 1 if losses else 0
        if losses and loop.epoch - best_epoch >= self.patience:
            loop.stop_requested = True


class KeepBest(Callback):
    """Restore, at the end, the weights of the epoch with the lowest validation loss."""

    def __init__(self):
        self.state = None

    def on_epoch_end(self, loop: Loop) -> None:
        if loop.history.valid_loss and loop.history.valid_loss[-1] <= loop.history.best_valid_loss:
            self.state = copy.deepcopy(loop.model.state_dict())

    def on_fit_end(self, loop: Loop) -> None:
        if self.state is not None:
            loop.model.load_state_dict(self.state)


class AnnealOnPlateau(Callback):
    """Divide the learning rate by ``factor`` after an epoch whose validation loss did not improve."""

    def __init__(self, factor: float):
        self.factor = factor

    def on_epoch_end(self, loop: Loop) -> None:
        losses = loop.history.valid_loss
        if len(losses) > 1 and losses[-1] > min(losses[:-1]):
            for group in loop.optimizer.param_groups:
                group["lr"] /= self.factor


class ProgressBar(Callback):
    """One bar over the epochs (``rnnbook.utils.progress``: silent while grading), with perplexities."""

    def __init__(self, epochs: int):
        self.epochs, self.bar = epochs, None

    def on_fit_start(self, loop: Loop) -> None:
        self.bar = progress(total=self.epochs, desc="epochs")

    def on_epoch_end(self, loop: Loop) -> None:
        postfix = {"train_ppl": f"{perplexity(loop.history.train_loss[-1]):.1f}"}
        if loop.history.valid_loss:
            postfix["valid_ppl"] = f"{perplexity(loop.history.valid_loss[-1]):.1f}"
        self.bar.set_postfix(postfix)
        self.bar.update()

    def on_fit_end(self, loop: Loop) -> None:
        self.bar.close()


class Logger(Callback):
    """Calls ``log(line)`` after every epoch (``print`` by default)."""

    def __init__(self, log: Callable[[str], None] = print):
        self.log = log

    def on_epoch_end(self, loop: Loop) -> None:
        h = loop.history
        valid = f", valid loss {h.valid_loss[-1]:.4f}" if h.valid_loss else ""
        self.log(f"epoch {loop.epoch}: train loss {h.train_loss[-1]:.4f}{valid}, lr {h.lr[-1]:g}, "
                 f"{h.epoch_seconds[-1]:.1f} s")


class RecordExtra(Callback):
    """After every epoch, record the numbers ``measure(loop) -> {name: value}`` returns in ``history.extra``."""

    def __init__(self, measure: Callable[["Loop"], dict[str, float]]):
        self.measure = measure

    def on_epoch_end(self, loop: Loop) -> None:
        for name, value in self.measure(loop).items():
            loop.history.extra.setdefault(name, []).append(float(value))


def make_optimizer(model: nn.Module, optimizer, lr: float) -> torch.optim.Optimizer:
    """``"sgd"``/``"adam"`` -> a new optimizer over the model's parameters; an instance passes through."""
    if not isinstance(optimizer, str):
        return optimizer
    kinds = {"sgd": torch.optim.SGD, "adam": torch.optim.Adam}
    if optimizer not in kinds:
        raise ValueError(f"optimizer must be 'sgd', 'adam' or an optimizer instance, not {optimizer!r}")
    return kinds[optimizer](model.parameters(), lr=lr)
