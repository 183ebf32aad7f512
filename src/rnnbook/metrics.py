"""Scores for language models: perplexity and bits per character from a mean cross-entropy in nats.
Chapters 2-3 (character and word models) and the assignments' reports.
"""
from __future__ import annotations

import math


def perplexity(mean_loss_nats: float) -> float:
    """``exp`` of the mean cross-entropy per token (nats): the model's effective branching factor."""
    return math.exp(mean_loss_nats)


def bits_per_char(mean_loss_nats: float) -> float:
    """The mean cross-entropy per character in bits (``loss / ln 2``); lower is better.

    A character model's perplexity is ``2 ** bpc``; bpc is the usual unit for character models
    because it reads as a compression rate (8 bits per character would be plain ASCII).
    """
    return mean_loss_nats / math.log(2)
