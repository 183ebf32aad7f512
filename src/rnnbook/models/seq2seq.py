"""The encoder-decoder translation model without attention (Sutskever et al. 2014; Cho et al. 2014).
Chapter 4 runs it for its experiments; Assignment 4 asks learners to write it (tests copy weights from it);
Chapters 5-7 decode through the same ``start``/``decode_step`` interface.
"""
from __future__ import annotations

import torch
from torch import nn

from ..data.batching import run_packed


class Encoder(nn.Module):
    """Embedding -> (bi)directional multi-layer GRU over a packed batch -> bridged decoder state.

    ``forward(src [B, S] long, src_lengths [B] long) -> (outputs [B, S, D*H], decoder_init [L, B, Hd])``
    with ``D = 2`` directions (1 if ``bidirectional=False``). Outputs are zero at padded positions,
    and padding is never read (``enforce_sorted=False``: any order of lengths). For each layer, the
    final forward and backward states are concatenated and mapped by ``tanh(bridge(.))`` to the
    decoder's size ``Hd`` (``decoder_hidden_dim``, default ``hidden_dim``).
    Attribute names (``embedding``, ``rnn``, ``bridge``) are an interface: tests copy weights by them.
    """

    def __init__(self, vocab_size: int, embed_dim: int, hidden_dim: int, num_layers: int = 1,
                 dropout: float = 0.0, decoder_hidden_dim: int | None = None, pad_index: int = 0,
                 bidirectional: bool = True):
        super().__init__()
        self.num_layers, self.hidden_dim = num_layers, hidden_dim
        self.directions = 2 if bidirectional else 1
        self.output_dim = self.directions * hidden_dim
        self.decoder_hidden_dim = decoder_hidden_dim or hidden_dim
        self.embedding = nn.Embedding(vocab_size, embed_dim, padding_idx=pad_index)
        self.drop = nn.Dropout(dropout)
        self.rnn = nn.GRU(embed_dim, hidden_dim, num_layers, batch_first=True, bidirectional=bidirectional,
                          dropout=dropout if num_layers > 1 else 0.0)
        self.bridge = nn.Linear(self.output_dim, self.decoder_hidden_dim)

    def forward(self, src: torch.Tensor, src_lengths: torch.Tensor):
        outputs, h_n = run_packed(self.rnn, self.drop(self.embedding(src)), src_lengths)
        batch = src.size(0)
        # h_n is [L*D, B, H], ordered layer by layer, forward before backward within a layer.
        finals = h_n.view(self.num_layers, self.directions, batch, self.hidden_dim)
        finals = finals.permute(0, 2, 1, 3).reshape(self.num_layers, batch, self.output_dim)
        return outputs, torch.tanh(self.bridge(finals))


class Decoder(nn.Module):
    """A GRU language model over the target, started from the encoder's state.

    ``step(prev_tokens [B] long, hidden [L, B, H]) -> (logits [B, V], hidden [L, B, H])`` runs one
    step; ``forward(tokens [B, T], hidden)`` runs many at once (teacher forcing, same numbers).
    """

    def __init__(self, vocab_size: int, embed_dim: int, hidden_dim: int, num_layers: int = 1,
                 dropout: float = 0.0, pad_index: int = 0):
        super().__init__()
        self.vocab_size, self.num_layers, self.hidden_dim = vocab_size, num_layers, hidden_dim
        self.embedding = nn.Embedding(vocab_size, embed_dim, padding_idx=pad_index)
        self.drop = nn.Dropout(dropout)
        self.rnn = nn.GRU(embed_dim, hidden_dim, num_layers, batch_first=True,
                          dropout=dropout if num_layers > 1 else 0.0)
        self.out = nn.Linear(hidden_dim, vocab_size)

    def forward(self, tokens: torch.Tensor, hidden: torch.Tensor):
        output, hidden = self.rnn(self.drop(self.embedding(tokens)), hidden)
        return self.out(self.drop(output)), hidden

    def step(self, prev_tokens: torch.Tensor, hidden: torch.Tensor):
        logits, hidden = self(prev_tokens.unsqueeze(1), hidden)
        return logits.squeeze(1), hidden


class Seq2Seq(nn.Module):
    """Encoder + decoder; the encoder's bridged final state is the decoder's first hidden state."""

    def __init__(self, encoder: Encoder, decoder: Decoder):
        super().__init__()
        if encoder.num_layers != decoder.num_layers or encoder.decoder_hidden_dim != decoder.hidden_dim:
            raise ValueError(
                f"the encoder bridges to {encoder.num_layers} layer(s) of size {encoder.decoder_hidden_dim}, "
                f"but the decoder has {decoder.num_layers} of size {decoder.hidden_dim}; make them agree")
        self.encoder, self.decoder = encoder, decoder

    def forward(self, src: torch.Tensor, src_lengths: torch.Tensor, tgt: torch.Tensor,
                teacher_forcing: float = 1.0, generator: torch.Generator | None = None) -> torch.Tensor:
        """Logits ``[B, T-1, V]``: the predictions for ``tgt[:, 1:]``, given ``tgt[:, 0]`` (``<sos>``).

        At each later step a coin per sentence, ``torch.rand(B, generator=generator) < teacher_forcing``,
        chooses the input: True feeds the ground truth ``tgt[:, t]``, False the model's own arg-max
        prediction. So ``1.0`` is full teacher forcing and ``0.0`` free running.
        """
        _, hidden = self.encoder(src, src_lengths)
        if teacher_forcing >= 1.0:  # all ground truth: one call over the whole sequence, same numbers
            logits, _ = self.decoder(tgt[:, :-1], hidden)
            return logits
        inputs, steps = tgt[:, 0], []
        for t in range(1, tgt.size(1)):
            logits, hidden = self.decoder.step(inputs, hidden)
            steps.append(logits)
            if t < tgt.size(1) - 1:
                coin = torch.rand(tgt.size(0), generator=generator).to(tgt.device) < teacher_forcing
                inputs = torch.where(coin, tgt[:, t], logits.argmax(-1))
        return torch.stack(steps, dim=1)

    # The decoding interface (greedy, beam): the state's first dimension is the batch.
    def start(self, src: torch.Tensor, src_lengths: torch.Tensor) -> tuple[torch.Tensor]:
        """Encode; the state is ``(hidden [N, L, H],)``, batch first so a search can reorder it."""
        _, hidden = self.encoder(src, src_lengths)
        return (hidden.transpose(0, 1).contiguous(),)

    def decode_step(self, tokens: torch.Tensor, state: tuple[torch.Tensor]):
        """One decoder step for ``tokens [N]``: ``(logits [N, V], new state)``."""
        logits, hidden = self.decoder.step(tokens, state[0].transpose(0, 1).contiguous())
        return logits, (hidden.transpose(0, 1),)


def build_seq2seq(src_vocab_size: int, tgt_vocab_size: int, *, embed_dim: int, hidden_dim: int,
                  num_layers: int = 1, dropout: float = 0.0, bidirectional: bool = True,
                  pad_index: int = 0) -> Seq2Seq:
    """A ``Seq2Seq`` whose encoder and decoder share sizes (the bridge maps to ``hidden_dim``)."""
    encoder = Encoder(src_vocab_size, embed_dim, hidden_dim, num_layers, dropout, pad_index=pad_index,
                      bidirectional=bidirectional)
    decoder = Decoder(tgt_vocab_size, embed_dim, hidden_dim, num_layers, dropout, pad_index=pad_index)
    return Seq2Seq(encoder, decoder)
