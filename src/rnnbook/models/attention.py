"""Attention for encoder-decoder models: a masked softmax, three score functions (dot, general, concat)
under one interface, and the two attention decoders (Luong: attend after the RNN step; Bahdanau: before).
Chapter 5 and Assignment 5 (whose hidden tests copy weights from these modules); Chapters 6-7 decode with them.
"""
from __future__ import annotations

import torch
from torch import nn


def masked_softmax(scores: torch.Tensor, mask: torch.Tensor | None, dim: int = -1) -> torch.Tensor:
    """``softmax(scores)`` over ``dim`` with the positions where ``mask`` is False left out.

    ``mask`` is a bool tensor of ``scores``' shape (or broadcastable to it), True at real positions.
    Left-out positions get exactly 0.0; each row sums to 1 over its real positions; any finite score
    (±1e30 included) is fine in float32 and float64, because masked scores become -inf (never a large
    negative number, which a larger real score could undercut). A row with no real position has no
    distribution: that raises ``ValueError`` naming the row.
    """
    if mask is None:
        return torch.softmax(scores, dim=dim)
    if mask.dtype != torch.bool:
        raise TypeError(f"mask must be a bool tensor (True at real positions), not {mask.dtype}")
    mask = mask.expand(scores.shape)
    empty = ~mask.any(dim=dim)
    if empty.any():
        row = tuple(int(i) for i in empty.nonzero()[0])
        raise ValueError(f"masked_softmax: row {row} has no real position (its mask is all False); "
                         "every row needs at least one True")
    return torch.softmax(scores.masked_fill(~mask, float("-inf")), dim=dim)


