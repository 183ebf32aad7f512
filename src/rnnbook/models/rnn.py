"""Recurrent language models: embedding -> recurrent layer -> projection to the vocabulary.
Chapters 2-3 and Assignments 2-3 (whose tests copy weights from it).
"""
from __future__ import annotations

import torch
from torch import nn

CELLS = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}


class RNNLanguageModel(nn.Module):
    """A next-token model over any vocabulary (words or characters), batch-first throughout.

    ``forward(x [B, T] long, hidden=None) -> (logits [B, T, V], hidden)``. ``hidden`` is what the
    recurrent layer returns: a tensor ``[num_layers, B, H]`` for ``rnn``/``gru``, a pair ``(h, c)`` for
    ``lstm``; ``None`` means zeros. ``tie_weights`` shares the embedding matrix with the projection
    (Press & Wolf 2017; Inan et al. 2017) and needs ``embed_dim == hidden_dim``.

    Attribute names (``embedding``, ``rnn``, ``proj``) are part of the interface: the exercises'
    tests copy weights between this model and the learners' by these names.
    """

    def __init__(self, vocab_size: int, embed_dim: int, hidden_dim: int, num_layers: int = 1,
                 cell: str = "lstm", dropout: float = 0.0, tie_weights: bool = False):
        super().__init__()
        if cell not in CELLS:
            raise ValueError(f"cell must be one of {', '.join(CELLS)}, not {cell!r}")
        if tie_weights and embed_dim != hidden_dim:
            raise ValueError(f"tie_weights needs embed_dim == hidden_dim (got {embed_dim} and {hidden_dim})")
        self.vocab_size, self.embed_dim, self.hidden_dim = vocab_size, embed_dim, hidden_dim
        self.num_layers, self.cell = num_layers, cell
        self.embedding = nn.Embedding(vocab_size, embed_dim)
        self.drop = nn.Dropout(dropout)
        self.rnn = CELLS[cell](embed_dim, hidden_dim, num_layers, batch_first=True,
                               dropout=dropout if num_layers > 1 else 0.0)
        self.proj = nn.Linear(hidden_dim, vocab_size)
        if tie_weights:
            self.proj.weight = self.embedding.weight
        self._init_weights()

    def _init_weights(self, scale: float = 0.1) -> None:
        nn.init.uniform_(self.embedding.weight, -scale, scale)
        nn.init.zeros_(self.proj.bias)
        if self.proj.weight is not self.embedding.weight:
            nn.init.uniform_(self.proj.weight, -scale, scale)

    def forward(self, x: torch.Tensor, hidden=None):
        emb = self.drop(self.embedding(x))          # [B, T, E]
        out, hidden = self.rnn(emb, hidden)         # [B, T, H]
        return self.proj(self.drop(out)), hidden    # [B, T, V]

    def init_hidden(self, batch_size: int, device=None):
        """Zeros in the shape the recurrent layer expects (a pair for LSTM)."""
        if device is None:
            device = self.proj.weight.device
        zeros = torch.zeros(self.num_layers, batch_size, self.hidden_dim, device=device,
                            dtype=self.proj.weight.dtype)
        return (zeros, zeros.clone()) if self.cell == "lstm" else zeros

    def extra_repr(self) -> str:
        tied = self.proj.weight is self.embedding.weight
        return f"cell={self.cell}, tied={tied}"
