"""Shared code for the course "From RNNs to Attention".

Modules, each doing one thing:

- ``datasets``: the registry of real data sets, download with checksums, offline mirror;
- ``text``: tokenizers and the vocabulary;
- ``batching``: padding, packing helpers and language-model batching;
- ``checks``: comparison helpers that visible tests use to explain what is wrong;
- ``plotting``: the course's standard figures;
- ``utils``: seeding, device choice, progress bars, grading-mode switch;
- ``grading``: the instructor's and learner's command line (``course``).
"""
__version__ = "0.1.0"
