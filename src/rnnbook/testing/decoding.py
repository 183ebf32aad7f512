"""Scripted toy decoders, exhaustive search and library blockers for testing beam search and BLEU.

Used by Assignment 6's hidden tests, tests/test_decoding_metrics.py and Chapter 6's worked example.
"""
from __future__ import annotations

import contextlib
import sys
from unittest import mock

import torch

from . import checks


class TableStep:
    """A toy "model" whose next-token log-probabilities are a fixed random function of the sentence and
    of the whole prefix: ``step(tokens, state) -> (log_probs, state)`` with ``state = (sentence, code)``,
    two LongTensors [N]; ``code`` encodes the prefix. Call it and count ``calls`` / ``rows``.

    ``eos_bias`` is added to ``<eos>``'s logit (positive: hypotheses finish early); a list gives one bias
    per sentence, so sentences finish at different steps. ``deep_state=True`` adds a third part of shape
    [N, 2, 3] (like a GRU's [N, layers, H] hidden state) that must be reordered with the rest.
    """

    def __init__(self, vocab: int, sentences: int = 1, *, seed: int = 0, eos: int = 1, eos_bias=0.0,
                 sharpness: float = 1.5, table_size: int = 4093, dtype=torch.float64, deep_state: bool = False):
        gen = torch.Generator().manual_seed(seed)
        logits = sharpness * torch.randn(sentences, table_size, vocab, generator=gen, dtype=dtype)
        bias = torch.as_tensor(eos_bias, dtype=dtype).expand(sentences)
        logits[:, :, eos] += bias[:, None]
        self.table = torch.log_softmax(logits, dim=-1)
        self.vocab, self.eos, self.size, self.deep = vocab, eos, table_size, deep_state
        self.calls, self.rows = 0, []

    def initial_state(self, sentences: list[int] | None = None):
        """The state for the given sentences (all of them by default), first dimension = their number."""
        ids = torch.arange(self.table.shape[0]) if sentences is None else torch.tensor(sentences)
        code = torch.zeros_like(ids)
        return (ids, code, self._deep(ids, code)) if self.deep else (ids, code)

    @staticmethod
    def _deep(sentence, code):
        return (code * 7 + sentence).double()[:, None, None].expand(-1, 2, 3).clone()

    def __call__(self, tokens: torch.Tensor, state):
        sentence, code = state[:2]
        if self.deep and not torch.equal(state[2], self._deep(sentence, code)):
            raise AssertionError("the parts of the state no longer agree row by row: reorder every part of "
                                 "the state tuple with index_select on dimension 0.")
        if tokens.shape != code.shape:
            raise AssertionError(f"step got {tokens.shape[0]} tokens for a state of {code.shape[0]} rows: "
                                 "reorder the state with index_select so it follows the beam.")
        self.calls += 1
        self.rows.append(int(tokens.shape[0]))
        code = (code * (self.vocab + 1) + tokens + 1) % self.size
        state = (sentence, code, self._deep(sentence, code)) if self.deep else (sentence, code)
        return self.table[sentence, code], state


def exhaustive_search(step, state, sos: int, eos: int, max_len: int, alpha: float = 0.0):
    """Every hypothesis of at most ``max_len`` tokens, scored: ``(finished, unfinished)``, each a list of
    ``(tokens, normalised_score)`` best first; unfinished ones are those of exactly ``max_len`` tokens.
    Costs V ** max_len rows: keep V and max_len small."""
    prefixes, scores = [[]], torch.zeros(1, dtype=torch.float64)
    tokens = torch.tensor([sos])
    finished = []
    for _ in range(max_len):
        log_probs, state = step(tokens, state)
        vocab = log_probs.shape[-1]
        total = scores[:, None] + log_probs.double()
        rows = []
        new_prefixes, new_scores = [], []
        for row, prefix in enumerate(prefixes):
            for token in range(vocab):
                if token == eos:
                    finished.append((prefix + [eos], float(total[row, token])))
                else:
                    new_prefixes.append(prefix + [token])
                    new_scores.append(float(total[row, token]))
                    rows.append(row)
        if not new_prefixes:
            prefixes = []
            break
        prefixes, scores = new_prefixes, torch.tensor(new_scores, dtype=torch.float64)
        state = tuple(part.index_select(0, torch.tensor(rows)) for part in state) if isinstance(state, tuple) \
            else state.index_select(0, torch.tensor(rows))
        tokens = torch.tensor([p[-1] for p in prefixes])

    def ranked(hyps):
        scored = [(t, s / len(t) ** alpha if alpha else s) for t, s in hyps]
        return sorted(scored, key=lambda pair: -pair[1])

    return ranked(finished), ranked(list(zip(prefixes, scores.tolist())))


