"""Numbers the course reports: perplexity and bits per character from a mean cross-entropy (in nats).
Chapters 2-3 and Assignments 2-3 (language models); BLEU through sacrebleu for Chapters 4-7.
"""
from __future__ import annotations

import math
from collections.abc import Sequence


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
