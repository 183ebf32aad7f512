"""The shared text and batching code, and the checks that visible tests use."""
from __future__ import annotations

import pytest
import torch
from torch import nn

from rnnbook.data import batching
from rnnbook.data import vocab as vocab_lib
from rnnbook.testing import checks


def test_tokenizers():
    assert vocab_lib.tokenize_words("Don't stop!!") == ["don", "'", "t", "stop", "!", "!"]
    assert vocab_lib.tokenize_words("ABC", lower=False) == ["ABC"]
    assert vocab_lib.tokenize_chars("a b") == ["a", " ", "b"]
    assert vocab_lib.corpus_tokens("a b\nc\n") == ["a", "b", "<eos>", "c", "<eos>"]


def test_vocab_order_cutoff_and_round_trip():
    vocab = vocab_lib.Vocab.build([["b", "a", "b", "<unk>"], ["c", "a", "b", "d"]], min_freq=1)
    assert vocab.itos == ["<pad>", "<unk>", "<sos>", "<eos>", "b", "a", "c", "d"]
    assert vocab.pad_index == 0 and vocab["zebra"] == vocab.unk_index
    assert len(vocab_lib.Vocab.build([["b", "a", "b"], ["a", "c"]], min_freq=2)) == 6
    ids = vocab.encode(["a", "zebra"], add_sos_eos=True)
    assert ids == [2, 5, 1, 3]
    assert vocab.decode(ids + [0, 0]) == ["a", "<unk>"]
    assert vocab.decode(ids, strip_specials=False) == ["<sos>", "a", "<unk>", "<eos>"]
    assert len(vocab_lib.Vocab.build([list("abcdef")], max_size=6)) == 6
    with pytest.raises(ValueError, match="<unk>"):
        vocab_lib.Vocab({"a": 1}, specials=("<pad>",))


def test_pad_batch_and_run_packed_match_running_alone():
    padded, lengths = batching.pad_batch([[1, 2, 3], [4], [5, 6]], pad_index=9)
    assert padded.tolist() == [[1, 2, 3], [4, 9, 9], [5, 6, 9]] and lengths.tolist() == [3, 1, 2]
    torch.manual_seed(0)
    rnn = nn.GRU(3, 4, batch_first=True)
    x = torch.randn(3, 5, 3)
    lengths = torch.tensor([2, 5, 3])
    out, h = batching.run_packed(rnn, x, lengths)
    assert out.shape == (3, 5, 4)
    for i, n in enumerate(lengths.tolist()):
        _, h_alone = rnn(x[i:i + 1, :n])
        assert torch.allclose(h[:, i], h_alone[:, 0], atol=1e-6)
        assert torch.all(out[i, n:] == 0)


def test_lm_batching_rows_are_contiguous_and_targets_shift():
    data = batching.batchify(torch.arange(26), 4)
    assert data.shape == (4, 6) and data[1, 0] == 6
    chunks = list(batching.lm_chunks(data, bptt=4))
    assert [x.shape[1] for x, _ in chunks] == [4, 1]
    for x, y in chunks:
        assert torch.equal(y, x + 1)  # arange: the next token is the id plus one


def test_expectations_explain_without_giving_the_answer():
    with pytest.raises(AssertionError, match=r"shape \(2, 3\), expected \(3, 2\)"):
        checks.expect_shape("h", torch.zeros(2, 3), (3, 2))
    with pytest.raises(AssertionError, match=r"max abs error 0.5 at index \(1,\)"):
        checks.expect_close("y", torch.tensor([1.0, 2.5]), torch.tensor([1.0, 2.0]))
    with pytest.raises(AssertionError, match="first difference at position 1") as err:
        checks.expect_sequence("tokens", ["a", "x"], ["a", "secret"])
    assert "secret" not in str(err.value)
    with pytest.raises(AssertionError, match="should be a Tensor, but it is a list"):
        checks.expect_type("out", [1], torch.Tensor)


def test_forbid_blocks_aliases_and_restores():
    alias = batching.pad_batch
    with pytest.raises(checks.ForbiddenCallError, match="pad_batch"):
        with checks.forbid(batching.pad_batch):
            alias([[1]], 0)
    assert alias([[1]], 0)[0].tolist() == [[1]]
    rnn = nn.RNN(2, 3)
    with checks.forbid(nn.RNN):
        with pytest.raises(checks.ForbiddenCallError):
            rnn(torch.zeros(1, 1, 2))
        nn.Linear(2, 2)(torch.zeros(1, 2))  # other modules keep working
    assert rnn(torch.zeros(1, 1, 2))[0].shape == (1, 1, 3)


def test_cmp_prints_a_comparison_line(capsys):
    assert checks.cmp("dW", torch.ones(3), torch.ones(3) + 1e-9)
    assert "approximate: True" in capsys.readouterr().out
