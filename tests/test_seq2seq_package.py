"""Unit tests for the translation part of the package: pair batches, the seq2seq model, the loss,
greedy search, BLEU and the model cache (Chapter 4)."""
import math

import pytest
import torch
import torch.nn.functional as F

from rnnbook.data.parallel import PairBatch, TranslationData, batches, collate
from rnnbook.data.vocab import Vocab
from rnnbook.decoding import greedy_search, model_step
from rnnbook.metrics import corpus_bleu_report
from rnnbook.models.seq2seq import Decoder, Encoder, Seq2Seq, build_seq2seq
from rnnbook.train import translation
from rnnbook.train.translation import seq2seq_loss, teacher_forcing_at

torch.set_num_threads(1)  # tiny models: threads only contend on a shared CPU
V_SRC, V_TGT, SOS, EOS, PAD = 13, 11, 2, 3, 0


def _batch(seed=0, batch=5, max_src=7, max_tgt=6):
    g = torch.Generator().manual_seed(seed)
    src_lengths = torch.randint(1, max_src + 1, (batch,), generator=g)
    tgt_lengths = torch.randint(2, max_tgt + 1, (batch,), generator=g)
    examples = []
    for s, t in zip(src_lengths.tolist(), tgt_lengths.tolist()):
        body = torch.randint(4, V_TGT, (t - 2,), generator=g).tolist()
        examples.append((torch.randint(4, V_SRC, (s,), generator=g).tolist(), [SOS, *body, EOS]))
    return collate(examples, PAD)


def _model(seed=0, layers=2, bidirectional=True):
    torch.manual_seed(seed)
    return build_seq2seq(V_SRC, V_TGT, embed_dim=6, hidden_dim=8, num_layers=layers,
                         bidirectional=bidirectional).double().eval()


@pytest.mark.parametrize("bidirectional", [True, False])
def test_encoder_shapes_and_padding_invariance(bidirectional):
    model = _model(bidirectional=bidirectional)
    b = _batch()
    outputs, init = model.encoder(b.src, b.src_lengths)
    dirs = 2 if bidirectional else 1
    assert outputs.shape == (5, b.src.size(1), dirs * 8) and init.shape == (2, 5, 8)
    for row, n in enumerate(b.src_lengths.tolist()):
        assert torch.all(outputs[row, n:] == 0)
    noisy = b.src.clone()
    noisy[torch.arange(noisy.size(1)) >= b.src_lengths[:, None]] = 7  # garbage where padding was
    outputs2, init2 = model.encoder(noisy, b.src_lengths)
    torch.testing.assert_close(outputs2, outputs)
    torch.testing.assert_close(init2, init)
    # a sentence alone gives the same state as inside the batch
    alone = model.encoder(b.src[1:2, : b.src_lengths[1]], b.src_lengths[1:2])[1]
    torch.testing.assert_close(alone[:, 0], init[:, 1])


def test_bridge_reads_final_forward_and_backward_states():
    model = _model(layers=1)
    src = torch.tensor([[5, 6, 7]])
    emb = model.encoder.embedding(src)
    out, _ = model.encoder.rnn(emb)
    h = out.size(-1) // 2
    final = torch.cat([out[0, -1, :h], out[0, 0, h:]])  # forward after the last token, backward after the first
    expected = torch.tanh(model.encoder.bridge(final))
    torch.testing.assert_close(model.encoder(src, torch.tensor([3]))[1][0, 0], expected)


def test_forward_shapes_and_teacher_forcing_extremes():
    model = _model()
    b = _batch()
    full = model(b.src, b.src_lengths, b.tgt)
    assert full.shape == (5, b.tgt.size(1) - 1, V_TGT)
    # step by step with ground truth equals the one-call fast path
    g = torch.Generator().manual_seed(0)
    almost = model(b.src, b.src_lengths, b.tgt, teacher_forcing=1.0 - 1e-12, generator=g)
    torch.testing.assert_close(almost, full)
    # free running: each input is the previous arg-max
    free = model(b.src, b.src_lengths, b.tgt, teacher_forcing=0.0)
    state = model.start(b.src, b.src_lengths)
    tokens = b.tgt[:, 0]
    for t in range(free.size(1)):
        logits, state = model.decode_step(tokens, state)
        torch.testing.assert_close(logits, free[:, t])
        tokens = logits.argmax(-1)


