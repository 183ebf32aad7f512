"""Looking inside a character LSTM: record every unit's activation, correlate units with signals
of the text (inside quotes or brackets, position in the line, ...), and show text coloured by a unit.

The recording works on any ``nn.LSTM`` (and on models that contain one after an ``nn.Embedding``,
such as the course's ``RNNLanguageModel``). ``nn.LSTM`` returns ``h_t`` for every step but the cell
state ``c_t`` only for the last one; :func:`lstm_activations` re-runs the recurrence from the
module's own weights (the input products batched over time), so the gates ``i, f, g, o`` and ``c_t``
come out for every step and layer, as ``nn.LSTM`` computes them.
"""
from __future__ import annotations

import html
import re
from collections.abc import Callable, Mapping, Sequence

import numpy as np
import torch
from torch import nn

GATES = ("i", "f", "g", "o")
_OPEN = {"(": ")", "[": "]", "{": "}"}
_CLOSE = {v: k for k, v in _OPEN.items()}


# --------------------------------------------------------------------------------------------
# Recording


@torch.no_grad()
def lstm_activations(lstm: nn.LSTM, inputs: torch.Tensor,
                     state: tuple[torch.Tensor, torch.Tensor] | None = None) -> dict[str, torch.Tensor]:
    """Every activation of a (uni-directional, eval-mode) ``nn.LSTM`` at every step.

    ``inputs`` is ``[B, T, D]`` when ``lstm.batch_first`` else ``[T, B, D]``; ``state`` is the
    usual ``(h0, c0)`` of shape ``[L, B, H]``. Returns a dict with keys ``h, c, i, f, g, o``, each
    ``[L, B, T, H]`` (layer, batch, step, unit), in batch-first layout whatever the module's.
    Dropout between layers is not applied (eval mode), so call it on a model in ``eval()``.
    """
    if lstm.bidirectional:
        raise ValueError("lstm_activations handles uni-directional LSTMs only")
    if getattr(lstm, "proj_size", 0):
        raise ValueError("lstm_activations does not handle LSTMs with proj_size")
    x = inputs if lstm.batch_first else inputs.transpose(0, 1)
    batch, steps, _ = x.shape
    hidden, layers = lstm.hidden_size, lstm.num_layers
    if state is None:
        zeros = x.new_zeros(layers, batch, hidden)
        state = (zeros, zeros)
    h0, c0 = state
    out: dict[str, list[torch.Tensor]] = {k: [] for k in ("h", "c", *GATES)}
    layer_input = x
    for layer in range(layers):
        w_ih = getattr(lstm, f"weight_ih_l{layer}")
        w_hh = getattr(lstm, f"weight_hh_l{layer}")
        pre_x = layer_input @ w_ih.T                                   # [B, T, 4H], one product
        if lstm.bias:
            pre_x = pre_x + getattr(lstm, f"bias_ih_l{layer}") + getattr(lstm, f"bias_hh_l{layer}")
        h_t, c_t = h0[layer], c0[layer]
        steps_out = {k: [] for k in out}
        for t in range(steps):
            i, f, g, o = (pre_x[:, t] + h_t @ w_hh.T).chunk(4, dim=-1)  # PyTorch's order: i, f, g, o
            i, f, g, o = i.sigmoid(), f.sigmoid(), g.tanh(), o.sigmoid()
            c_t = f * c_t + i * g
            h_t = o * c_t.tanh()
            for key, value in zip(("h", "c", *GATES), (h_t, c_t, i, f, g, o)):
                steps_out[key].append(value)
        for key in out:
            out[key].append(torch.stack(steps_out[key], dim=1))
        layer_input = out["h"][-1]
    return {key: torch.stack(values) for key, values in out.items()}


def find_embedding_and_lstm(model: nn.Module) -> tuple[nn.Embedding, nn.LSTM]:
    """The first ``nn.Embedding`` and the first ``nn.LSTM`` inside a language model."""
    embedding = next((m for m in model.modules() if isinstance(m, nn.Embedding)), None)
    lstm = next((m for m in model.modules() if isinstance(m, nn.LSTM)), None)
    if embedding is None or lstm is None:
        raise ValueError("the model should contain an nn.Embedding followed by an nn.LSTM "
                         "(or pass `embed=` and `lstm=` to record_char_lstm)")
    return embedding, lstm


