"""The tamper guard and the checks it protects: each way a notebook could fool the tests is caught,
and the message names what was replaced."""
from __future__ import annotations

import builtins
import functools
import subprocess
import sys

import numpy as np
import pytest
import torch
from torch import nn

from rnnbook.testing import checks, guard, spies
from rnnbook.testing.guard import assert_untampered

TAMPERED = "replaced functions that the tests rely on"


class AlwaysEqual:
    """Says yes to every comparison."""
    def __eq__(self, other):
        return True

    def __ne__(self, other):
        return False

    __hash__ = object.__hash__


class Agreeable(torch.Tensor):
    """A Tensor subclass that answers True to every torch function (allclose, equal, ...)."""
    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        return True


def expect_tampered(*names: str, namespace: dict | None = None) -> str:
    with pytest.raises(AssertionError, match=TAMPERED) as err:
        if namespace is None:
            assert_untampered()
        else:
            exec("assert_untampered()", {**namespace, "assert_untampered": assert_untampered})
    for name in names:
        assert name in str(err.value)
    return str(err.value)


def test_an_untouched_session_passes():
    assert_untampered()
    assert guard.tampered() == []


@pytest.mark.parametrize("replacement", [
    lambda *a, **k: True,
    functools.partial(torch.allclose, atol=1e9),
    functools.wraps(torch.allclose)(lambda *a, **k: True),
    AlwaysEqual(),
], ids=["lambda", "partial", "wrapper", "always-equal"])
def test_replaced_torch_functions_are_named(monkeypatch, replacement):
    monkeypatch.setattr(torch, "allclose", replacement)
    message = expect_tampered("torch.allclose")
    assert "Remove the code" in message


@pytest.mark.parametrize("holder, name", [
    (torch, "equal"), (torch, "isclose"), (torch.testing, "assert_close"), (torch.Tensor, "__eq__"),
    (torch.Tensor, "eq"), (torch.Tensor, "__torch_function__"), (builtins, "abs"), (builtins, "round"),
])
def test_every_watched_function(monkeypatch, holder, name):
    monkeypatch.setattr(holder, name, lambda *a, **k: True)
    expect_tampered(name)


@pytest.mark.parametrize("name", ["expect_close", "expect_sequence", "expect_shape", "forbid", "_plain"])
def test_rebound_check_helpers_are_caught(monkeypatch, name):
    monkeypatch.setattr(checks, name, lambda *a, **k: None)
    expect_tampered(f"rnnbook.testing.checks.{name}")


def test_rebinding_the_guard_itself_is_caught_by_every_check(monkeypatch):
    monkeypatch.setattr(guard, "assert_untampered", lambda: None)
    with pytest.raises(AssertionError, match="rnnbook.testing.guard.assert_untampered"):
        checks.expect_close("x", torch.zeros(2), torch.zeros(2))
    monkeypatch.setattr(spies, "no_library_rnns", lambda: None)
    with pytest.raises(AssertionError, match="rnnbook.testing.spies.no_library_rnns"):
        checks.expect_type("x", 1, int)


def test_code_and_defaults_swapped_in_place_are_caught(monkeypatch):
    monkeypatch.setattr(checks.expect_close, "__defaults__", (1e9, 1e9, ""))
    expect_tampered("rnnbook.testing.checks.expect_close.__defaults__")
    monkeypatch.undo()
    monkeypatch.setattr(checks.expect_sequence, "__code__", (lambda name, actual, expected, hint="": None).__code__)
    expect_tampered("rnnbook.testing.checks.expect_sequence.__code__")


def test_rebound_names_in_the_notebook_are_caught():
    fake = type("FakeChecks", (), {"expect_close": staticmethod(lambda *a, **k: None)})()
    expect_tampered("'checks'", namespace={"checks": fake, "torch": torch})
    expect_tampered("'torch'", namespace={"checks": checks, "torch": AlwaysEqual()})


def test_tampering_inside_a_forbid_block_is_caught_on_exit(monkeypatch):
    def sneaky():
        monkeypatch.setattr(torch, "allclose", lambda *a, **k: True)

    with pytest.raises(AssertionError, match="torch.allclose"):
        with checks.forbid(torch.nn.functional.softmax):
            sneaky()