def test_teacher_forcing_coin_feeds_ground_truth_with_probability_p():
    model = _model()
    b = _batch(batch=64, max_tgt=6)
    fed = []
    original = model.decoder.step
    model.decoder.step = lambda tokens, hidden: (fed.append(tokens.clone()), original(tokens, hidden))[1]
    g = torch.Generator().manual_seed(1)
    model(b.src, b.src_lengths, b.tgt, teacher_forcing=0.8, generator=g)
    g = torch.Generator().manual_seed(1)
    coins = [torch.rand(64, generator=g) < 0.8 for _ in range(len(fed) - 1)]
    for t, coin in enumerate(coins, start=1):
        assert torch.equal(fed[t][coin], b.tgt[coin, t])


def test_loss_shift_and_padding():
    b = _batch(seed=3)
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(5, b.tgt.size(1) - 1, V_TGT, generator=g, dtype=torch.float64)
    loss = seq2seq_loss(logits, b.tgt, PAD)
    terms = [F.cross_entropy(logits[r, t], b.tgt[r, t + 1]) for r in range(5)
             for t in range(int(b.tgt_lengths[r]) - 1)]
    torch.testing.assert_close(loss, torch.stack(terms).mean())
    changed = logits.clone()
    changed[(b.tgt[:, 1:] == PAD)] = 100.0  # predictions at padded targets do not count
    torch.testing.assert_close(seq2seq_loss(changed, b.tgt, PAD), loss)


def test_greedy_search_equals_one_at_a_time_and_stops():
    model = _model(seed=4)
    b = _batch(seed=4, batch=6)
    state = model.start(b.src, b.src_lengths)
    found = greedy_search(model_step(model), state, SOS, EOS, max_len=9)
    for row in range(6):
        alone = model.start(b.src[row:row + 1], b.src_lengths[row:row + 1])
        tokens, expected = torch.tensor([SOS]), []
        for _ in range(9):
            logits, alone = model.decode_step(tokens, alone)
            tokens = logits.argmax(-1)
            if int(tokens) == EOS:
                break
            expected.append(int(tokens))
        assert found[row] == expected
    assert all(len(h) <= 9 and SOS not in h and EOS not in h for h in found)

    # a toy step that emits 5, 6, <eos> for row 0 and never ends for row 1
    def step(tokens, state):
        t = state[0]
        scores = torch.zeros(2, 8)
        scores[0, [5, 6, EOS][min(int(t[0]), 2)]] = 1
        scores[1, 7] = 1
        return scores, (t + 1,)
    assert greedy_search(step, (torch.zeros(2, dtype=torch.long),), SOS, EOS, max_len=4) == [[5, 6], [7] * 4]


def test_model_step_gives_log_probabilities():
    model = _model()
    b = _batch()
    state = model.start(b.src, b.src_lengths)
    log_probs, new_state = model_step(model)(b.tgt[:, 0], state)
    torch.testing.assert_close(log_probs.exp().sum(-1), torch.ones(5, dtype=torch.float64))
    assert new_state[0].shape == state[0].shape == (5, 2, 8)


def test_batches_cover_every_example_once_and_pad():
    examples = [([4] * (i % 5 + 1), [SOS] + [5] * (i % 3) + [EOS]) for i in range(23)]
    g = torch.Generator().manual_seed(0)
    seen = []
    for batch in batches(examples, 4, shuffle=True, generator=g, pad_index=PAD, bucket=True):
        assert isinstance(batch, PairBatch) and batch.src.size(0) <= 4
        for row in range(batch.src.size(0)):
            seen.append((batch.src[row, : batch.src_lengths[row]].tolist(),
                         batch.tgt[row, : batch.tgt_lengths[row]].tolist()))
    assert sorted(seen) == sorted(examples)


