"""Unit tests for the language-model part of the package: models, training, generation, gradients."""
import math
import time

import pytest
import torch
from torch import nn

from rnnbook.data.batching import batchify
from rnnbook.decoding import next_token_distribution, sample
from rnnbook.analysis.gradients import hidden_state_grad_norms, hidden_state_jacobian_norms
from rnnbook.models.rnn import RNNLanguageModel
from rnnbook.train.lm import detach_hidden, evaluate, fit, train_epoch
from rnnbook.train.loop import ClipGradients, EarlyStopping, History, Logger, Loop


def _stream(n=2000, vocab=13, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, vocab, (n,), generator=g)


@pytest.mark.parametrize("cell", ["rnn", "gru", "lstm"])
@pytest.mark.parametrize("layers", [1, 2])
def test_model_shapes_and_state_carry(cell, layers):
    torch.manual_seed(0)
    model = RNNLanguageModel(11, 6, 8, num_layers=layers, cell=cell).eval()
    x = torch.randint(0, 11, (3, 7))
    logits, hidden = model(x)
    assert logits.shape == (3, 7, 11)
    h = hidden[0] if cell == "lstm" else hidden
    assert h.shape == (layers, 3, 8)
    zeros = model.init_hidden(3)
    assert isinstance(zeros, tuple) == (cell == "lstm")
    torch.testing.assert_close(model(x, zeros)[0], logits)
    # running two halves with the carried state equals one run
    first, mid = model(x[:, :4])
    second, _ = model(x[:, 4:], mid)
    torch.testing.assert_close(torch.cat([first, second], 1), logits)


def test_tied_weights_share_one_parameter():
    model = RNNLanguageModel(20, 8, 8, tie_weights=True)
    assert model.proj.weight is model.embedding.weight
    with pytest.raises(ValueError):
        RNNLanguageModel(20, 8, 9, tie_weights=True)


def test_detach_hidden_keeps_values_and_structure():
    h = torch.ones(2, 3, requires_grad=True) * 2
    pair = (h, h + 1)
    d = detach_hidden(pair)
    assert isinstance(d, tuple) and all(t.grad_fn is None for t in d)
    torch.testing.assert_close(d[1], pair[1])
    assert detach_hidden(None) is None


class _Recorder(nn.Module):
    """Wraps a model and records whether each incoming hidden state still has a graph behind it."""

    def __init__(self, inner):
        super().__init__()
        self.inner, self.seen = inner, []

    def forward(self, x, hidden=None):
        h = hidden[0] if isinstance(hidden, tuple) else hidden
        self.seen.append(None if h is None else (h.grad_fn is not None, h.detach().clone()))
        logits, new = self.inner(x, hidden)
        self.last_out = (new[0] if isinstance(new, tuple) else new).detach().clone()
        return logits, new

    def init_hidden(self, batch_size, device=None):
        return self.inner.init_hidden(batch_size, device)


def test_train_epoch_carries_and_detaches_the_state():
    torch.manual_seed(0)
    model = _Recorder(RNNLanguageModel(13, 8, 8, cell="lstm"))
    data = batchify(_stream(), 4)
    loss = train_epoch(model, data, 10, torch.optim.SGD(model.parameters(), lr=0.1), clip=1.0)
    assert isinstance(loss, float) and math.isfinite(loss)
    assert len(model.seen) == math.ceil((data.size(1) - 1) / 10)
    assert all(s is not None and not s[0] for s in model.seen), "hidden must arrive detached"
    assert float(model.seen[0][1].abs().max()) == 0.0
    assert float(model.seen[1][1].abs().max()) > 0.0, "hidden must be carried, not reset"


def test_without_detaching_the_graph_grows():
    """What detaching prevents: keeping the state attached makes backward reach every earlier chunk."""
    torch.manual_seed(0)
    rnn = nn.RNN(4, 8, batch_first=True)
    x = torch.randn(2, 40, 4)

    def graph_size(detach):
        h, sizes = None, []
        for t in range(0, 40, 5):
            if detach:
                h = detach_hidden(h)
            out, h = rnn(x[:, t:t + 5], h)
            seen, stack = set(), [out.sum().grad_fn]
            while stack:
                node = stack.pop()
                if node is None or node in seen:
                    continue
                seen.add(node)
                stack.extend(n for n, _ in node.next_functions)
            sizes.append(len(seen))
        return sizes

    kept = graph_size(detach=True)
    grown = graph_size(detach=False)
    assert len(set(kept[1:])) == 1            # bounded: every chunk's graph has the same size
    assert grown[-1] > 4 * grown[0]           # unbounded: it keeps every earlier chunk


