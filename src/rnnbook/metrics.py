"""The numbers the course reports: perplexity and bits per character from a mean cross-entropy
(Chapters 2-3), BLEU through sacrebleu with its signature (Chapters 4-7), and word precision/recall/F1
and BLEU written out step by step (Chapter 7; the references for Assignment 6's hidden tests).
"""
from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass


def perplexity(mean_loss: float) -> float:
    """``exp`` of the mean cross-entropy per token (nats): the effective number of equally likely choices."""
    return math.exp(mean_loss)


def bits_per_char(mean_loss: float) -> float:
    """The mean cross-entropy per character in bits (the loss is in nats, so divide by ln 2)."""
    return mean_loss / math.log(2)


def corpus_bleu_report(hyps: Sequence[str], refs: Sequence[str], **options) -> tuple[float, str]:
    """Corpus BLEU of ``hyps`` against one reference each: ``(score, sacrebleu signature)``.

    ``options`` go to ``sacrebleu.metrics.BLEU`` (for example ``lowercase=True``, ``tokenize="none"``);
    the signature records them, so always print it beside the score.
    """
    from sacrebleu.metrics import BLEU

    if len(hyps) != len(refs):
        raise ValueError(f"{len(hyps)} hypotheses but {len(refs)} references: give one reference per hypothesis")
    bleu = BLEU(**options)
    score = bleu.corpus_score(list(hyps), [list(refs)])
    return float(score.score), str(bleu.get_signature())


# ---------------------------------------------------------------- word overlap and BLEU
# Everything here works on str.split() tokens, as sacrebleu does with tokenize="none" (corpus_bleu_report
# above runs sacrebleu itself, with a real tokenizer). References follow sacrebleu's layout: a corpus has
# reference *streams*, references[k][i] being the k-th reference of sentence i.

MAX_ORDER = 4
SMOOTH_DEFAULTS = {"none": None, "floor": 0.1, "add-k": 1, "exp": None}  # sacrebleu's defaults


def ngrams(tokens: Sequence[str], n: int) -> Counter:
    """The multiset of n-grams (tuples) of a token list."""
    return Counter(tuple(tokens[i:i + n]) for i in range(len(tokens) - n + 1))


def precision_recall_f1(hypothesis: str, reference: str) -> tuple[float, float, float]:
    """Word precision, recall and their harmonic mean with clipped counts; 0.0 where undefined."""
    hyp, ref = hypothesis.split(), reference.split()
    overlap = sum((Counter(hyp) & Counter(ref)).values())
    precision = overlap / len(hyp) if hyp else 0.0
    recall = overlap / len(ref) if ref else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def modified_precision(hypothesis: str, references: Sequence[str], n: int) -> tuple[int, int]:
    """(clipped n-gram matches, n-grams in the hypothesis); each count clipped by its largest count in
    any single reference."""
    counts = ngrams(hypothesis.split(), n)
    most = Counter()
    for reference in references:
        most |= ngrams(reference.split(), n)   # | keeps the larger count of each n-gram
    return sum(min(c, most[g]) for g, c in counts.items()), sum(counts.values())


def brevity_penalty(hyp_len: int, ref_len: int) -> float:
    """1 for long enough hypotheses, ``exp(1 - r / c)`` for shorter ones, 0 for empty ones."""
    if hyp_len >= ref_len:
        return 1.0
    return math.exp(1 - ref_len / hyp_len) if hyp_len > 0 else 0.0


def closest_ref_length(hyp_len: int, ref_lens: Sequence[int]) -> int:
    """The reference length closest to the hypothesis length; ties go to the shorter reference."""
    return min(ref_lens, key=lambda r: (abs(r - hyp_len), r))


@dataclass
class BleuStats:
    """BLEU's sufficient statistics, summed over sentences."""
    correct: list[int]
    total: list[int]
    hyp_len: int = 0
    ref_len: int = 0

    def __add__(self, other: BleuStats) -> BleuStats:
        return BleuStats([a + b for a, b in zip(self.correct, other.correct)],
                         [a + b for a, b in zip(self.total, other.total)],
                         self.hyp_len + other.hyp_len, self.ref_len + other.ref_len)


def sentence_stats(hypothesis: str, references: Sequence[str | None], max_order: int = MAX_ORDER) -> BleuStats:
    """Clipped matches and totals for n = 1..max_order, and the lengths (``None`` references skipped)."""
    references = [r for r in references if r is not None]
    pairs = [modified_precision(hypothesis, references, n) for n in range(1, max_order + 1)]
    hyp_len = len(hypothesis.split())
    return BleuStats([c for c, _ in pairs], [t for _, t in pairs], hyp_len,
                     closest_ref_length(hyp_len, [len(r.split()) for r in references]))


@dataclass
class Bleu:
    """A BLEU score (0-100) with its parts: precisions in percent, brevity penalty, lengths."""
    score: float
    precisions: list[float]
    bp: float
    stats: BleuStats


def bleu_from_stats(stats: BleuStats, smooth_method: str = "exp", smooth_value: float | None = None,
                    effective_order: bool = False) -> Bleu:
    """BLEU from summed statistics, exactly as sacrebleu 2.x computes it (smoothing methods 1-3 of
    Chen and Cherry, 2014): no match of any order gives 0; a zero precision counts as log 0 -> score 0."""
    if smooth_method not in SMOOTH_DEFAULTS:
        raise ValueError(f"unknown smooth_method {smooth_method!r}; use one of {list(SMOOTH_DEFAULTS)}")
    value = SMOOTH_DEFAULTS[smooth_method] if smooth_value is None else smooth_value
    correct, total = list(stats.correct), list(stats.total)
    bp = brevity_penalty(stats.hyp_len, stats.ref_len)
    order = len(correct)
    precisions = [0.0] * order
    if not any(correct):
        return Bleu(0.0, precisions, bp, stats)
    halvings, used = 1.0, order
    for n in range(order):
        if smooth_method == "add-k" and n > 0:
            correct[n] += value
            total[n] += value
        if total[n] == 0:
            break
        if effective_order:
            used = n + 1
        if correct[n] == 0:
            if smooth_method == "exp":
                halvings *= 2
                precisions[n] = 100.0 / (halvings * total[n])
            elif smooth_method == "floor":
                precisions[n] = 100.0 * value / total[n]
        else:
            precisions[n] = 100.0 * correct[n] / total[n]
    if min(precisions[:used]) == 0.0:
        return Bleu(0.0, precisions, bp, stats)
    return Bleu(bp * math.exp(sum(math.log(p) for p in precisions[:used]) / used), precisions, bp, stats)


def corpus_bleu(hypotheses: Sequence[str], references: Sequence[Sequence[str | None]],
                smooth_method: str = "exp", smooth_value: float | None = None) -> Bleu:
    """Corpus BLEU over whitespace tokens: statistics summed over sentences, then one score.
    ``.score`` equals ``sacrebleu.corpus_bleu(..., tokenize="none").score``."""
    stats = [sentence_stats(h, refs) for h, refs in zip(hypotheses, zip(*references))]
    return bleu_from_stats(sum(stats[1:], stats[0]), smooth_method, smooth_value)


def sentence_bleu(hypothesis: str, references: Sequence[str]) -> Bleu:
    """Sentence BLEU as sacrebleu computes it: exp smoothing and the effective order."""
    return bleu_from_stats(sentence_stats(hypothesis, references), "exp", effective_order=True)

