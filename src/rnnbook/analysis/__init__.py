"""Looking inside trained models: gradient flow through time (``gradients``, Chapters 2-3) and
interpretable units of a character LSTM (``interpret``, Chapter 3)."""
