"""The course's reference models: recurrent language models (``rnn``, Chapters 2-3)."""
