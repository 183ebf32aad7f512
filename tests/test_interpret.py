"""Unit tests for rnnbook.analysis.interpret (fast: tiny LSTMs, short strings)."""
import math

import matplotlib

matplotlib.use("Agg")
import numpy as np
import pytest
import torch
from torch import nn

from rnnbook.analysis import interpret


@pytest.mark.parametrize("batch_first", [True, False])
@pytest.mark.parametrize("layers", [1, 2])
def test_lstm_activations_match_nn_lstm(batch_first, layers):
    torch.manual_seed(0)
    lstm = nn.LSTM(5, 7, num_layers=layers, batch_first=batch_first).double().eval()
    x = torch.randn(3, 11, 5, dtype=torch.float64)
    h0 = torch.randn(layers, 3, 7, dtype=torch.float64)
    c0 = torch.randn(layers, 3, 7, dtype=torch.float64)
    inputs = x if batch_first else x.transpose(0, 1)
    out, (h_n, c_n) = lstm(inputs, (h0, c0))
    acts = interpret.lstm_activations(lstm, inputs, (h0, c0))
    assert set(acts) == {"h", "c", "i", "f", "g", "o"}
    assert acts["h"].shape == (layers, 3, 11, 7)
    expected = out if batch_first else out.transpose(0, 1)
    torch.testing.assert_close(acts["h"][-1], expected)
    torch.testing.assert_close(acts["h"][:, :, -1], h_n)
    torch.testing.assert_close(acts["c"][:, :, -1], c_n)
    # gates are in range and h = o * tanh(c)
    assert acts["f"].min() >= 0 and acts["f"].max() <= 1
    assert acts["g"].abs().max() <= 1
    torch.testing.assert_close(acts["h"], acts["o"] * acts["c"].tanh())


def test_lstm_activations_without_bias_and_default_state():
    torch.manual_seed(1)
    lstm = nn.LSTM(4, 3, bias=False, batch_first=True).eval()
    x = torch.randn(2, 6, 4)
    out, _ = lstm(x)
    torch.testing.assert_close(interpret.lstm_activations(lstm, x)["h"][0], out)


def test_lstm_activations_rejects_bidirectional():
    with pytest.raises(ValueError, match="uni-directional"):
        interpret.lstm_activations(nn.LSTM(2, 2, bidirectional=True), torch.zeros(1, 2, 2))


class _TinyLM(nn.Module):
    def __init__(self):
        super().__init__()
        self.embedding = nn.Embedding(10, 4)
        self.drop = nn.Dropout(0.5)
        self.rnn = nn.LSTM(4, 6, num_layers=2, batch_first=True, dropout=0.5)
        self.head = nn.Linear(6, 10)

    def forward(self, x, hidden=None):
        out, hidden = self.rnn(self.drop(self.embedding(x)), hidden)
        return self.head(out), hidden


def test_record_char_lstm_finds_modules_and_restores_mode():
    torch.manual_seed(2)
    model = _TinyLM().train()
    ids = [1, 2, 3, 4, 5, 6, 7]
    acts = interpret.record_char_lstm(model, ids)
    assert model.training, "the model's mode should be restored"
    assert set(acts) == {"h", "c", "i", "f", "g", "o"}
    assert acts["c"].shape == (7, 6) and isinstance(acts["c"], np.ndarray)
    model.eval()
    with torch.no_grad():
        out, _ = model.rnn(model.embedding(torch.tensor([ids])))
    np.testing.assert_allclose(acts["h"], out[0].numpy(), atol=1e-5)
    first = interpret.record_char_lstm(model, ids, layer=0)
    assert not np.allclose(first["h"], acts["h"])


def test_record_char_lstm_needs_an_lstm():
    with pytest.raises(ValueError, match="nn.Embedding"):
        interpret.record_char_lstm(nn.Sequential(nn.Embedding(3, 2), nn.GRU(2, 2)), [0, 1])


