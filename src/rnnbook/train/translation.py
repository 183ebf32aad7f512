"""Training and evaluating translation models: the shifted loss, teacher-forcing schedules, an epoch
loop, greedy translation, BLEU, and trained models cached by a hash of their code and config.
Chapter 4 (and Chapters 5-7, which reuse the cached models); Assignment 4 writes its own loss and loop.
"""
from __future__ import annotations

import copy
import hashlib
import inspect
import json
import math
import sys
import time
from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from .. import decoding, metrics
from ..data import batching, parallel, vocab
from ..data.datasets import cache_dir
from ..data.parallel import TranslationData, batches
from ..models import attention, seq2seq
from . import loop
from .loop import History, KeepBest, Loop, ProgressBar, RecordExtra, TimeLimit


def seq2seq_loss(logits: torch.Tensor, tgt: torch.Tensor, pad_index: int) -> torch.Tensor:
    """Mean cross-entropy over the real target tokens.

    ``logits [B, T-1, V]`` are the predictions for ``tgt[:, 1:]`` (no prediction is made after the
    last token, and ``<sos>`` is never a target); positions where the target is ``pad_index`` count
    neither in the sum nor in the number of tokens.
    """
    targets = tgt[:, 1:]
    return F.cross_entropy(logits.reshape(-1, logits.size(-1)), targets.reshape(-1), ignore_index=pad_index)


def teacher_forcing_at(step: int, kind: str = "constant", k: float = 1.0, c: float = 0.0,
                       minimum: float = 0.0) -> float:
    """The probability of feeding the ground truth at training step ``step`` (Bengio et al. 2015).

    ``constant``: ``k``. ``linear``: ``max(minimum, k - c * step)``. ``exponential``: ``k ** step``
    (``k < 1``). ``inverse_sigmoid``: ``k / (k + exp(step / k))`` (``k >= 1``).
    """
    if kind == "constant":
        return float(k)
    if kind == "linear":
        return max(minimum, k - c * step)
    if kind == "exponential":
        return float(k) ** step
    if kind == "inverse_sigmoid":
        return k / (k + math.exp(min(step / k, 700.0)))
    raise ValueError(f"kind must be constant, linear, exponential or inverse_sigmoid, not {kind!r}")


def train_epoch(model: nn.Module, examples: Sequence, optimizer: torch.optim.Optimizer, *, batch_size: int,
                pad_index: int, clip: float | None = 1.0, teacher_forcing: Callable[[int], float] | float = 1.0,
                generator: torch.Generator | None = None, first_step: int = 0, device=None,
                deadline: float | None = None) -> tuple[float, int]:
    """One shuffled pass; returns ``(mean loss per real target token, number of optimizer steps)``.

    ``teacher_forcing`` is a probability or a function of the global step (``first_step`` + steps done).
    """
    device = device or next(model.parameters()).device
    model.train()
    total, count, steps = 0.0, 0, 0
    for batch in batches(examples, batch_size, shuffle=True, generator=generator, pad_index=pad_index,
                         bucket=True):
        batch = batch.to(device)
        step = first_step + steps
        ratio = teacher_forcing(step) if callable(teacher_forcing) else teacher_forcing
        logits = model(batch.src, batch.src_lengths, batch.tgt, teacher_forcing=ratio, generator=generator)
        loss = seq2seq_loss(logits, batch.tgt, pad_index)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if clip is not None:
            nn.utils.clip_grad_norm_(model.parameters(), clip)
        optimizer.step()
        tokens = int((batch.tgt[:, 1:] != pad_index).sum())
        total, count, steps = total + loss.item() * tokens, count + tokens, steps + 1
        if deadline is not None and time.monotonic() >= deadline:
            break
    return total / max(count, 1), steps


@torch.no_grad()
def evaluate_loss(model: nn.Module, examples: Sequence, *, batch_size: int, pad_index: int, device=None) -> float:
    """Mean loss per real target token under teacher forcing (``exp`` of it is the perplexity)."""
    device = device or next(model.parameters()).device
    was_training = model.training
    model.eval()
    total, count = 0.0, 0
    for batch in batches(examples, batch_size, shuffle=False, pad_index=pad_index):
        batch = batch.to(device)
        logits = model(batch.src, batch.src_lengths, batch.tgt)
        tokens = int((batch.tgt[:, 1:] != pad_index).sum())
        total += float(seq2seq_loss(logits, batch.tgt, pad_index)) * tokens
        count += tokens
    model.train(was_training)
    return total / max(count, 1)


def _decode_in_chunks(model: nn.Module, data: TranslationData, sources: Sequence[Sequence[int]] | Sequence[str],
                      batch_size: int, search: Callable[[object, int], list[list[int]]]) -> list[str]:
    """Encode the sources (strings or index lists) in padded chunks of ``batch_size`` and decode each
    chunk with ``search(state, rows)`` (one token list per row), in eval mode; space-joined targets."""
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    ids = [data.encode_source(s) if isinstance(s, str) else list(s) for s in sources]
    out: list[str] = []
    try:
        for start in range(0, len(ids), batch_size):
            chunk = [s if s else [data.src_vocab.unk_index] for s in ids[start:start + batch_size]]
            src, lengths = batching.pad_batch(chunk, data.src_vocab.pad_index)
            state = model.start(src.to(device), lengths.to(device))
            out.extend(data.decode_target(tokens) for tokens in search(state, len(chunk)))
    finally:
        model.train(was_training)
    return out