def test_evaluate_is_sum_of_token_losses_over_token_count():
    torch.manual_seed(0)
    model = RNNLanguageModel(13, 8, 8, cell="gru", dropout=0.3)
    data = batchify(_stream(1003), 3)              # last chunk shorter than bptt
    loss = evaluate(model, data, 7)
    assert model.training                          # mode restored
    model.eval()
    logits, _ = model(data[:, :-1])                # one chunk == carried chunks
    expected = nn.functional.cross_entropy(logits.reshape(-1, 13), data[:, 1:].reshape(-1)).item()
    assert loss == pytest.approx(expected, rel=1e-5)


def test_fit_learns_a_repeating_pattern_and_keeps_best():
    torch.manual_seed(0)
    stream = torch.arange(5).repeat(200)
    model = RNNLanguageModel(5, 8, 16, cell="gru")
    hist = fit(model, batchify(stream, 4), batchify(stream[:200], 2), epochs=3, bptt=10, lr=0.02, clip=1.0,
               optimizer="adam")
    assert isinstance(hist, History) and len(hist.valid_loss) == 3 and len(hist.epoch_seconds) == 3
    assert hist.valid_ppl[-1] < 1.5
    assert evaluate(model, batchify(stream[:200], 2), 10) == pytest.approx(hist.best_valid_loss, rel=1e-5)


def test_fit_stops_at_max_seconds():
    model = RNNLanguageModel(13, 8, 8)
    hist = fit(model, batchify(_stream(), 4), batchify(_stream(200), 2), epochs=50, bptt=10, lr=1.0,
               clip=0.5, max_seconds=0.0)
    assert len(hist.train_loss) == 1


def test_fit_honours_max_seconds_inside_a_custom_train_fn():
    model = RNNLanguageModel(13, 8, 8)
    steps = []

    def endless_epoch(model, data, bptt, optimizer, clip):  # never returns by itself
        while True:
            optimizer.zero_grad()
            model(data[:, :bptt])[0].sum().backward()
            optimizer.step()
            steps.append(1)

    start = time.monotonic()
    hist = fit(model, batchify(_stream(), 4), batchify(_stream(200), 2), epochs=5, bptt=10, lr=0.1, clip=None,
               max_seconds=0.5, train_fn=endless_epoch)
    assert time.monotonic() - start < 30 and steps
    assert len(hist.train_loss) == 1 and math.isnan(hist.train_loss[0]) and len(hist.valid_loss) == 1


def _quadratic_loop(callbacks, epochs=6):
    """A one-parameter model trained on (w - 3)^2 by a hand-written epoch function."""
    w = nn.Parameter(torch.tensor([0.0]))
    model = nn.Module()
    model.w = w
    optimizer = torch.optim.SGD([w], lr=0.1)

    def epoch(loop):
        for _ in range(5):
            optimizer.zero_grad()
            loss = ((w - 3) ** 2).sum()
            loss.backward()
            optimizer.step()
        return float(loss.detach())

    loop = Loop(model, optimizer, callbacks)
    return loop, loop.fit(epoch, lambda loop: float(((w.detach() - 3) ** 2).sum()), epochs)


def test_loop_callbacks_clip_stop_early_and_log():
    lines = []
    loop, hist = _quadratic_loop([ClipGradients(0.01), Logger(lines.append)], epochs=3)
    assert loop.step == 15 and float(loop.model.w) == pytest.approx(15 * 0.1 * 0.01)  # each step clipped
    assert len(lines) == 3 and lines[0].startswith("epoch 1: train loss")
    assert not hasattr(loop.optimizer, "step") or "step" not in vars(loop.optimizer)  # hook removed

    class Worse(EarlyStopping):  # a validation loss that never improves after the first epoch
        def on_epoch_end(self, loop):
            loop.history.valid_loss[-1] = float(loop.epoch)
            super().on_epoch_end(loop)

    _, hist = _quadratic_loop([Worse(patience=2)], epochs=10)
    assert len(hist.valid_loss) == 3


