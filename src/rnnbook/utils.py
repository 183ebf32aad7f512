"""Small helpers every chapter uses: seeding, device choice, progress bars, grading mode."""
from __future__ import annotations

import os
import random

import numpy as np
import torch
from tqdm import tqdm


def seed_everything(seed: int = 0) -> torch.Generator:
    """Seed Python, NumPy and PyTorch; return a torch Generator seeded the same way."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)


def choose_device(prefer: str | None = None) -> torch.device:
    """``cuda`` when available (Colab GPU), else Apple ``mps``, else ``cpu``; ``prefer`` overrides."""
    if prefer:
        return torch.device(prefer)
    if torch.cuda.is_available():
        return torch.device("cuda")
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def is_grading() -> bool:
    """True while nbgrader executes a notebook (it sets ``NBGRADER_EXECUTION``): skip heavy work."""
    return bool(os.environ.get("NBGRADER_EXECUTION"))


def run_scale(default: str = "cpu") -> str:
    """How big a notebook's training run is: ``full`` (GPU), ``cpu`` (minutes) or ``tiny`` (seconds).

    ``RNNBOOK_SCALE`` sets it; grading always means ``tiny``; with no setting, a machine with CUDA
    runs ``full`` and any other machine ``default``.
    """
    if is_grading():
        return "tiny"
    scale = os.environ.get("RNNBOOK_SCALE")
    if scale:
        if scale not in {"full", "cpu", "tiny"}:
            raise ValueError(f"RNNBOOK_SCALE must be full, cpu or tiny, not {scale!r}")
        return scale
    return "full" if torch.cuda.is_available() else default


def progress(iterable=None, **kwargs):
    """A tqdm progress bar, silent while grading or when ``RNNBOOK_PROGRESS=0``."""
    disable = is_grading() or os.environ.get("RNNBOOK_PROGRESS") == "0"
    kwargs.setdefault("disable", disable)
    kwargs.setdefault("mininterval", 0.5)
    kwargs.setdefault("dynamic_ncols", True)
    return tqdm(iterable, **kwargs)