@torch.no_grad()
def translate(model: nn.Module, data: TranslationData, sources: Sequence[Sequence[int]] | Sequence[str], *,
              max_len: int = 50, batch_size: int = 256) -> list[str]:
    """Greedy translations (space-joined target tokens) of source sentences (strings or index lists)."""
    step = decoding.model_step(model)
    return _decode_in_chunks(model, data, sources, batch_size, lambda state, rows: decoding.greedy_search(
        step, state, data.sos_index, data.eos_index, max_len))


def bleu(model: nn.Module, data: TranslationData, split: str = "test", *, max_len: int = 50,
         limit: int | None = None) -> tuple[float, str, list[str]]:
    """Corpus BLEU of greedy translations of a split against its lowercased tokenized references:
    ``(score, sacrebleu signature, hypotheses)``."""
    examples = getattr(data, split)[:limit]
    hyps = translate(model, data, [s for s, _ in examples], max_len=max_len)
    # Both sides are tokenized the same way on purpose: tell sacrebleu not to warn about it.
    score, signature = metrics.corpus_bleu_report(hyps, data.references(split)[:len(hyps)], force=True)
    return score, signature, hyps


# Model kinds a config may name: "seq2seq" (Chapter 4) and "attention" (Chapter 5).
MODEL_BUILDERS: dict[str, Callable[[dict, TranslationData], nn.Module]] = {
    "seq2seq": lambda cfg, data: seq2seq.build_seq2seq(
        len(data.src_vocab), len(data.tgt_vocab), embed_dim=cfg["embed_dim"], hidden_dim=cfg["hidden_dim"],
        num_layers=cfg.get("num_layers", 1), dropout=cfg.get("dropout", 0.0),
        bidirectional=cfg.get("bidirectional", True), pad_index=data.pad_index),
    "attention": lambda cfg, data: attention.build_attention_seq2seq(
        len(data.src_vocab), len(data.tgt_vocab), embed_dim=cfg["embed_dim"], hidden_dim=cfg["hidden_dim"],
        attention=cfg.get("attention", "general"), decoder=cfg.get("decoder", "luong"),
        attn_size=cfg.get("attn_size"), encoder_hidden_dim=cfg.get("encoder_hidden_dim"),
        num_layers=cfg.get("num_layers", 1), dropout=cfg.get("dropout", 0.0),
        input_feeding=cfg.get("input_feeding", False), pad_index=data.pad_index),
}

DATA_KEYS = ("corpus", "source", "target", "max_len", "limit", "eval_limit", "min_freq", "reverse_source")


def build_data(config: dict) -> TranslationData:
    """The ``TranslationData`` a config describes (its data keys; see ``DATA_KEYS``)."""
    return TranslationData.build(**{k: config[k] for k in DATA_KEYS if k in config})


def train_translation(config: dict, data: TranslationData | None = None, *, device=None,
                      model: nn.Module | None = None) -> tuple[nn.Module, TranslationData, History]:
    """Build the data and the model a config describes, train it, and return ``(model, data, history)``.

    Keys: the data keys (``DATA_KEYS``), ``model`` (a ``MODEL_BUILDERS`` name) and its sizes, ``seed``,
    ``epochs``, ``batch_size``, ``lr`` (Adam), ``clip``, ``teacher_forcing`` (a probability or the
    keyword arguments of ``teacher_forcing_at``), ``bleu_limit`` (how many validation sentences to
    translate after each epoch for ``history.extra["valid_bleu"]``; 0 skips it), ``max_seconds``.
    """
    data = data or build_data(config)
    torch.manual_seed(config.get("seed", 0))
    generator = torch.Generator().manual_seed(config.get("seed", 0))
    device = torch.device(device or "cpu")
    model = (model or MODEL_BUILDERS[config.get("model", "seq2seq")](config, data)).to(device)
    optimizer = loop.make_optimizer(model, config.get("optimizer", "adam"), config.get("lr", 1e-3))
    forcing = config.get("teacher_forcing", 1.0)
    schedule = (lambda step: teacher_forcing_at(step, **forcing)) if isinstance(forcing, dict) else forcing
    steps = {"done": 0}
    bleu_limit = config.get("bleu_limit", 0)

    max_seconds = config.get("max_seconds")

    def one_epoch(run: Loop) -> float:
        deadline = run.started + max_seconds if max_seconds is not None else None
        loss, done = train_epoch(model, data.train, optimizer, batch_size=config.get("batch_size", 64),
                                 pad_index=data.pad_index, clip=config.get("clip", 1.0), teacher_forcing=schedule,
                                 generator=generator, first_step=steps["done"], device=device, deadline=deadline)
        steps["done"] += done
        return loss

    def measure(run: Loop) -> dict[str, float]:
        extra = {"teacher_forcing": schedule(steps["done"]) if callable(schedule) else schedule,
                 "steps": steps["done"]}
        if bleu_limit:
            extra["valid_bleu"] = bleu(model, data, "valid", limit=bleu_limit)[0]
        return extra

    callbacks = [ProgressBar(config["epochs"]), RecordExtra(measure)]
    callbacks += [TimeLimit(max_seconds)] if max_seconds is not None else []
    callbacks += [KeepBest()] if config.get("keep_best", True) else []
    history = Loop(model, optimizer, callbacks).fit(
        one_epoch, lambda run: evaluate_loss(model, data.valid, batch_size=256, pad_index=data.pad_index),
        config["epochs"])
    return model.eval(), data, history


