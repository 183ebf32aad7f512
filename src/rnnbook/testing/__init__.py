"""What the notebooks' tests import: teaching assertions that say what is wrong (``checks``), the
``forbid`` guard against calling a library shortcut, spies and stand-in models, and the tamper guard.

Importing the package captures the originals the tamper guard compares with, so an assignment's setup
cell imports it before any learner code runs.
"""
from . import guard  # noqa: F401  (captures the originals now)
