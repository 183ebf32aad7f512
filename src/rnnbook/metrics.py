"""Numbers the course reports: perplexity and bits per character from a mean cross-entropy (in nats).
Chapters 2-3 and Assignments 2-3 (language models); word P/R/F1 and BLEU helpers come with Chapter 6.
"""
from __future__ import annotations

import math


def perplexity(mean_loss: float) -> float:
    """``exp`` of the mean cross-entropy per token (nats): the effective number of equally likely choices."""
    return math.exp(mean_loss)


def bits_per_char(mean_loss: float) -> float:
    """The mean cross-entropy per character in bits (the loss is in nats, so divide by ln 2)."""
    return mean_loss / math.log(2)