def test_position_in_line():
    assert interpret.position_in_line("ab\ncde\n\nf").tolist() == [1, 2, 0, 1, 2, 3, 0, 0, 1]


def test_inside_quotes_and_brackets():
    text = 'a "bc" (d [e] f) g)'
    q = interpret.inside_quotes(text)
    assert q[text.index('"')] == 1 and q[text.index("b")] == 1 and q[text.index('"', 3)] == 0 and q[0] == 0
    depth = interpret.bracket_depth(text)
    assert depth[text.index("(")] == 1 and depth[text.index("e")] == 2 and depth[text.index("f")] == 1
    assert depth[text.index(")")] == 0 and depth[-1] == 0  # the stray closer is ignored
    assert interpret.inside_brackets(text).tolist() == (depth > 0).astype(float).tolist()
    assert interpret.inside_quotes("x 'y' z", quotes="'").tolist() == [0, 0, 1, 1, 0, 0, 0]


def test_speaker_name_signal():
    text = "ROMEO:\nHe jests at scars: so.\n\nFirst Citizen:\nYou"
    sig = interpret.in_speaker_name(text)
    assert sig[:6].tolist() == [1] * 6 and sig[6] == 0
    assert sig[text.index("He"): text.index("\n\n")].sum() == 0  # a colon inside a line is not a speaker
    start = text.index("First")
    assert sig[start: start + len("First Citizen:")].sum() == len("First Citizen:")
    assert sig[-3:].sum() == 0


def test_text_signals_lengths():
    text = "A:\nb (c) \"d\"\n"
    sigs = interpret.text_signals(text)
    assert {"position in line", "inside quotes", "inside brackets", "speaker name"} <= set(sigs)
    assert all(len(v) == len(text) for v in sigs.values())


def test_correlate_matches_numpy_and_handles_constants():
    rng = np.random.default_rng(0)
    signal = rng.normal(size=50)
    acts = np.stack([signal * 2 + 1, -signal, rng.normal(size=50), np.ones(50)], axis=1)
    r = interpret.correlate(acts, signal)
    assert r[0] == pytest.approx(1.0) and r[1] == pytest.approx(-1.0)
    assert r[2] == pytest.approx(np.corrcoef(acts[:, 2], signal)[0, 1])
    assert math.isnan(r[3])
    assert np.all(np.isnan(interpret.correlate(acts, np.zeros(50))))
    with pytest.raises(ValueError):
        interpret.correlate(acts, signal[:10])


def test_top_units_and_best_unit_table():
    rng = np.random.default_rng(1)
    pos = np.arange(40) % 7.0
    acts = rng.normal(size=(40, 5)) * 0.1
    acts[:, 3] += pos
    acts[:, 1] -= pos * 0.5
    signals = {"position in line": pos, "inside quotes": np.zeros(40)}
    top = interpret.top_units(acts, signals, k=2)
    assert [(name, unit) for name, unit, _ in top] == [("position in line", 3), ("position in line", 1)]
    assert top[1][2] < 0
    table = interpret.best_unit_table(acts, signals)
    assert table[0][:2] == ("position in line", 3) and table[1][1] is None and math.isnan(table[1][2])


def test_render_html_escapes_and_colours():
    text = "a<b\n c"
    out = interpret.render_html(text, np.linspace(-1, 1, len(text)), title="unit 3")
    assert "&lt;" in out and "<br>" in out and "unit 3" in out
    assert out.count("<span") == len(text)
    with pytest.raises(ValueError):
        interpret.render_html(text, [0.0])


def test_plot_text_activation_draws_one_cell_per_char():
    import matplotlib.pyplot as plt

    text = "to be\nor not"
    ax = interpret.plot_text_activation(text, np.zeros(len(text)), title="t", max_cols=4)
    assert len(ax.patches) == len(text)
    assert len(ax.texts) == len(text)
    plt.close(ax.figure)
