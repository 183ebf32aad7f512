"""Training loops: language modelling with truncated BPTT (``lm``, Chapters 2-3)."""
