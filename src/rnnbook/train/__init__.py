"""Training: one fit loop with callbacks (``loop``) and thin task wrappers over it: language modelling
with truncated BPTT (``lm``, Chapters 2-3 and Assignments 2-3)."""