# The modules whose source decides a cached model's key: change any of them and models retrain.
_HASHED_MODULES = (parallel, vocab, batching, seq2seq, decoding, loop, sys.modules[__name__])


def config_hash(config: dict) -> str:
    """sha256 of the config (as sorted JSON) and of the source of the modules training depends on."""
    digest = hashlib.sha256(json.dumps(config, sort_keys=True).encode())
    for module in _HASHED_MODULES + tuple(sys.modules[m] for m in config.get("hash_modules", ())):
        digest.update(inspect.getsource(module).encode())
    return digest.hexdigest()


def cached_model(config: dict, name: str | None = None) -> tuple[nn.Module, TranslationData, History]:
    """``train_translation(config)`` once; later calls (any chapter) load the weights from the cache
    folder (``$RNNBOOK_CACHE``), keyed by ``config_hash``."""
    key = config_hash(config)
    path = cache_dir() / "models" / f"{name or config.get('model', 'seq2seq')}-{key[:20]}.pt"
    data = build_data(config)
    if path.is_file():
        saved = torch.load(path, map_location="cpu", weights_only=False)
        model = MODEL_BUILDERS[config.get("model", "seq2seq")](config, data)
        model.load_state_dict(saved["state_dict"])
        return model.eval(), data, saved["history"]
    model, data, history = train_translation(config, data)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".part")
    torch.save({"state_dict": copy.deepcopy(model.state_dict()), "history": history, "config": config}, tmp)
    tmp.replace(path)
    return model, data, history


# Configs the chapters train, small enough to run cold on a 2-core CPU: Chapter 4's main model
# ("seq2seq") and the base of its multi-seed experiments ("seq2seq_small", a unidirectional encoder).
BOOK_CONFIGS: dict[str, dict] = {
    "seq2seq": {
        "corpus": "eng-fra", "max_len": 8, "limit": 12000, "eval_limit": 1000, "min_freq": 2,
        "model": "seq2seq", "embed_dim": 96, "hidden_dim": 160, "num_layers": 1, "bidirectional": True,
        "dropout": 0.1, "seed": 0, "epochs": 6, "batch_size": 64, "lr": 3e-3, "clip": 1.0,
        "teacher_forcing": 1.0, "bleu_limit": 0,
    },
    "seq2seq_small": {
        "corpus": "eng-fra", "max_len": 8, "limit": 2000, "eval_limit": 1000, "min_freq": 2,
        "model": "seq2seq", "embed_dim": 64, "hidden_dim": 96, "num_layers": 1, "bidirectional": False,
        "dropout": 0.0, "seed": 0, "epochs": 4, "batch_size": 32, "lr": 3e-3, "clip": 1.0,
        "teacher_forcing": 1.0, "bleu_limit": 200,
    },
}

# Chapter 5's model, decoded again by Chapters 6-7: Chapter 4's data and sizes with a Bahdanau decoder
# and concat attention, trained for a fixed number of epochs (not seconds, so its quality does not
# depend on the machine) that keeps Chapter 5's cold build within budget (about 25 s of CPU per epoch).
# Keep stable: later chapters rely on its cached weights.
BOOK_CONFIGS["attention"] = {
    **BOOK_CONFIGS["seq2seq"], "model": "attention", "decoder": "bahdanau", "attention": "concat",
    "epochs": 3, "hash_modules": ["rnnbook.models.attention"],
}


@torch.no_grad()
def beam_translate(model: nn.Module, data: TranslationData, sources: Sequence[Sequence[int]] | Sequence[str], *,
                   beam_size: int = 5, alpha: float = 0.0, max_len: int = 50, batch_size: int = 64,
                   batched: bool = True) -> list[str]:
    """Beam-search translations (space-joined target tokens) of source sentences (Chapters 6-7);
    ``batched=False`` searches one sentence at a time (same results, for timing the difference)."""
    step = decoding.model_step(model)

    def search(state, rows: int) -> list[list[int]]:
        if batched:
            found = decoding.batched_beam_search(step, state, data.sos_index, data.eos_index, beam_size, max_len,
                                                 alpha=alpha)
        else:
            device = next(model.parameters()).device
            found = [decoding.beam_search(step, decoding.reorder_state(state, torch.tensor([row], device=device)),
                                          data.sos_index, data.eos_index, beam_size, max_len, alpha=alpha)
                     for row in range(rows)]
        return [best[0][0] if best else [] for best in found]

    return _decode_in_chunks(model, data, sources, batch_size, search)