@contextlib.contextmanager
def no_reference_decoders():
    """The course's own beam searches raise inside the block."""
    from rnnbook import decoding

    with checks.forbid(decoding.beam_search, decoding.batched_beam_search):
        yield


@contextlib.contextmanager
def no_bleu_libraries():
    """sacrebleu cannot be imported or called, nor the course's reference metrics, inside the block."""
    import sacrebleu
    import sacrebleu.metrics.base
    import sacrebleu.metrics.bleu
    import sacrebleu.metrics.helpers

    from rnnbook import metrics

    reason = "write BLEU yourself, without sacrebleu or rnnbook.metrics"
    blocked = {name: None for name in list(sys.modules) if name == "sacrebleu" or name.startswith("sacrebleu.")}
    targets = [sacrebleu.corpus_bleu, sacrebleu.sentence_bleu, sacrebleu.raw_corpus_bleu,
               sacrebleu.metrics.bleu.BLEU, sacrebleu.metrics.base.Metric,
               sacrebleu.metrics.helpers.extract_all_word_ngrams, sacrebleu.metrics.helpers.extract_word_ngrams,
               metrics.precision_recall_f1, metrics.modified_precision, metrics.brevity_penalty,
               metrics.corpus_bleu, metrics.sentence_bleu, metrics.bleu_from_stats, metrics.sentence_stats,
               metrics.ngrams, metrics.closest_ref_length]
    with checks.forbid(*targets, reason=reason), mock.patch.dict(sys.modules, blocked):
        yield


class ScriptedStep:
    """A toy model given as a table: ``{prefix (tuple of tokens after <sos>): {token: probability}}``.

    Tokens missing from a prefix's entry share ``floor`` probability; a prefix missing from the table
    predicts ``<eos>``. The state is a LongTensor [N] naming each row's prefix. ``initial_state()`` has
    one row (the prefix before ``<sos>``); the first call must read ``<sos>``.
    """

    def __init__(self, vocab: int, table: dict, *, eos: int = 1, floor: float = 1e-4, dtype=torch.float64):
        self.vocab, self.table, self.eos, self.floor, self.dtype = vocab, table, eos, floor, dtype
        self.prefixes: list[tuple | None] = [None]
        self.ids: dict[tuple | None, int] = {None: 0}
        self.calls = 0

    def initial_state(self, sentences=None) -> torch.Tensor:
        """One row, the prefix before ``<sos>`` (``sentences`` is accepted for TableStep's signature)."""
        return torch.zeros(1, dtype=torch.long)

    def distribution(self, prefix: tuple) -> torch.Tensor:
        probs = torch.full((self.vocab,), self.floor, dtype=self.dtype)
        for token, p in self.table.get(prefix, {self.eos: 1.0}).items():
            probs[token] = p
        return probs / probs.sum()

    def __call__(self, tokens: torch.Tensor, state: torch.Tensor):
        if tokens.shape != state.shape:
            raise AssertionError(f"step got {tokens.shape[0]} tokens for a state of {state.shape[0]} rows: "
                                 "reorder the state with index_select so it follows the beam.")
        self.calls += 1
        new_ids, rows = [], []
        for token, sid in zip(tokens.tolist(), state.tolist()):
            old = self.prefixes[sid]
            prefix = () if old is None else old + (token,)
            if prefix not in self.ids:
                self.ids[prefix] = len(self.prefixes)
                self.prefixes.append(prefix)
            new_ids.append(self.ids[prefix])
            rows.append(self.distribution(prefix).log())
        return torch.stack(rows), torch.tensor(new_ids)


def expect_hypotheses(name: str, got, expected, atol: float = 1e-9) -> None:
    """``got`` must be a list of ``(tokens, score)`` pairs equal to ``expected`` (tokens exactly, scores
    to ``atol``); a failure says which hypothesis and what differs, not the expected values."""
    checks.expect_type(name, got, list)
    if len(got) != len(expected):
        raise AssertionError(f"{name} has {len(got)} hypotheses, expected {len(expected)}.")
    for i, (pair, (tokens, score)) in enumerate(zip(got, expected)):
        if not (isinstance(pair, (tuple, list)) and len(pair) == 2):
            raise AssertionError(f"{name}[{i}] should be a pair (tokens, normalised_score), but it is a "
                                 f"{checks.describe(pair)}.")
        got_tokens = pair[0].tolist() if isinstance(pair[0], torch.Tensor) else list(pair[0])
        checks.expect_sequence(f"{name}[{i}]'s tokens", got_tokens, tokens)
        checks.expect_number(f"{name}[{i}]'s score", pair[1], score, atol=atol, hint="Its tokens are right.")
