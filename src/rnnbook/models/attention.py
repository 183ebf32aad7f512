"""Attention for encoder-decoder models: a masked softmax, three score functions (dot, general, concat)
under one interface, and the two attention decoders (Luong: attend after the RNN step; Bahdanau: before).
Chapter 5 and Assignment 5 (whose hidden tests copy weights from these modules); Chapters 6-7 decode with them.
"""
from __future__ import annotations

import torch
from torch import nn

from .seq2seq import Encoder, Seq2Seq


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

    def forward(self, tokens, state, memory, mask):
        """Many steps at once under teacher forcing (``tokens [B, T]``), the same numbers as ``step`` in a
        loop: without input feeding the recurrent states do not depend on the attention, so one GRU call
        computes them all and the attention runs over ``B * T`` queries at once.
        Returns ``(logits [B, T, V], state, weights [B, T, S])``."""
        if self.input_feeding:
            raise ValueError("with input feeding every step needs the previous one: call step() in a loop")
        hidden, _ = state
        B, T = tokens.shape
        output, hidden = self.rnn(self.drop(self.embedding(tokens)), hidden)          # [B, T, H]
        h = output.reshape(B * T, -1)
        context, weights = self.attention(h, memory.repeat_interleave(T, 0), memory.repeat_interleave(T, 0),
                                          mask.repeat_interleave(T, 0))
        h_tilde = torch.tanh(self.W_c(torch.cat([context, h], dim=-1)))
        logits = self.out(self.drop(h_tilde)).view(B, T, -1)
        return logits, (hidden, h_tilde.view(B, T, -1)[:, -1]), weights.view(B, T, -1)


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


class AttentionSeq2Seq(Seq2Seq):
    """``rnnbook.models.seq2seq.Encoder`` + an attention decoder (``LuongDecoder``/``BahdanauDecoder``),
    with ``Seq2Seq``'s constructor checks and interface:
    ``forward(src, src_lengths, tgt, teacher_forcing, generator) -> logits [B, T-1, V]`` and the decoding
    pair ``start``/``decode_step``, whose state is ``(hidden [N, L, H], *decoder extras, memory [N, S, C],
    mask [N, S])``, batch first. ``attention_weights`` gives the maps for heatmaps."""

    def encode(self, src, src_lengths):
        """``(memory [B, S, C], mask [B, S], first decoder state)``."""
        memory, init = self.encoder(src, src_lengths)
        mask = torch.arange(memory.shape[1], device=memory.device)[None, :] < src_lengths.to(memory.device)[:, None]
        return memory, mask, self.decoder.init_state(init)

    def forward(self, src, src_lengths, tgt, teacher_forcing: float = 1.0, generator: torch.Generator | None = None,
                return_weights: bool = False):
        """Logits ``[B, T-1, V]`` for ``tgt[:, 1:]``; the coin per sentence and step is
        ``torch.rand(B, generator=generator) < teacher_forcing`` (True feeds the ground truth), as in
        ``Seq2Seq``. With ``return_weights`` also the attention ``[B, T-1, S]``."""
        memory, mask, state = self.encode(src, src_lengths)
        if teacher_forcing >= 1.0 and isinstance(self.decoder, LuongDecoder) and not self.decoder.input_feeding:
            logits, _, weights = self.decoder(tgt[:, :-1], state, memory, mask)
            return (logits, weights) if return_weights else logits
        inputs, steps, maps = tgt[:, 0], [], []
        for t in range(1, tgt.size(1)):
            logits, state, weights = self.decoder.step(inputs, state, memory, mask)
            steps.append(logits)
            maps.append(weights)
            if t < tgt.size(1) - 1:
                coin = torch.rand(tgt.size(0), generator=generator).to(tgt.device) < teacher_forcing
                inputs = torch.where(coin, tgt[:, t], logits.argmax(-1))
        logits = torch.stack(steps, dim=1)
        return (logits, torch.stack(maps, dim=1)) if return_weights else logits

    @torch.no_grad()
    def attention_weights(self, src, src_lengths, tgt) -> torch.Tensor:
        """Teacher-forced attention ``[B, T-1, S]``: row ``t`` is where the decoder looked while predicting
        ``tgt[:, t + 1]`` (pass the model's own translation to see how it made it)."""
        return self(src, src_lengths, tgt, return_weights=True)[1]

    def start(self, src, src_lengths) -> tuple[torch.Tensor, ...]:
        memory, mask, state = self.encode(src, src_lengths)
        return (state[0].transpose(0, 1).contiguous(), *state[1:], memory, mask)

    def decode_step(self, tokens, state):
        """One step for ``tokens [N]``: ``(logits [N, V], new state)``."""
        hidden, extras, memory, mask = state[0].transpose(0, 1).contiguous(), state[1:-2], state[-2], state[-1]
        logits, new, _ = self.decoder.step(tokens, (hidden, *extras), memory, mask)
        return logits, (new[0].transpose(0, 1), *new[1:], memory, mask)


def build_attention_seq2seq(src_vocab_size: int, tgt_vocab_size: int, *, embed_dim: int, hidden_dim: int,
                            attention: str = "general", decoder: str = "luong", attn_size: int | None = None,
                            encoder_hidden_dim: int | None = None, num_layers: int = 1, dropout: float = 0.0,
                            input_feeding: bool = False, pad_index: int = 0) -> AttentionSeq2Seq:
    """Chapter 4's bidirectional GRU encoder (``encoder_hidden_dim`` per direction, default ``hidden_dim // 2`` so the
    memory has the decoder's size and dot attention applies) and a Luong or Bahdanau decoder."""
    enc_hidden = encoder_hidden_dim or hidden_dim // 2
    encoder = Encoder(src_vocab_size, embed_dim, enc_hidden, num_layers, dropout, decoder_hidden_dim=hidden_dim,
                      pad_index=pad_index)
    attn = make_attention(attention, hidden_dim, encoder.output_dim, attn_size)
    kwargs = {"input_feeding": input_feeding} if decoder == "luong" else {}
    if decoder not in DECODERS:
        raise ValueError(f"decoder must be one of {', '.join(DECODERS)}, not {decoder!r}")
    dec = DECODERS[decoder](tgt_vocab_size, embed_dim, hidden_dim, encoder.output_dim, attn, num_layers=num_layers,
                            dropout=dropout, pad_index=pad_index, **kwargs)
    return AttentionSeq2Seq(encoder, dec)
