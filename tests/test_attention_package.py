"""Unit tests for rnnbook.models.attention: the masked softmax, the three scores, the two decoders."""
import pytest
import torch

from rnnbook.models.attention import (BahdanauDecoder, ConcatAttention, DotAttention, GeneralAttention,
                                      LuongDecoder, make_attention, masked_softmax)

F64 = dict(dtype=torch.float64)


def _lengths_mask(lengths, S):
    return torch.arange(S)[None, :] < torch.tensor(lengths)[:, None]


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_masked_softmax_zeros_sums_and_extremes(dtype):
    g = torch.Generator().manual_seed(0)
    scores = (torch.randn(4, 6, generator=g) * 1e30).to(dtype)
    scores[0, 0] = -1e30
    mask = _lengths_mask([6, 3, 1, 2], 6)
    w = masked_softmax(scores, mask)
    assert torch.isfinite(w).all()
    assert (w[~mask] == 0).all()
    torch.testing.assert_close(w.sum(-1), torch.ones(4, dtype=dtype))
    small = torch.randn(4, 6, generator=g, **F64)
    ref = torch.softmax(small[1, :3], -1)
    torch.testing.assert_close(masked_softmax(small, mask)[1, :3], ref, atol=1e-12, rtol=0)


def test_masked_softmax_broadcast_and_empty_row():
    scores = torch.randn(2, 3, 5)
    mask = _lengths_mask([5, 2], 5)[:, None, :]          # [2, 1, 5] broadcasts over the middle axis
    assert (masked_softmax(scores, mask)[1, :, 2:] == 0).all()
    bad = _lengths_mask([3, 0], 5)
    with pytest.raises(ValueError, match=r"row \(1,\)"):
        masked_softmax(torch.randn(2, 5), bad)


def _reference_scores(kind, attn, q, k):
    if kind == "dot":
        return torch.einsum("bh,bsh->bs", q, k)
    if kind == "general":
        return torch.einsum("bq,qk,bsk->bs", q, attn.W_a.weight, k)
    cat = torch.cat([q[:, None, :].expand(-1, k.shape[1], -1), k], dim=-1)
    return torch.tanh(cat @ attn.W_a.weight.T) @ attn.v_a.weight[0]


@pytest.mark.parametrize("kind", ["dot", "general", "concat"])
def test_scores_match_their_formulas_and_ignore_padding(kind):
    torch.manual_seed(0)
    B, S, Hq, Hv = 3, 5, 4, 6
    Hk = Hq if kind == "dot" else 7
    attn = make_attention(kind, Hq, Hk, 8).double()
    q, k, v = torch.randn(B, Hq, **F64), torch.randn(B, S, Hk, **F64), torch.randn(B, S, Hv, **F64)
    mask = _lengths_mask([5, 2, 4], S)
    context, weights = attn(q, k, v, mask)
    ref_w = torch.softmax(_reference_scores(kind, attn, q, k).masked_fill(~mask, float("-inf")), -1)
    torch.testing.assert_close(weights, ref_w, atol=1e-12, rtol=0)
    torch.testing.assert_close(context, torch.einsum("bs,bsv->bv", ref_w, v), atol=1e-12, rtol=0)
    k2, v2 = k.clone(), v.clone()
    k2[~mask], v2[~mask] = 1e3, -1e3
    c2, w2 = attn(q, k2, v2, mask)
    assert torch.equal(w2, weights) and torch.allclose(c2, context, atol=1e-12)
    if kind != "dot":
        context.sum().backward()
        assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in attn.parameters())


def test_parameter_counts_and_dot_size_check():
    assert sum(p.numel() for p in GeneralAttention(4, 6).parameters()) == 24
    assert sum(p.numel() for p in ConcatAttention(4, 6, 5).parameters()) == 5 * (4 + 6 + 1)
    with pytest.raises(ValueError, match="equal query and key sizes"):
        DotAttention()(torch.randn(1, 3), torch.randn(1, 2, 4), torch.randn(1, 2, 4), None)


