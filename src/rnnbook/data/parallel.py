"""Sentence pairs for translation: reading a parallel corpus, vocabularies, and padded pair batches.
Chapter 4 (seq2seq) onwards, and Assignments 4-6; the encoder packs what ``batches`` pads.
"""
from __future__ import annotations

import functools
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

import torch

from .batching import pad_batch
from .datasets import translation_pairs
from .vocab import EOS, SOS, Vocab, tokenize_words

# Default direction per corpus: the target is English, so every reader can judge the translations.
DIRECTIONS = {"multi30k": ("de", "en"), "eng-fra": ("fr", "en"), "kor-eng": ("ko", "en")}
# Tatoeba ships one file: a fixed shuffle (this seed), then this many pairs each for valid and test.
TATOEBA_SPLIT_SEED, TATOEBA_HELD_OUT = 1234, 4000

Example = tuple[list[int], list[int]]


def read_pairs(corpus: str, split: str, *, source: str | None = None,
               target: str | None = None) -> list[tuple[str, str]]:
    """Raw ``(source, target)`` sentence pairs of one split: ``"train"``, ``"valid"`` or ``"test"``.

    ``multi30k`` uses its own splits (test = test_2016_flickr); the Tatoeba corpora (``eng-fra``,
    ``kor-eng``) are one file, split here by a fixed shuffle into 4000 valid / 4000 test / the rest train.
    The direction defaults to ``DIRECTIONS[corpus]``.
    """
    if split not in ("train", "valid", "test"):
        raise ValueError(f"split must be 'train', 'valid' or 'test', not {split!r}")
    default_src, default_tgt = DIRECTIONS.get(corpus, (None, None))
    source, target = source or default_src, target or default_tgt
    if corpus == "multi30k":
        return translation_pairs(corpus, split, source=source, target=target)
    pairs = _shuffled_pairs(corpus, source, target)
    n = TATOEBA_HELD_OUT
    return {"valid": pairs[:n], "test": pairs[n:2 * n], "train": pairs[2 * n:]}[split]


@functools.lru_cache(maxsize=4)
def _shuffled_pairs(corpus: str, source: str, target: str) -> list[tuple[str, str]]:
    """A Tatoeba file's pairs in a fixed random order (the file itself is sorted by length)."""
    pairs = translation_pairs(corpus, "all", source=source, target=target)
    random.Random(TATOEBA_SPLIT_SEED).shuffle(pairs)
    return pairs


def tokenize(sentence: str) -> list[str]:
    """The course's tokenizer for translation: lowercased words and punctuation marks."""
    return tokenize_words(sentence, lower=True)


class PairBatch(NamedTuple):
    """Padded source and target indices with their true lengths (targets include ``<sos>``/``<eos>``)."""

    src: torch.Tensor           # [B, S] long
    src_lengths: torch.Tensor   # [B] long
    tgt: torch.Tensor           # [B, T] long
    tgt_lengths: torch.Tensor   # [B] long

    def to(self, device) -> "PairBatch":
        return PairBatch(*(t.to(device) for t in self))


