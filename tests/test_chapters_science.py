"""Package code and corrected claims of Chapters 1-3 (fast, no data sets)."""
from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from rnnbook import metrics
from rnnbook.models.ngram import NGramLM

TEXT = "the cat sat on the mat and the cat ran to the hat"


@pytest.mark.parametrize("smoothing", ["kneser-ney", "add-k"])
@pytest.mark.parametrize("order", [1, 2, 3])
def test_ngram_distributions_sum_to_one(smoothing, order):
    vocab = sorted(set(TEXT)) + ["#"]            # '#' never occurs in training
    model = NGramLM(order, vocab, smoothing=smoothing).fit(TEXT)
    for context in ["", "t", "th", "ca", "zz", "##"]:
        total = sum(model.prob(context, w) for w in vocab)
        assert total == pytest.approx(1.0, abs=1e-12), (context, total)
        assert model.prob(context, "#") > 0


def test_add_k_matches_the_formula():
    model = NGramLM(2, list("abc"), smoothing="add-k", k=0.5).fit("abab")
    # bigram counts after 'a': b twice; c(a) = 2
    assert model.prob("a", "b") == pytest.approx((2 + 0.5) / (2 + 0.5 * 3))
    assert model.prob("a", "c") == pytest.approx(0.5 / (2 + 1.5))


def test_kneser_ney_by_hand():
    # bigrams of "abab": ab, ba, ab -> after 'a': {b: 2}; continuation counts: b follows 1 context, a follows 1
    model = NGramLM(2, list("abc"), discount=0.5).fit("abab")
    unigram = {w: (max(n - 0.5, 0) / 2 + 0.5 * 2 / 2 / 3) for w, n in {"a": 1, "b": 1, "c": 0}.items()}
    assert model.prob("", "c") == pytest.approx(unigram["c"])
    assert model.prob("a", "b") == pytest.approx((2 - 0.5) / 2 + 0.5 * 1 / 2 * unigram["b"])
    assert model.prob("c", "a") == pytest.approx(unigram["a"])      # unseen context backs off fully


def test_ngram_loss_is_mean_nats_and_order_helps_on_repetitive_text():
    text = "abcabcabcabc"
    uni = NGramLM(1, "abc").fit(text).mean_loss(text)
    tri = NGramLM(3, "abc").fit(text).mean_loss(text)
    assert tri < uni
    model = NGramLM(2, "abc", smoothing="add-k").fit(text)
    by_hand = -sum(math.log(model.prob(text[i - 1], text[i])) for i in range(1, len(text))) / (len(text) - 1)
    assert model.mean_loss(text) == pytest.approx(by_hand)


def test_ngram_rejects_bad_arguments():
    with pytest.raises(ValueError, match="order"):
        NGramLM(0, "ab")
    with pytest.raises(ValueError, match="not in the vocabulary"):
        NGramLM(2, "ab").fit("abc")


def test_bits_per_char_and_perplexity():
    assert metrics.bits_per_char(math.log(2)) == pytest.approx(1.0)
    assert metrics.perplexity(math.log(7.0)) == pytest.approx(7.0)
    # a character model's perplexity is 2 ** bpc
    assert 2 ** metrics.bits_per_char(1.3) == pytest.approx(metrics.perplexity(1.3))


def test_lstm_cell_state_bound_and_reach():
    """Chapter 3: |c_t| < t from c_0 = 0 (not bounded by 1, not unbounded); |h_t| < 1."""
    torch.manual_seed(0)
    cell = nn.LSTMCell(3, 4)
    with torch.no_grad():
        cell.bias_ih.fill_(10.0)        # every gate open, candidate near +1: the fastest growth
    h = c = torch.zeros(1, 4)
    for t in range(1, 31):
        h, c = cell(torch.randn(1, 3), (h, c))
        assert c.abs().max() < t and h.abs().max() < 1
    assert c.abs().max() > 25          # it does grow far beyond 1


