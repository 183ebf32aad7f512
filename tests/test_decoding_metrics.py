"""Beam search (one sentence and batched) against exhaustive search, and BLEU against sacrebleu."""
from __future__ import annotations

import random

import pytest
import sacrebleu
import torch

from rnnbook import decoding, metrics
from rnnbook.testing.decoding import TableStep, exhaustive_search, no_bleu_libraries

EOS, SOS = 1, 0


def test_wide_beam_equals_exhaustive_search():
    for seed in range(12):
        V, T = 3 + seed % 3, 3 + seed % 2
        step = TableStep(V, seed=seed, eos_bias=seed % 3 - 1.0)
        alpha = (0.0, 0.7, 1.0)[seed % 3]
        finished, unfinished = exhaustive_search(step, step.initial_state([0]), SOS, EOS, T, alpha)
        n_best = min(3, len(finished))
        found = decoding.beam_search(step, step.initial_state([0]), SOS, EOS, V ** T, T, n_best=n_best, alpha=alpha)
        assert [t for t, _ in found] == [t for t, _ in finished[:n_best]]
        assert [s for _, s in found] == pytest.approx([s for _, s in finished[:n_best]], abs=1e-12)


def test_beam_one_is_greedy_and_a_wider_beam_can_beat_it():
    beaten = 0
    for seed in range(30):
        step = TableStep(6, seed=seed)
        greedy = decoding.beam_search(step, step.initial_state([0]), SOS, EOS, 1, 6)[0]
        wide = decoding.beam_search(step, step.initial_state([0]), SOS, EOS, 8, 6)[0]
        beaten += wide[1] > greedy[1] + 1e-9
        # greedy = arg-max at every step
        state, tokens, seq = step.initial_state([0]), torch.tensor([SOS]), []
        for _ in range(6):
            log_probs, state = step(tokens, state)
            seq.append(int(log_probs[0].argmax()))
            if seq[-1] == EOS:
                break
            tokens = torch.tensor(seq[-1:])
        assert greedy[0] == seq
    assert beaten > 0


def test_stops_once_beam_size_hypotheses_finished():
    step = TableStep(5, seed=3, eos_bias=4.0)     # <eos> is likely: hypotheses finish at once
    result = decoding.beam_search(step, step.initial_state([0]), SOS, EOS, 3, 20, n_best=5)
    assert all(t[-1] == EOS for t, _ in result[:3]) and step.calls < 20


def test_n_best_filled_from_live_hypotheses():
    step = TableStep(5, seed=4, eos_bias=-30.0)   # <eos> never wins: nothing finishes
    result = decoding.beam_search(step, step.initial_state([0]), SOS, EOS, 4, 5, n_best=3, alpha=1.0)
    assert len(result) == 3 and all(len(t) == 5 and EOS not in t for t, _ in result)
    assert [s for _, s in result] == sorted((s for _, s in result), reverse=True)


@pytest.mark.parametrize("alpha", [0.0, 0.6, 1.0])
def test_batched_equals_one_sentence_at_a_time(alpha):
    B, V = 7, 9
    biases = [-2.0, 0.0, 1.0, 2.5, -1.0, 4.0, 0.5]     # sentences finish at different steps
    for beam, n_best in [(1, 1), (3, 2), (5, 5)]:
        step = TableStep(V, B, seed=11, eos_bias=biases)
        batched = decoding.batched_beam_search(step, step.initial_state(), SOS, EOS, beam, 12, n_best, alpha)
        assert step.calls <= 12 and max(step.rows) <= B * beam
        for b in range(B):
            single = decoding.beam_search(step, step.initial_state([b]), SOS, EOS, beam, 12, n_best, alpha)
            assert [t for t, _ in batched[b]] == [t for t, _ in single]
            assert [s for _, s in batched[b]] == pytest.approx([s for _, s in single], abs=1e-12)


def test_reorder_state_handles_tuples():
    state = (torch.arange(3)[:, None].float(), torch.arange(3))
    rows = torch.tensor([2, 2, 0])
    a, b = decoding.reorder_state(state, rows)
    assert a[:, 0].tolist() == [2, 2, 0] and b.tolist() == [2, 2, 0]


# ---------------------------------------------------------------- metrics

def _random_corpus(rng: random.Random, sentences: int, words: str = "a b c d e f g"):
    vocab = words.split()

    def sentence(lo=0, hi=9):
        return " ".join(rng.choice(vocab) for _ in range(rng.randint(lo, hi)))

    hyps = [sentence() for _ in range(sentences)]
    refs = [[sentence(1) for _ in range(sentences)] for _ in range(rng.randint(1, 3))]
    return hyps, refs


@pytest.mark.parametrize("smooth", ["none", "exp", "floor", "add-k"])
def test_corpus_bleu_equals_sacrebleu(smooth):
    rng = random.Random(0)
    for _ in range(60):
        hyps, refs = _random_corpus(rng, rng.randint(1, 4), rng.choice(["a b c", "a b c d e f g h i j k"]))
        ours = metrics.corpus_bleu(hyps, refs, smooth).score
        theirs = sacrebleu.corpus_bleu(hyps, refs, smooth_method=smooth, tokenize="none").score
        assert ours == pytest.approx(theirs, abs=1e-9), (hyps, refs)


def test_sentence_bleu_equals_sacrebleu():
    rng = random.Random(1)
    for _ in range(200):
        hyps, refs = _random_corpus(rng, 1)
        ours = metrics.sentence_bleu(hyps[0], [r[0] for r in refs]).score
        theirs = sacrebleu.sentence_bleu(hyps[0], [r[0] for r in refs], tokenize="none").score
        assert ours == pytest.approx(theirs, abs=1e-9)


def test_word_overlap_and_parts():
    assert metrics.precision_recall_f1("the the the", "the cat") == pytest.approx((1 / 3, 1 / 2, 0.4))
    assert metrics.precision_recall_f1("", "x") == (0.0, 0.0, 0.0)
    assert metrics.modified_precision("the the the the", ["the cat", "the the mat"], 1) == (2, 4)
    assert metrics.brevity_penalty(0, 3) == 0.0 and metrics.brevity_penalty(5, 3) == 1.0
    assert metrics.closest_ref_length(5, [4, 6, 9]) == 4


def test_blocker_disables_sacrebleu_and_restores_it():
    with no_bleu_libraries():
        with pytest.raises(AssertionError):
            sacrebleu.corpus_bleu(["a"], [["a"]])
        with pytest.raises(ImportError):
            import sacrebleu as _  # noqa: F401
        with pytest.raises(AssertionError):
            metrics.corpus_bleu(["a"], [["a"]])
    assert sacrebleu.corpus_bleu(["a b"], [["a b"]], tokenize="none").score == pytest.approx(
        metrics.corpus_bleu(["a b"], [["a b"]]).score)
