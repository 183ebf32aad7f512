"""Shared code for the course "From RNNs to Attention", laid out in the order the course teaches it.

- ``data``: real data sets (registry, mirror, checksums), tokenizers and vocabularies, batching;
- ``models``: recurrent language models (and, later, encoder-decoder and attention models);
- ``train``: training loops (language modelling; translation);
- ``decoding``: turning a model's distributions into text (sampling, greedy);
- ``analysis``: gradient flow through time, interpretable units;
- ``plotting``: the course's standard figures;
- ``testing``: what the notebooks' tests import (teaching assertions, ``forbid``, the tamper guard);
- ``grading``: the ``course`` command line (release, self-check, grading);
- ``utils``: seeding, device choice, progress bars, run scale.
"""
__version__ = "0.1.0"
