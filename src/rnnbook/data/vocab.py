"""Tokenizers and the vocabulary: text -> tokens -> indices, and back.
Chapter 1 builds these by hand; Assignment 1 asks for its own versions.
"""
from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence

PAD, UNK, SOS, EOS = "<pad>", "<unk>", "<sos>", "<eos>"
SPECIALS = (PAD, UNK, SOS, EOS)

_WORD_OR_SYMBOL = re.compile(r"\w+|[^\w\s]")


def tokenize_words(text: str, lower: bool = True) -> list[str]:
    """Words and punctuation: a token is a run of letters/digits/underscores, or one other
    non-space character. ``"Don't!"`` -> ``["don", "'", "t", "!"]``."""
    if lower:
        text = text.lower()
    return _WORD_OR_SYMBOL.findall(text)


def tokenize_whitespace(text: str) -> list[str]:
    """Split on runs of white space (for pre-tokenized corpora such as WikiText and PTB)."""
    return text.split()


def tokenize_chars(text: str) -> list[str]:
    """Every character is a token, spaces and newlines included."""
    return list(text)


class Vocab:
    """Maps tokens to indices and back.

    Specials come first, in the order given; then every token seen at least ``min_freq`` times,
    most frequent first (ties in alphabetical order, so the result does not depend on input order).
    Unknown tokens map to ``<unk>``.
    """

    def __init__(self, counts: Counter | dict[str, int], min_freq: int = 1,
                 max_size: int | None = None, specials: Sequence[str] = SPECIALS):
        if UNK not in specials:
            raise ValueError(f"specials must contain {UNK!r} so unknown tokens have an index")
        kept = sorted((t for t, c in counts.items() if c >= min_freq and t not in specials),
                      key=lambda t: (-counts[t], t))
        if max_size is not None:
            kept = kept[: max(0, max_size - len(specials))]
        self.itos: list[str] = list(specials) + kept
        self.stoi: dict[str, int] = {t: i for i, t in enumerate(self.itos)}
        self.specials = tuple(specials)

    @classmethod
    def build(cls, token_lists: Iterable[Sequence[str]], **kwargs) -> "Vocab":
        counts: Counter = Counter()
        for tokens in token_lists:
            counts.update(tokens)
        return cls(counts, **kwargs)

    def __len__(self) -> int:
        return len(self.itos)

    def __contains__(self, token: str) -> bool:
        return token in self.stoi

    def __getitem__(self, token: str) -> int:
        return self.stoi.get(token, self.stoi[UNK])

    def index(self, special: str) -> int:
        return self.stoi[special]

    @property
    def pad_index(self) -> int:
        return self.stoi[PAD]

    @property
    def unk_index(self) -> int:
        return self.stoi[UNK]

    def encode(self, tokens: Sequence[str], add_sos_eos: bool = False) -> list[int]:
        ids = [self[t] for t in tokens]
        if add_sos_eos:
            ids = [self.stoi[SOS], *ids, self.stoi[EOS]]
        return ids

    def decode(self, ids: Iterable[int], strip_specials: bool = True) -> list[str]:
        """Indices back to tokens; stops at ``<eos>`` and drops ``<pad>``/``<sos>`` when stripping."""
        tokens = []
        for i in ids:
            token = self.itos[int(i)]
            if strip_specials:
                if token == EOS:
                    break
                if token in (PAD, SOS):
                    continue
            tokens.append(token)
        return tokens

    def __repr__(self) -> str:
        preview = ", ".join(self.itos[:8])
        return f"Vocab(size={len(self)}: {preview}, ...)"


def corpus_tokens(text: str) -> list[str]:
    """WikiText/PTB convention: whitespace tokens, one ``<eos>`` at the end of every line."""
    tokens: list[str] = []
    for line in text.splitlines():
        tokens.extend(line.split())
        tokens.append(EOS)
    return tokens