def test_gru_update_conventions_are_equivalent_up_to_sign():
    """Chapter 3: h = (1-z) n + z h_prev (PyTorch, Cho et al.) equals h = (1-z') h_prev + z' n with z' = 1 - z,
    i.e. with the update gate's weights and biases negated."""
    torch.manual_seed(0)
    D, H = 3, 5
    cell = nn.GRUCell(D, H).double()
    x, h = torch.randn(4, D, dtype=torch.double), torch.randn(4, H, dtype=torch.double)
    W_ir, W_iz, W_in = cell.weight_ih.split(H)
    W_hr, W_hz, W_hn = cell.weight_hh.split(H)
    b_ir, b_iz, b_in = cell.bias_ih.split(H)
    b_hr, b_hz, b_hn = cell.bias_hh.split(H)
    r = torch.sigmoid(x @ W_ir.T + b_ir + h @ W_hr.T + b_hr)
    n = torch.tanh(x @ W_in.T + b_in + r * (h @ W_hn.T + b_hn))
    z_writes = torch.sigmoid(-(x @ W_iz.T + b_iz + h @ W_hz.T + b_hz))     # negated update gate
    with torch.no_grad():
        torch.testing.assert_close((1 - z_writes) * h + z_writes * n, cell(x, h))


def test_jacobian_product_has_the_latest_step_on_the_left():
    """Chapter 2: dh_T/dh_t = D_T W D_{T-1} W ... D_{t+1} W with D_s = diag(tanh'(a_s))."""
    torch.manual_seed(0)
    H, T = 4, 5
    W, U = torch.randn(H, H, dtype=torch.double), torch.randn(H, 3, dtype=torch.double)
    xs = torch.randn(T, 3, dtype=torch.double)
    h0 = torch.randn(H, dtype=torch.double)

    def run(h):
        for x in xs:
            h = torch.tanh(W @ h + U @ x)
        return h

    jac = torch.autograd.functional.jacobian(run, h0)
    factors, h = [], h0
    for x in xs:
        h = torch.tanh(W @ h + U @ x)
        factors.append(torch.diag(1 - h ** 2) @ W)
    latest_left = torch.linalg.multi_dot(factors[::-1])
    earliest_left = torch.linalg.multi_dot(factors)
    torch.testing.assert_close(jac, latest_left)
    assert not torch.allclose(jac, earliest_left)


def test_embedding_is_not_w_xh_but_a_factor_of_it():
    """Chapter 2: with nn.Embedding before nn.RNN the input term is W_ih E^T onehot(x)."""
    torch.manual_seed(0)
    V, E, H = 6, 3, 5
    embed, rnn = nn.Embedding(V, E), nn.RNN(E, H, batch_first=True)
    x = torch.randint(0, V, (2, 4))
    effective = rnn.weight_ih_l0 @ embed.weight.T          # [H, V], rank <= E
    onehot = torch.nn.functional.one_hot(x, V).float()
    torch.testing.assert_close(embed(x) @ rnn.weight_ih_l0.T, onehot @ effective.T)
    assert torch.linalg.matrix_rank(effective.detach()) <= E


def test_bidirectional_output_sees_the_next_token_and_unidirectional_does_not():
    torch.manual_seed(0)
    x = torch.randn(1, 6, 4)
    changed = x.clone()
    changed[0, 4] += 1.0
    for bidirectional, moves in ((False, False), (True, True)):
        lstm = nn.LSTM(4, 8, batch_first=True, bidirectional=bidirectional)
        with torch.no_grad():
            delta = (lstm(changed)[0][0, 3] - lstm(x)[0][0, 3]).abs().max().item()
        assert (delta > 1e-6) == moves


def test_truncated_bptt_sends_no_gradient_past_the_window():
    from rnnbook.train.lm import detach_hidden
    torch.manual_seed(0)
    lstm = nn.LSTM(3, 5, batch_first=True)
    first, second = torch.randn(2, 4, 3, requires_grad=True), torch.randn(2, 4, 3)
    _, state = lstm(first)
    out, _ = lstm(second, detach_hidden(state))
    out.sum().backward()
    assert first.grad is None