@dataclass
class TranslationData:
    """A tokenized parallel corpus: vocabularies built from TRAIN only, index pairs per split.

    ``train/valid/test`` are lists of ``(src_ids, tgt_ids)``; ``tgt_ids`` are wrapped in
    ``<sos> ... <eos>``; with ``reverse_source`` the source ids are reversed (Sutskever et al. 2014).
    ``raw[split]`` holds the raw sentence pairs aligned with the examples (for references and display).
    """

    corpus: str
    source: str
    target: str
    src_vocab: Vocab
    tgt_vocab: Vocab
    train: list[Example]
    valid: list[Example]
    test: list[Example]
    raw: dict[str, list[tuple[str, str]]] = field(repr=False)
    reverse_source: bool = False

    @classmethod
    def build(cls, corpus: str, *, source: str | None = None, target: str | None = None,
              max_len: int | None = None, limit: int | None = None, eval_limit: int | None = None,
              min_freq: int = 2, reverse_source: bool = False) -> "TranslationData":
        """Read, tokenize and index a corpus.

        ``max_len`` keeps only pairs whose source and target have at most that many tokens (in every
        split, so short-sentence subsets are consistent); ``limit`` keeps the first that many train
        pairs and ``eval_limit`` the first that many valid/test pairs, after filtering; ``min_freq``
        is the vocabulary threshold (rarer train tokens become ``<unk>``).
        """
        default_src, default_tgt = DIRECTIONS.get(corpus, (None, None))
        source, target = source or default_src, target or default_tgt
        raw, tokens = {}, {}
        for split, cap in (("train", limit), ("valid", eval_limit), ("test", eval_limit)):
            kept_raw, kept_tok = [], []
            for src, tgt in read_pairs(corpus, split, source=source, target=target):
                s, t = tokenize(src), tokenize(tgt)
                if not s or not t or (max_len is not None and (len(s) > max_len or len(t) > max_len)):
                    continue
                kept_raw.append((src, tgt))
                kept_tok.append((s, t))
                if cap is not None and len(kept_raw) >= cap:
                    break
            raw[split], tokens[split] = kept_raw, kept_tok
        src_vocab = Vocab.build((s for s, _ in tokens["train"]), min_freq=min_freq)
        tgt_vocab = Vocab.build((t for _, t in tokens["train"]), min_freq=min_freq)
        data = cls(corpus, source, target, src_vocab, tgt_vocab, [], [], [], raw, reverse_source)
        for split in ("train", "valid", "test"):
            setattr(data, split, [(data.encode_source(s), tgt_vocab.encode(t, add_sos_eos=True))
                                  for s, t in tokens[split]])
        return data

    def encode_source(self, sentence: str | Sequence[str]) -> list[int]:
        """A source sentence (a string or its tokens) as indices, reversed if the data set is."""
        tokens = tokenize(sentence) if isinstance(sentence, str) else list(sentence)
        ids = self.src_vocab.encode(tokens)
        return ids[::-1] if self.reverse_source else ids

    def decode_target(self, ids: Sequence[int]) -> str:
        """Target indices -> a space-joined sentence (specials stripped, stops at ``<eos>``)."""
        return " ".join(self.tgt_vocab.decode(ids))

    def references(self, split: str) -> list[str]:
        """The target sentences of a split as the model sees them: lowercased, tokenized, space-joined
        (what "BLEU on tokenized lowercased text" compares against)."""
        return [" ".join(tokenize(t)) for _, t in self.raw[split]]

    @property
    def pad_index(self) -> int:
        return self.tgt_vocab.pad_index

    @property
    def sos_index(self) -> int:
        return self.tgt_vocab.index(SOS)

    @property
    def eos_index(self) -> int:
        return self.tgt_vocab.index(EOS)


def collate(examples: Sequence[Example], pad_index: int) -> PairBatch:
    """Pad a list of ``(src_ids, tgt_ids)`` into one ``PairBatch`` (order kept)."""
    src, src_lengths = pad_batch([s for s, _ in examples], pad_index)
    tgt, tgt_lengths = pad_batch([t for _, t in examples], pad_index)
    return PairBatch(src, src_lengths, tgt, tgt_lengths)


def batches(examples: Sequence[Example], batch_size: int, *, shuffle: bool,
            generator: torch.Generator | None = None, pad_index: int = 0,
            bucket: bool = False) -> Iterator[PairBatch]:
    """Padded batches of ``batch_size`` pairs (the last may be smaller).

    ``shuffle`` draws the order with ``generator``. ``bucket`` sorts windows of 50 batches by source
    length before cutting them, so batches hold similar lengths (less padding), then shuffles the
    batches themselves when ``shuffle`` is on.
    """
    n = len(examples)
    order = torch.randperm(n, generator=generator).tolist() if shuffle else list(range(n))
    if bucket:
        window = 50 * batch_size
        order = [i for w in range(0, n, window)
                 for i in sorted(order[w:w + window], key=lambda i: len(examples[i][0]))]
    cuts = [order[i:i + batch_size] for i in range(0, n, batch_size)]
    if bucket and shuffle:
        cuts = [cuts[i] for i in torch.randperm(len(cuts), generator=generator).tolist()]
    for cut in cuts:
        yield collate([examples[i] for i in cut], pad_index)