def test_checks_reject_objects_that_equal_everything():
    with pytest.raises(AssertionError, match="plain Python value"):
        checks.expect_sequence("tokens", AlwaysEqual(), ["a", "b"])
    with pytest.raises(AssertionError, match=r"item \[1\] of tokens"):
        checks.expect_sequence("tokens", ["a", AlwaysEqual()], ["a", "b"])
    with pytest.raises(AssertionError, match="subclass of list"):
        checks.expect_sequence("ids", type("MyList", (list,), {"__eq__": lambda s, o: True})([1]), [2])
    with pytest.raises(AssertionError, match="subclass of str"):
        checks.expect_type("text", type("MyStr", (str,), {"__eq__": lambda s, o: True})("a"), str)
    with pytest.raises(AssertionError, match="subclass of float"):
        checks.expect_type("loss", type("MyFloat", (float,), {})(1.0), float)
    with pytest.raises(AssertionError, match="wrong value"):
        checks.expect_mapping("stoi", {"a": 1}, {"a": 0})
    with pytest.raises(AssertionError, match="plain Python value"):
        checks.expect_mapping("stoi", {"a": AlwaysEqual()}, {"a": 0})


def test_checks_reject_tensor_subclasses_but_accept_parameters():
    agreeable = torch.zeros(3).as_subclass(Agreeable)
    assert torch.allclose(agreeable, torch.ones(3))  # what the subclass would get away with
    with pytest.raises(AssertionError, match="subclass of Tensor"):
        checks.expect_close("out", agreeable, torch.ones(3))
    with pytest.raises(AssertionError, match="subclass of Tensor"):
        checks.expect_sequence("ids", agreeable, [1, 1, 1])
    checks.expect_close("weight", nn.Parameter(torch.ones(3)), torch.ones(3))
    checks.expect_sequence("ids", torch.tensor([1, 2]), [1, 2])
    checks.expect_sequence("text", "ab", "ab")
    checks.expect_mapping("stoi", {"a": 0, "b": 1}, {"b": 1, "a": 0})


def test_expect_number_accepts_plain_numbers_only():
    checks.expect_number("loss", 1.0 + 1e-13, 1.0)
    checks.expect_number("count", 3, 3.0)
    checks.expect_number("bleu", np.float64(2.5), 2.5)
    checks.expect_number("loss", torch.tensor(0.5, dtype=torch.float64), 0.5)
    checks.expect_number("ppl", 101.0, 100.0, rtol=0.02)
    with pytest.raises(AssertionError, match="off by 0.1"):
        checks.expect_number("loss", 1.1, 1.0)
    with pytest.raises(AssertionError, match="off by"):
        checks.expect_number("loss", float("nan"), 1.0)
    with pytest.raises(AssertionError, match="subclass of float"):
        checks.expect_number("loss", type("MyFloat", (float,), {"__sub__": lambda s, o: 0.0})(9.0), 1.0)
    with pytest.raises(AssertionError, match="should be a number"):
        checks.expect_number("loss", AlwaysEqual(), 1.0)
    with pytest.raises(AssertionError, match="subclass of Tensor"):
        checks.expect_number("loss", torch.zeros(()).as_subclass(Agreeable), 1.0)


def test_legitimate_use_of_the_spies_is_not_tampering():
    model = nn.Linear(2, 1)
    optimizer = spies.GradNormSGD(model.parameters(), lr=0.1)  # torch wraps step() on the class
    model(torch.ones(1, 2)).sum().backward()
    optimizer.step()
    with spies.no_library_rnns():
        checks.expect_close("x", torch.zeros(2), torch.zeros(2))
    assert_untampered()


def test_replacing_before_the_package_is_imported_is_caught():
    """The setup cell is not locked: replacing torch.allclose before importing rnnbook.testing."""
    code = ("import torch, builtins\ntorch.allclose = lambda *a, **k: True\nbuiltins.sorted = lambda *a, **k: []\n"
            "from rnnbook.testing import guard\nprint(guard.tampered())\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "torch.allclose (replaced before rnnbook.testing was imported)" in out
    assert "builtins.sorted (replaced before" in out
