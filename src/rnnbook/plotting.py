"""The course's standard figures and the one figure style of the book (all chapters).

Every chapter's generated setup cell calls :func:`use_book_style`, so figures look the same everywhere
and stay sharp on high-DPI screens (SVG in notebooks and in the rendered book).
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np

BOOK_STYLE = {
    "figure.figsize": (6.4, 3.6),     # fits the book's text column at full size: text stays readable
    "figure.dpi": 110,
    "savefig.dpi": 200,               # PNG fallback (e.g. heat maps saved to files): 2x resolution
    "savefig.bbox": "tight",
    "font.size": 11,
    "axes.titlesize": 12,
    "axes.labelsize": 11,
    "legend.fontsize": 10,
    "legend.frameon": False,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.prop_cycle": mpl.cycler(color=["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b"]),
    "image.cmap": "viridis",
    "svg.fonttype": "none",           # text in SVG stays text: crisp, selectable, searchable
}


def use_book_style() -> None:
    """Apply the book's figure style; in a notebook, also draw figures as SVG (sharp at any zoom)."""
    mpl.rcParams.update(BOOK_STYLE)
    try:
        from IPython import get_ipython
        from matplotlib_inline.backend_inline import InlineBackend, set_matplotlib_formats
    except ImportError:  # plain Python: the style is enough
        return
    if get_ipython() is not None:
        InlineBackend.instance().figure_formats = {"svg"}  # survives a later `%matplotlib inline`
        InlineBackend.instance().rc = {}  # and so does the style (the inline backend resets rc otherwise)
        set_matplotlib_formats("svg")


def plot_curves(curves: Mapping[str, Sequence[float]], *, xlabel: str = "step", ylabel: str = "loss",
                title: str | None = None, logy: bool = False, ax=None):
    """Several named curves on one axis (loss curves, gradient norms over time, ...)."""
    ax = ax or plt.subplots(figsize=(6, 3.5))[1]
    for name, values in curves.items():
        ax.plot(np.arange(1, len(values) + 1), list(values), label=name)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if logy:
        ax.set_yscale("log")
    if title:
        ax.set_title(title)
    if len(curves) > 1:
        ax.legend()
    ax.grid(alpha=0.3)
    return ax


def plot_histogram(values: Sequence[float], *, bins: int = 50, xlabel: str = "", title: str | None = None,
                   ax=None):
    ax = ax or plt.subplots(figsize=(6, 3.5))[1]
    ax.hist(list(values), bins=bins, color="tab:blue", alpha=0.8)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("count")
    if title:
        ax.set_title(title)
    ax.grid(alpha=0.3)
    return ax


def plot_heatmap(matrix, *, row_labels: Sequence[str] | None = None, col_labels: Sequence[str] | None = None,
                 title: str | None = None, cmap: str = "viridis", ax=None):
    """A matrix as an image with token labels (attention maps, confusion of gates, ...)."""
    matrix = np.asarray(matrix, dtype=float)
    ax = ax or plt.subplots(figsize=(0.5 * matrix.shape[1] + 2, 0.5 * matrix.shape[0] + 1.5))[1]
    image = ax.imshow(matrix, cmap=cmap, aspect="auto")
    if col_labels is not None:
        ax.set_xticks(range(len(col_labels)), labels=list(col_labels), rotation=60, ha="right")
    if row_labels is not None:
        ax.set_yticks(range(len(row_labels)), labels=list(row_labels))
    if title:
        ax.set_title(title)
    ax.figure.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
    return ax