def test_next_token_distribution_temperatures():
    logits = torch.tensor([[2.0, 1.0, 0.5, -1.0], [0.0, 3.0, 3.0, 1.0]])
    torch.testing.assert_close(next_token_distribution(logits, 1.0), torch.softmax(logits, -1))
    torch.testing.assert_close(next_token_distribution(logits, 0.5), torch.softmax(2 * logits, -1))
    greedy = next_token_distribution(logits, 0.0)
    assert greedy.tolist() == [[1, 0, 0, 0], [0, 1, 0, 0]]
    cold = next_token_distribution(logits[0], 1e-3)
    assert cold.argmax() == 0 and cold.max() > 0.999
    hot = next_token_distribution(logits[0], 1e3)
    torch.testing.assert_close(hot, torch.full((4,), 0.25), atol=1e-3, rtol=0)


class _Cycle(nn.Module):
    """Next token = previous + 1 (mod V), with a soft distribution; ignores its hidden state."""

    def __init__(self, vocab=6, sharp=2.0):
        super().__init__()
        self.table = nn.Parameter(sharp * torch.roll(torch.eye(vocab), 1, dims=1))

    def forward(self, x, hidden=None):
        return self.table[x], hidden


def test_greedy_sampling_is_argmax_and_stops_at_eos():
    model = _Cycle()
    assert sample(model, [0], 8, temperature=0) == [1, 2, 3, 4, 5, 0, 1, 2]
    assert sample(model, [2], 8, temperature=0, eos_index=4) == [3, 4]


def test_sampling_follows_the_tempered_distribution():
    model = _Cycle(vocab=4, sharp=1.0)
    g = torch.Generator().manual_seed(0)
    for temperature in (0.5, 2.0):
        draws = torch.tensor([sample(model, [0], 1, temperature=temperature, generator=g)[0] for _ in range(3000)])
        freq = torch.bincount(draws, minlength=4).float() / len(draws)
        expected = torch.softmax(model.table[0].detach() / temperature, -1)
        assert (freq - expected).abs().max() < 0.03


def test_grad_norms_decay_for_a_contractive_recurrence():
    torch.manual_seed(0)
    rnn = nn.RNN(3, 16, batch_first=True)
    with torch.no_grad():
        q, _ = torch.linalg.qr(torch.randn(16, 16))
        rnn.weight_hh_l0.copy_(0.5 * q)            # every singular value 0.5 < 1
    x = torch.randn(2, 25, 3)
    norms = hidden_state_grad_norms(rnn, x, generator=torch.Generator().manual_seed(0))
    jac = hidden_state_jacobian_norms(rnn, x)
    assert norms.shape == jac.shape == (25,)
    assert jac[-1] == pytest.approx(1.0)
    assert torch.all(jac[:-1] <= 0.5 ** torch.arange(24, 0, -1) + 1e-6)   # ||dh_T/dh_t|| <= sigma^(T-t)
    assert norms[0] < 1e-4 * norms[-1]


@pytest.mark.parametrize("cls", [nn.GRU, nn.LSTM])
def test_grad_norms_work_for_gated_modules_and_step_functions(cls):
    torch.manual_seed(0)
    module = cls(3, 5, num_layers=2, batch_first=True)
    assert hidden_state_grad_norms(module, torch.randn(2, 6, 3)).shape == (6,)
    cell = nn.LSTMCell(3, 5) if cls is nn.LSTM else nn.GRUCell(3, 5)
    h0 = (torch.zeros(2, 5), torch.zeros(2, 5)) if cls is nn.LSTM else torch.zeros(2, 5)
    step = (lambda x, s: cell(x, s))
    norms = hidden_state_jacobian_norms(step, torch.randn(2, 6, 3), h0)
    assert norms.shape == (6,) and norms[-1] == pytest.approx(1.0, abs=1e-5)