@pytest.mark.parametrize("decoder_cls,feed", [(LuongDecoder, False), (LuongDecoder, True), (BahdanauDecoder, None)])
def test_decoders_step_shapes_and_padding_invariance(decoder_cls, feed):
    torch.manual_seed(1)
    V, E, H, C, B, S, L = 11, 5, 6, 8, 3, 4, 2
    kwargs = {} if feed is None else {"input_feeding": feed}
    dec = decoder_cls(V, E, H, C, ConcatAttention(H, C, 7), num_layers=L, **kwargs).eval()
    memory, mask = torch.randn(B, S, C), _lengths_mask([4, 1, 3], S)
    state = dec.init_state(torch.randn(L, B, H))
    tokens = torch.tensor([1, 2, 3])
    logits, new_state, weights = dec.step(tokens, state, memory, mask)
    assert logits.shape == (B, V) and weights.shape == (B, S) and new_state[0].shape == (L, B, H)
    assert (weights[~mask] == 0).all()
    memory2 = memory.clone()
    memory2[~mask] = 50.0
    logits2, _, _ = dec.step(tokens, state, memory2, mask)
    assert torch.allclose(logits, logits2)


def test_bahdanau_attends_with_the_previous_state():
    torch.manual_seed(2)
    dec = BahdanauDecoder(7, 3, 4, 4, DotAttention()).eval()
    memory, mask = torch.randn(2, 5, 4), torch.ones(2, 5, dtype=torch.bool)
    hidden = torch.randn(1, 2, 4)
    _, _, weights = dec.step(torch.tensor([1, 2]), dec.init_state(hidden), memory, mask)
    torch.testing.assert_close(weights, torch.softmax(torch.einsum("bh,bsh->bs", hidden[0], memory), -1))


def _tiny_model(decoder="luong", attention="general", **kwargs):
    from rnnbook.models.attention import build_attention_seq2seq
    torch.manual_seed(3)
    return build_attention_seq2seq(13, 11, embed_dim=5, hidden_dim=6, attention=attention, decoder=decoder,
                                   attn_size=4, num_layers=2, **kwargs).eval()


def _tiny_batch():
    g = torch.Generator().manual_seed(4)
    src, tgt = torch.randint(3, 13, (3, 5), generator=g), torch.randint(3, 11, (3, 6), generator=g)
    lengths = torch.tensor([5, 2, 4])
    src[1, 2:], src[2, 4:] = 0, 0
    tgt[:, 0] = 1
    return src, lengths, tgt


@pytest.mark.parametrize("decoder,feed", [("luong", False), ("luong", True), ("bahdanau", False)])
def test_seq2seq_forward_matches_decode_steps(decoder, feed):
    model = _tiny_model(decoder, input_feeding=feed) if decoder == "luong" else _tiny_model(decoder)
    src, lengths, tgt = _tiny_batch()
    logits, weights = model(src, lengths, tgt, return_weights=True)
    assert logits.shape == (3, 5, 11) and weights.shape == (3, 5, 5)
    assert (weights[1, :, 2:] == 0).all()
    state = model.start(src, lengths)
    assert all(s.shape[0] == 3 for s in state)
    for t in range(tgt.shape[1] - 1):
        step_logits, state = model.decode_step(tgt[:, t], state)
        torch.testing.assert_close(step_logits, logits[:, t], atol=1e-5, rtol=1e-5)
    # a beam search reorders/repeats the state along dimension 0 without knowing the model
    state = model.start(src, lengths)
    order = torch.tensor([2, 2, 0])
    moved = tuple(s.index_select(0, order) for s in state)
    torch.testing.assert_close(model.decode_step(tgt[order, 0], moved)[0], logits[order, 0], atol=1e-5, rtol=1e-5)


def test_seq2seq_teacher_forcing_coin_and_padding():
    model = _tiny_model("bahdanau", attention="concat")
    src, lengths, tgt = _tiny_batch()
    full = model(src, lengths, tgt)
    free = model(src, lengths, tgt, teacher_forcing=0.0)
    assert torch.allclose(full[:, 0], free[:, 0]) and not torch.allclose(full, free)
    padded = torch.cat([src, torch.zeros(3, 2, dtype=torch.long)], dim=1)
    torch.testing.assert_close(model(padded, lengths, tgt), full)


def test_attention_model_trains_through_the_translation_loop():
    from rnnbook.decoding import greedy_search, model_step
    from rnnbook.train.translation import seq2seq_loss
    model = _tiny_model("luong", attention="dot").train()
    src, lengths, tgt = _tiny_batch()
    opt = torch.optim.Adam(model.parameters(), lr=0.03)
    first = seq2seq_loss(model(src, lengths, tgt), tgt, 0).item()
    for _ in range(60):
        loss = seq2seq_loss(model(src, lengths, tgt), tgt, 0)
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert float(loss) < first / 3
    out = greedy_search(model_step(model.eval()), model.start(src, lengths), sos=1, eos=2, max_len=5)
    assert out[0] == tgt[0, 1:].tolist()