class Attention(nn.Module):
    """The shared interface: ``attn(query [B, Hq], keys [B, S, Hk], values [B, S, Hv], mask [B, S] bool)
    -> (context [B, Hv], weights [B, S])``. Subclasses define ``score(query, keys) -> [B, S]``."""

    def score(self, query: torch.Tensor, keys: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def forward(self, query, keys, values, mask=None):
        weights = masked_softmax(self.score(query, keys), mask)            # [B, S]
        context = torch.bmm(weights.unsqueeze(1), values).squeeze(1)       # [B, Hv]
        return context, weights


class DotAttention(Attention):
    """``score(s, h) = s · h`` (Luong's dot): no parameters; needs ``Hq == Hk``."""

    def score(self, query, keys):
        if query.shape[-1] != keys.shape[-1]:
            raise ValueError(f"dot attention needs equal query and key sizes, got {query.shape[-1]} and "
                             f"{keys.shape[-1]}: use GeneralAttention or ConcatAttention")
        return torch.bmm(keys, query.unsqueeze(2)).squeeze(2)


class GeneralAttention(Attention):
    """``score(s, h) = s^T W_a h`` (Luong's general): ``W_a`` is ``[Hq, Hk]``, Hq·Hk parameters."""

    def __init__(self, query_size: int, key_size: int):
        super().__init__()
        self.W_a = nn.Linear(key_size, query_size, bias=False)   # weight [Hq, Hk]

    def score(self, query, keys):
        return torch.bmm(keys, (query @ self.W_a.weight).unsqueeze(2)).squeeze(2)


class ConcatAttention(Attention):
    """``score(s, h) = v_a^T tanh(W_a [s; h])`` (Bahdanau's additive attention, a one-layer MLP):
    ``W_a`` is ``[A, Hq + Hk]`` and ``v_a`` is ``[1, A]``, A·(Hq + Hk + 1) parameters."""

    def __init__(self, query_size: int, key_size: int, attn_size: int):
        super().__init__()
        self.query_size = query_size
        self.W_a = nn.Linear(query_size + key_size, attn_size, bias=False)
        self.v_a = nn.Linear(attn_size, 1, bias=False)

    def score(self, query, keys):
        # W_a [s; h] = W_q s + W_k h: project the query once instead of concatenating it S times.
        W_q, W_k = self.W_a.weight[:, :self.query_size], self.W_a.weight[:, self.query_size:]
        hidden = torch.tanh((query @ W_q.T).unsqueeze(1) + keys @ W_k.T)   # [B, S, A]
        return self.v_a(hidden).squeeze(2)


SCORES = {"dot": DotAttention, "general": GeneralAttention, "concat": ConcatAttention}


def make_attention(kind: str, query_size: int, key_size: int, attn_size: int | None = None) -> Attention:
    """One of the three score functions by name (``dot``, ``general``, ``concat``)."""
    if kind == "dot":
        return DotAttention()
    if kind == "general":
        return GeneralAttention(query_size, key_size)
    if kind == "concat":
        return ConcatAttention(query_size, key_size, attn_size or query_size)
    raise ValueError(f"attention must be one of {', '.join(SCORES)}, not {kind!r}")


class LuongDecoder(nn.Module):
    """Attend after the RNN step (Luong et al. 2015).

    ``h_t = GRU([e(y_{t-1}); h~_{t-1}], h_{t-1})`` (the ``h~`` part only with ``input_feeding``),
    ``c_t = attn(h_t, memory)``, ``h~_t = tanh(W_c [c_t; h_t])``, ``logits = out(h~_t)``.
    The state is the tuple ``(hidden [L, B, H], h~ [B, H])``.
    """

    def __init__(self, vocab_size: int, embed_dim: int, hidden_dim: int, context_dim: int, attention: Attention,
                 num_layers: int = 1, dropout: float = 0.0, input_feeding: bool = False, pad_index: int = 0):
        super().__init__()
        self.hidden_dim, self.num_layers, self.input_feeding = hidden_dim, num_layers, input_feeding
        self.embedding = nn.Embedding(vocab_size, embed_dim, padding_idx=pad_index)
        self.drop = nn.Dropout(dropout)
        self.rnn = nn.GRU(embed_dim + (hidden_dim if input_feeding else 0), hidden_dim, num_layers,
                          batch_first=True, dropout=dropout if num_layers > 1 else 0.0)
        self.attention = attention
        self.W_c = nn.Linear(context_dim + hidden_dim, hidden_dim, bias=False)
        self.out = nn.Linear(hidden_dim, vocab_size)

    def init_state(self, hidden: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The first state from the encoder's ``decoder_init [L, B, H]``; ``h~_0`` is zeros."""
        return hidden, hidden.new_zeros(hidden.shape[1], self.hidden_dim)

    def step(self, prev_tokens, state, memory, mask):
        """``prev_tokens [B]``, ``memory [B, S, C]`` (keys = values), ``mask [B, S]``
        -> ``(logits [B, V], state, weights [B, S])``."""
        hidden, feed = state
        x = self.drop(self.embedding(prev_tokens))                       # [B, E]
        if self.input_feeding:
            x = torch.cat([x, feed], dim=-1)
        output, hidden = self.rnn(x.unsqueeze(1), hidden)                # output [B, 1, H]
        h = output.squeeze(1)
        context, weights = self.attention(h, memory, memory, mask)       # [B, C], [B, S]
        h_tilde = torch.tanh(self.W_c(torch.cat([context, h], dim=-1)))  # [B, H]
        return self.out(self.drop(h_tilde)), (hidden, h_tilde), weights


class BahdanauDecoder(nn.Module):
    """Attend before the RNN step, with the previous state (Bahdanau et al. 2015).

    ``c_t = attn(s_{t-1}, memory)`` (top layer of the previous state), ``s_t = GRU([e(y_{t-1}); c_t], s_{t-1})``,
    ``logits = out([s_t; c_t; e(y_{t-1})])``. The state is the tuple ``(hidden [L, B, H],)``.
    """

    def __init__(self, vocab_size: int, embed_dim: int, hidden_dim: int, context_dim: int, attention: Attention,
                 num_layers: int = 1, dropout: float = 0.0, pad_index: int = 0):
        super().__init__()
        self.hidden_dim, self.num_layers = hidden_dim, num_layers
        self.embedding = nn.Embedding(vocab_size, embed_dim, padding_idx=pad_index)
        self.drop = nn.Dropout(dropout)
        self.attention = attention
        self.rnn = nn.GRU(embed_dim + context_dim, hidden_dim, num_layers, batch_first=True,
                          dropout=dropout if num_layers > 1 else 0.0)
        self.out = nn.Linear(hidden_dim + context_dim + embed_dim, vocab_size)

    def init_state(self, hidden: torch.Tensor) -> tuple[torch.Tensor]:
        return (hidden,)

    def step(self, prev_tokens, state, memory, mask):
        """Same interface as ``LuongDecoder.step``."""
        (hidden,) = state
        embedded = self.drop(self.embedding(prev_tokens))                        # [B, E]
        context, weights = self.attention(hidden[-1], memory, memory, mask)       # from s_{t-1}
        output, hidden = self.rnn(torch.cat([embedded, context], dim=-1).unsqueeze(1), hidden)
        features = torch.cat([output.squeeze(1), context, embedded], dim=-1)
        return self.out(self.drop(features)), (hidden,), weights


DECODERS = {"luong": LuongDecoder, "bahdanau": BahdanauDecoder}