@torch.no_grad()
def record_char_lstm(model: nn.Module, ids: Sequence[int] | torch.Tensor, *, layer: int = -1,
                     embed: Callable[[torch.Tensor], torch.Tensor] | None = None,
                     lstm: nn.LSTM | None = None) -> dict[str, np.ndarray]:
    """Activations of one layer of a character LSTM while it reads ``ids`` (one text).

    Returns a dict ``{"h", "c", "i", "f", "g", "o"}`` of NumPy arrays ``[T, H]``: the value after
    reading each character. The model is put in eval mode for the recording and restored after.
    """
    was_training = model.training
    model.eval()
    try:
        if embed is None or lstm is None:
            found_embed, found_lstm = find_embedding_and_lstm(model)
            embed = embed or found_embed
            lstm = lstm or found_lstm
        param = next(lstm.parameters())
        ids = torch.as_tensor(ids, dtype=torch.long, device=param.device).reshape(1, -1)
        x = embed(ids).to(param.dtype)
        if not lstm.batch_first:
            x = x.transpose(0, 1)
        acts = lstm_activations(lstm, x)
    finally:
        model.train(was_training)
    return {key: value[layer, 0].float().cpu().numpy() for key, value in acts.items()}


# --------------------------------------------------------------------------------------------
# Signals of the text: what a unit might track. Each value describes the state *after* reading
# the character at that position (what an LSTM's state after step t can know).


def position_in_line(text: str) -> np.ndarray:
    """Characters read since the last newline (0 right after a newline)."""
    out = np.zeros(len(text), dtype=np.float64)
    pos = 0
    for t, ch in enumerate(text):
        pos = 0 if ch == "\n" else pos + 1
        out[t] = pos
    return out


def inside_quotes(text: str, quotes: str = '"') -> np.ndarray:
    """1 between an opening quote and its closing quote (the opening one included), else 0.

    Each character in ``quotes`` toggles the state; the closing quote itself reads 0.
    """
    out = np.zeros(len(text), dtype=np.float64)
    inside = False
    for t, ch in enumerate(text):
        if ch in quotes:
            inside = not inside
        out[t] = float(inside)
    return out


def bracket_depth(text: str) -> np.ndarray:
    """How many ``( [ {`` are open after each character (unmatched closers are ignored)."""
    out = np.zeros(len(text), dtype=np.float64)
    stack: list[str] = []
    for t, ch in enumerate(text):
        if ch in _OPEN:
            stack.append(ch)
        elif ch in _CLOSE and stack and stack[-1] == _CLOSE[ch]:
            stack.pop()
        out[t] = len(stack)
    return out


def inside_brackets(text: str) -> np.ndarray:
    """1 while at least one bracket is open, else 0."""
    return (bracket_depth(text) > 0).astype(np.float64)


_SPEAKER = re.compile(r"^[A-Z][A-Za-z' ]*:$")


def in_speaker_name(text: str) -> np.ndarray:
    """1 on a play's speaker line (``"ROMEO:"``, a line of its own), up to and including the colon."""
    out = np.zeros(len(text), dtype=np.float64)
    start = 0
    for line in text.split("\n"):
        if _SPEAKER.match(line):
            out[start:start + len(line)] = 1.0
        start += len(line) + 1
    return out


def text_signals(text: str) -> dict[str, np.ndarray]:
    """The standard signals, all of length ``len(text)``."""
    return {
        "position in line": position_in_line(text),
        "inside quotes": inside_quotes(text),
        "inside brackets": inside_brackets(text),
        "bracket depth": bracket_depth(text),
        "speaker name": in_speaker_name(text),
    }


# --------------------------------------------------------------------------------------------
# Correlation


def correlate(activations, signal) -> np.ndarray:
    """Pearson correlation of every unit (``activations [T, H]``) with ``signal [T]``: ``[H]``.

    A unit or a signal that never changes has no correlation: NaN.
    """
    acts = np.asarray(activations, dtype=np.float64)
    sig = np.asarray(signal, dtype=np.float64)
    if acts.ndim != 2 or sig.shape != (acts.shape[0],):
        raise ValueError(f"activations should be [T, H] and signal [T]; got {acts.shape} and {sig.shape}")
    a = acts - acts.mean(axis=0)
    s = sig - sig.mean()
    denom = np.sqrt((a * a).sum(axis=0) * (s * s).sum())
    with np.errstate(invalid="ignore", divide="ignore"):
        r = (a * s[:, None]).sum(axis=0) / denom
    r[~np.isfinite(r)] = np.nan
    return r


