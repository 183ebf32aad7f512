"""Generating text: sampling from a language model with a temperature (Chapters 2-3; Assignment 2 writes
its own), greedy search for encoder-decoders through ``step(tokens, state)`` (Chapters 4-7), and beam
search, one sentence or a batch at a time (Chapter 6; Assignment 6 writes its own).
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


# ---------------------------------------------------------------- beam search (Chapter 6, Assignment 6)
# `step(tokens [N] long, state) -> (log_probs [N, V], state)` advances N hypotheses by one token; `state`
# is a tensor or a tuple of tensors whose first dimension is N, so the search can reorder it without
# knowing the model. Scores are sums of log-probabilities; the normalised score divides by len ** alpha.


def reorder_state(state, rows: torch.Tensor):
    """Keep (and repeat) the rows ``rows`` of a state: a tensor, or a tuple of tensors, batch first."""
    if isinstance(state, torch.Tensor):
        return state.index_select(0, rows)
    return tuple(reorder_state(part, rows) for part in state)


def normalised_score(score: float, length: int, alpha: float) -> float:
    """A hypothesis's score divided by ``length ** alpha`` (``alpha = 0``: the plain sum)."""
    return score / (length ** alpha) if alpha else score


def _best_first(hypotheses, alpha):
    return sorted(((tokens, normalised_score(score, len(tokens), alpha)) for tokens, score in hypotheses),
                  key=lambda pair: -pair[1])


def _n_best(finished, live, n_best, alpha):
    """The best finished hypotheses by normalised score, then the best live ones if too few finished."""
    best = _best_first(finished, alpha)[:n_best]
    if len(best) < n_best:
        best += _best_first(live, alpha)[:n_best - len(best)]
    return best


@torch.no_grad()
def beam_search(step, state, sos: int, eos: int, beam_size: int, max_len: int, n_best: int = 1,
                alpha: float = 0.0) -> list[tuple[list[int], float]]:
    """Beam search for one sentence; returns up to ``n_best`` pairs ``(tokens, normalised_score)``.

    ``state`` has first dimension 1. Each step ranks all one-token extensions of the live hypotheses by
    their summed log-probability and walks down the ranking: an extension ending in ``eos`` is finished
    (set aside), any other joins the new beam until it holds ``beam_size``. The search stops after
    ``max_len`` steps, after the step at which ``beam_size`` hypotheses have finished in total, or when
    no live hypothesis is left. Tokens exclude ``sos`` and include ``eos`` when finished.
    """
    live: list[tuple[list[int], float]] = [([], 0.0)]
    finished: list[tuple[list[int], float]] = []
    device = _batch_size(state).device
    tokens = torch.tensor([sos], device=device)
    for _ in range(max_len):
        log_probs, state = step(tokens, state)
        vocab = log_probs.shape[-1]
        scores = log_probs + torch.tensor([score for _, score in live], dtype=log_probs.dtype)[:, None]
        flat = scores.reshape(-1)
        # At most one eos extension per live row, so beam_size + len(live) candidates always suffice.
        top_scores, top_index = flat.topk(min(flat.numel(), beam_size + len(live)))
        beam, rows = [], []
        for score, index in zip(top_scores.tolist(), top_index.tolist()):
            row, token = divmod(index, vocab)
            extended = live[row][0] + [token]
            if token == eos:
                finished.append((extended, score))
            else:
                beam.append((extended, score))
                rows.append(row)
                if len(beam) == beam_size:
                    break
        live = beam
        if len(finished) >= beam_size or not live:
            break
        state = reorder_state(state, torch.tensor(rows, device=device))
        tokens = torch.tensor([hyp[-1] for hyp, _ in live], device=device)
    return _n_best(finished, live, n_best, alpha)


@torch.no_grad()
def batched_beam_search(step, state, sos: int, eos: int, beam_size: int, max_len: int, n_best: int = 1,
                        alpha: float = 0.0) -> list[list[tuple[list[int], float]]]:
    """``beam_search`` for B sentences at once (``state``'s first dimension is B): one ``step`` call per
    time step over the live rows of all sentences still searching; returns B lists, each equal to
    ``beam_search`` on that sentence alone."""
    first = _batch_size(state)
    batch, device = first.shape[0], first.device
    sentence = torch.arange(batch, device=device)          # the sentence of each live row
    scores = torch.zeros(batch, dtype=torch.float64, device=device)
    history = torch.empty(batch, 0, dtype=torch.long, device=device)   # tokens so far, one row a hypothesis
    tokens = torch.full((batch,), sos, dtype=torch.long, device=device)
    finished: list[list[tuple[list[int], float]]] = [[] for _ in range(batch)]
    final_live: list[list[tuple[list[int], float]]] = [[] for _ in range(batch)]
    for t in range(max_len):
        log_probs, state = step(tokens, state)
        vocab = log_probs.shape[-1]
        scores = scores.to(log_probs.dtype)
        # Lay the live rows out as [B, K, V] (K = most live rows of any sentence), padding with -inf.
        counts = torch.bincount(sentence, minlength=batch)
        slot = torch.arange(len(sentence), device=device) - (torch.cumsum(counts, 0) - counts)[sentence]
        width = int(counts.max())
        grid = torch.full((batch, width, vocab), float("-inf"), dtype=log_probs.dtype, device=device)
        grid[sentence, slot] = log_probs + scores[:, None]
        row_of = torch.full((batch, width), -1, dtype=torch.long, device=device)
        row_of[sentence, slot] = torch.arange(len(sentence), device=device)
        k = min(width * vocab, beam_size + width)
        top_scores, top_index = grid.reshape(batch, -1).topk(k, dim=1)      # [B, k], best first
        top_rows = row_of.reshape(-1)[(torch.arange(batch, device=device)[:, None] * width + top_index // vocab)]
        top_tokens = top_index % vocab
        real = top_rows >= 0
        is_eos = (top_tokens == eos) & real
        joins = real & ~is_eos
        # Walk each sentence's ranking: candidates count until the new beam holds beam_size.
        beam_before = torch.cumsum(joins.long(), 1) - joins.long()
        in_walk = beam_before < beam_size
        keep, done_now = joins & in_walk, is_eos & in_walk
        for b, j in done_now.nonzero().tolist():
            row = int(top_rows[b, j])
            finished[b].append((history[row].tolist() + [eos], float(top_scores[b, j])))
        kept_count = keep.sum(1)
        n_finished = torch.tensor([len(f) for f in finished], device=device)
        stop = (n_finished >= beam_size) | (kept_count == 0) | (t == max_len - 1)
        active = counts > 0
        b_idx, j_idx = keep.nonzero(as_tuple=True)        # row-major: by sentence, then by rank
        src = top_rows[b_idx, j_idx]
        new_history = torch.cat([history.index_select(0, src), top_tokens[b_idx, j_idx][:, None]], dim=1)
        new_scores = top_scores[b_idx, j_idx]
        ending = stop[b_idx]
        for b in (stop & active).nonzero().flatten().tolist():
            mine = (b_idx == b).nonzero().flatten()
            final_live[b] = list(zip(new_history[mine].tolist(), new_scores[mine].tolist()))
        going = ~ending
        if not bool(going.any()):
            break
        sentence, scores, history = b_idx[going], new_scores[going], new_history[going]
        tokens = history[:, -1]
        state = reorder_state(state, src[going])
    return [_n_best(finished[b], final_live[b], n_best, alpha) for b in range(batch)]
