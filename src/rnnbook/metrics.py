"""Evaluation numbers shared by the chapters: BLEU through sacrebleu (Chapters 4-7).
"""
from __future__ import annotations

from collections.abc import Sequence


# --- BLEU via sacrebleu (h9: Chapter 4; a thin wrapper, kept separate from other metrics) ---
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
# --- end BLEU via sacrebleu ---