def test_teacher_forcing_schedules():
    assert teacher_forcing_at(10, "constant", k=0.5) == 0.5
    assert teacher_forcing_at(10, "linear", k=1.0, c=0.05, minimum=0.2) == pytest.approx(0.5)
    assert teacher_forcing_at(100, "linear", k=1.0, c=0.05, minimum=0.2) == 0.2
    assert teacher_forcing_at(3, "exponential", k=0.9) == pytest.approx(0.729)
    assert teacher_forcing_at(0, "inverse_sigmoid", k=10.0) == pytest.approx(10 / 11)
    assert teacher_forcing_at(10**6, "inverse_sigmoid", k=10.0) == pytest.approx(0.0)


def test_corpus_bleu_report():
    score, signature = corpus_bleu_report(["the cat sat on the mat"], ["the cat sat on the mat"])
    assert score == pytest.approx(100.0) and "nrefs:1" in signature
    with pytest.raises(ValueError, match="one reference per hypothesis"):
        corpus_bleu_report(["a"], [])


def _toy_data():
    pairs = [("a b", "x y"), ("b a", "y x"), ("a a b", "x x y"), ("b", "y")] * 3
    tok = lambda s: s.split()  # noqa: E731
    src_vocab, tgt_vocab = Vocab.build(tok(s) for s, _ in pairs), Vocab.build(tok(t) for _, t in pairs)
    examples = [(src_vocab.encode(tok(s)), tgt_vocab.encode(tok(t), add_sos_eos=True)) for s, t in pairs]
    raw = {split: pairs for split in ("train", "valid", "test")}
    return TranslationData("toy", "s", "t", src_vocab, tgt_vocab, examples, examples, examples, raw)


def test_train_translation_learns_a_toy_task_and_cache_hits(tmp_path, monkeypatch):
    monkeypatch.setenv("RNNBOOK_CACHE", str(tmp_path))
    data = _toy_data()
    monkeypatch.setattr(translation, "build_data", lambda config: data)
    config = {"model": "seq2seq", "embed_dim": 8, "hidden_dim": 16, "epochs": 30, "batch_size": 4, "lr": 0.02,
              "seed": 0, "teacher_forcing": {"kind": "linear", "k": 1.0, "c": 0.01, "minimum": 0.5}}
    model, _, history = translation.cached_model(config)
    assert history.valid_loss[-1] < history.valid_loss[0] and math.isfinite(history.best_valid_loss)
    assert history.extra["teacher_forcing"][-1] == pytest.approx(0.5)
    assert translation.translate(model, data, ["a b", "b a"]) == ["x y", "y x"]
    files = list((tmp_path / "models").glob("*.pt"))
    assert len(files) == 1
    monkeypatch.setattr(translation, "train_translation", lambda *a, **k: pytest.fail("cache missed"))
    again, _, history2 = translation.cached_model(config)
    assert history2.valid_loss == history.valid_loss
    for p, q in zip(model.parameters(), again.parameters()):
        assert torch.equal(p, q)
    assert translation.config_hash({**config, "seed": 1}) != translation.config_hash(config)


def test_beam_translate_agrees_with_itself_and_with_greedy_and_keeps_the_training_mode():
    data = _toy_data()
    torch.manual_seed(0)
    model = translation.MODEL_BUILDERS["seq2seq"]({"embed_dim": 8, "hidden_dim": 16}, data).train()
    sources = ["a b", "b a", "a a b", "b", ""]
    batched = translation.beam_translate(model, data, sources, beam_size=3, batch_size=2)
    one_at_a_time = translation.beam_translate(model, data, sources, beam_size=3, batch_size=2, batched=False)
    assert batched == one_at_a_time and len(batched) == len(sources)
    # Beam 1 is greedy search (an untrained model: ties are unlikely with random weights).
    assert translation.beam_translate(model, data, sources, beam_size=1) == translation.translate(model, data, sources)
    assert model.training
