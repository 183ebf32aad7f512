"""Count-based n-gram language models (add-k and interpolated Kneser-Ney): the baseline that
Chapter 2 puts beside the RNN language model, on the same split and the same tokens.
"""
from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Hashable, Sequence


class NGramLM:
    """An order-``n`` model of ``p(token | previous n - 1 tokens)`` over a fixed vocabulary.

    ``smoothing="kneser-ney"``: interpolated Kneser-Ney with one absolute discount (Chen & Goodman
    1999): lower orders use continuation counts (in how many contexts a token follows), and the
    unigram level is interpolated with a uniform distribution, so every vocabulary token gets mass.
    ``smoothing="add-k"``: ``(c(h, w) + k) / (c(h) + k |V|)`` on the full-order counts.
    The first tokens of a text are scored with the shorter context they have.
    """

    def __init__(self, order: int, vocab: Sequence[Hashable], *, smoothing: str = "kneser-ney",
                 discount: float = 0.75, k: float = 1.0):
        if order < 1:
            raise ValueError(f"order must be at least 1, not {order}")
        if smoothing not in ("kneser-ney", "add-k"):
            raise ValueError(f"smoothing must be 'kneser-ney' or 'add-k', not {smoothing!r}")
        if not 0 < discount < 1:
            raise ValueError(f"discount must be in (0, 1), not {discount}")
        self.order, self.smoothing, self.discount, self.k = order, smoothing, discount, k
        self.vocab = list(dict.fromkeys(vocab))
        # counts[m][context][token] for context length m = 0 .. order - 1
        self.counts: list[dict[tuple, Counter]] = [defaultdict(Counter) for _ in range(order)]

    def fit(self, tokens: Sequence[Hashable]) -> "NGramLM":
        unknown = set(tokens) - set(self.vocab)
        if unknown:
            raise ValueError(f"{len(unknown)} training tokens are not in the vocabulary, e.g. {sorted(map(str, unknown))[:3]}")
        tokens = list(tokens)
        top = self.order - 1
        for i in range(top, len(tokens)):
            self.counts[top][tuple(tokens[i - top:i])][tokens[i]] += 1
        if self.smoothing == "kneser-ney":   # lower orders: number of distinct left extensions
            for m in range(top, 0, -1):
                for context, followers in self.counts[m].items():
                    for token in followers:
                        self.counts[m - 1][context[1:]][token] += 1
        self._totals = [{h: sum(c.values()) for h, c in level.items()} for level in self.counts]
        return self

    def prob(self, context: Sequence[Hashable], token: Hashable) -> float:
        """``p(token | context)``; only the last ``order - 1`` tokens of ``context`` are used."""
        context = tuple(context)[max(0, len(context) - (self.order - 1)):]
        if self.smoothing == "add-k":
            m = len(context)
            seen = self.counts[m].get(context, Counter())
            return (seen[token] + self.k) / (self._totals[m].get(context, 0) + self.k * len(self.vocab))
        return self._kn(context, token)

    def _kn(self, context: tuple, token: Hashable) -> float:
        m = len(context)
        lower = self._kn(context[1:], token) if m > 0 else 1 / len(self.vocab)
        followers = self.counts[m].get(context)
        if not followers:                   # unseen context: all mass to the shorter one
            return lower
        total = self._totals[m][context]
        discounted = max(followers[token] - self.discount, 0) / total
        return discounted + self.discount * len(followers) / total * lower

    def mean_loss(self, tokens: Sequence[Hashable]) -> float:
        """Mean cross-entropy in nats per predicted token (every token after the first)."""
        tokens = list(tokens)
        total = 0.0
        for i in range(1, len(tokens)):
            total -= math.log(self.prob(tokens[max(0, i - self.order + 1):i], tokens[i]))
        return total / max(len(tokens) - 1, 1)