def top_units(activations, signals: Mapping[str, np.ndarray], k: int = 3) -> list[tuple[str, int, float]]:
    """For each signal that varies, the ``k`` units with the largest ``|r|``: ``(signal, unit, r)``."""
    found = []
    for name, signal in signals.items():
        r = correlate(activations, signal)
        if np.all(np.isnan(r)):
            continue
        order = np.argsort(-np.nan_to_num(np.abs(r), nan=-1.0))[:k]
        found.extend((name, int(u), float(r[u])) for u in order)
    return found


def best_unit_table(activations, signals: Mapping[str, np.ndarray]) -> list[tuple[str, int | None, float]]:
    """One row per signal: the unit with the largest ``|r|`` (``None, nan`` when the signal is constant)."""
    rows = []
    for name, signal in signals.items():
        r = correlate(activations, signal)
        if np.all(np.isnan(r)):
            rows.append((name, None, float("nan")))
            continue
        unit = int(np.nanargmax(np.abs(r)))
        rows.append((name, unit, float(r[unit])))
    return rows


# --------------------------------------------------------------------------------------------
# Rendering


def _colours(values, cmap: str, vmin: float | None, vmax: float | None) -> list[tuple[float, ...]]:
    import matplotlib

    values = np.asarray(values, dtype=np.float64)
    lo = float(np.nanmin(values)) if vmin is None else vmin
    hi = float(np.nanmax(values)) if vmax is None else vmax
    if hi <= lo:
        hi = lo + 1.0
    norm = np.clip((values - lo) / (hi - lo), 0.0, 1.0)
    colormap = matplotlib.colormaps[cmap]
    return [colormap(float(v)) for v in norm]


def render_html(text: str, values, *, cmap: str = "coolwarm", vmin: float | None = -1.0,
                vmax: float | None = 1.0, title: str | None = None) -> str:
    """HTML for ``text`` with each character's background coloured by ``values`` (one per character).

    Newlines are kept (shown as a faint ``↵``); wrap the result in ``IPython.display.HTML``.
    """
    if len(values) != len(text):
        raise ValueError(f"need one value per character: {len(values)} values for {len(text)} characters")
    spans = []
    for ch, rgba in zip(text, _colours(values, cmap, vmin, vmax)):
        colour = "#%02x%02x%02x" % tuple(int(255 * c) for c in rgba[:3])
        if ch == "\n":
            spans.append(f'<span style="background:{colour};color:#999">↵</span><br>')
        else:
            glyph = "&nbsp;" if ch == " " else html.escape(ch)
            spans.append(f'<span style="background:{colour}">{glyph}</span>')
    head = f"<div><b>{html.escape(title)}</b></div>" if title else ""
    return (f'{head}<div style="font-family:monospace;line-height:1.5;white-space:nowrap">'
            + "".join(spans) + "</div>")


def plot_text_activation(text: str, values, *, cmap: str = "coolwarm", vmin: float | None = -1.0,
                         vmax: float | None = 1.0, title: str | None = None, ax=None,
                         max_cols: int = 80, fontsize: float = 9.0):
    """Draw ``text`` as a character grid (one line of text per row), each cell coloured by ``values``."""
    import matplotlib.pyplot as plt

    if len(values) != len(text):
        raise ValueError(f"need one value per character: {len(values)} values for {len(text)} characters")
    colours = _colours(values, cmap, vmin, vmax)
    cells = []  # (row, col, char, colour)
    row = col = 0
    for ch, colour in zip(text, colours):
        if col >= max_cols:
            row, col = row + 1, 0
        cells.append((row, col, "↵" if ch == "\n" else ch, colour))
        if ch == "\n":
            row, col = row + 1, 0
        else:
            col += 1
    rows = row + 1
    cols = max(max((c for _, c, _, _ in cells), default=0) + 1, 1)
    if ax is None:
        _, ax = plt.subplots(figsize=(0.11 * cols + 0.4, 0.22 * rows + 0.5))
    for r, c, ch, colour in cells:
        ax.add_patch(plt.Rectangle((c, r), 1, 1, color=colour, linewidth=0))
        ax.text(c + 0.5, r + 0.55, ch, ha="center", va="center", fontsize=fontsize, family="monospace",
                color="#888" if ch == "↵" else "black")
    ax.set_xlim(0, cols)
    ax.set_ylim(rows, 0)
    ax.set_axis_off()
    if title:
        ax.set_title(title, fontsize=10, loc="left")
    return ax
