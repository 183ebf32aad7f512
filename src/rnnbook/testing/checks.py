"""Helpers for tests that teach: each failure says what is wrong, never what the answer is.

Visible tests in the exercises use these, and so can learners while they debug.

Imported by every assignment's visible and hidden tests.
"""
from __future__ import annotations

import contextlib
import sys
import types
from collections.abc import Callable, Sequence

import numpy as np
import torch
from torch import nn

# Set by rnnbook.testing.guard when the package is imported: raises if the notebook replaced what the
# checks rely on. Every check calls it first, so a visible test says what was tampered with.
_guard: Callable[[dict | None], None] | None = None

# Values a learner's function returns are compared only as these exact types: a subclass (or any
# object) could answer "yes" to every comparison. nn.Parameter is a Tensor whose overrides are off.
_TENSOR_TYPES = (torch.Tensor, nn.Parameter)
_STRICT_BUILTINS = (bool, int, float, complex, str, bytes, list, tuple, dict, set, frozenset)
_PLAIN_ITEMS = (bool, int, float, str, type(None))


def _check_untampered() -> None:
    """Run the tamper guard, with the namespace of the code (the notebook) that called the check."""
    if _guard is None:
        return
    frame = sys._getframe(1)
    while frame is not None and frame.f_globals.get("__name__", "").startswith(("rnnbook.testing", "contextlib")):
        frame = frame.f_back
    _guard(frame.f_globals if frame is not None else None)


def describe(value) -> str:
    """A short description of a value's kind: type, and shape/dtype for tensors."""
    if type(value) in _TENSOR_TYPES:
        return f"tensor of shape {tuple(value.shape)} and dtype {value.dtype}"
    if type(value) in (list, tuple):
        return f"{type(value).__name__} of length {len(value)}"
    if isinstance(value, (torch.Tensor, *_STRICT_BUILTINS)):
        base = next(k for k in (torch.Tensor, *_STRICT_BUILTINS) if isinstance(value, k))
        return f"{type(value).__name__} (a subclass of {base.__name__})"
    return type(value).__name__


def _is_exactly(value, kind: type) -> bool:
    """``isinstance`` for most kinds; for tensors and built-in types the exact type (no subclasses)."""
    if kind is torch.Tensor:
        return type(value) in _TENSOR_TYPES
    if kind in _STRICT_BUILTINS:
        return type(value) is kind
    return isinstance(value, kind)


def expect_type(name: str, value, kind: type | tuple[type, ...]) -> None:
    """``value`` must be of the given kind; tensors and built-in types must be exactly that type."""
    _check_untampered()
    kinds = kind if isinstance(kind, tuple) else (kind,)
    if not any(_is_exactly(value, k) for k in kinds):
        wanted = " or ".join(k.__name__ for k in kinds)
        raise AssertionError(f"{name} should be a {wanted}, but it is a {describe(value)}.")


def _tensor_copy(name: str, value) -> torch.Tensor:
    """A float64 copy of a tensor of exactly the type Tensor (detached from any graph)."""
    expect_type(name, value, torch.Tensor)
    return value.detach().to(torch.float64, copy=True)


def expect_shape(name: str, tensor, expected: Sequence[int], hint: str = "") -> None:
    expect_type(name, tensor, torch.Tensor)
    if tuple(tensor.shape) != tuple(int(n) for n in expected):
        raise AssertionError(
            f"{name} has shape {tuple(tensor.shape)}, expected {tuple(expected)}." + (f" {hint}" if hint else "")
        )


def expect_dtype(name: str, tensor, dtype: torch.dtype) -> None:
    expect_type(name, tensor, torch.Tensor)
    if tensor.dtype != dtype:
        raise AssertionError(f"{name} has dtype {tensor.dtype}, expected {dtype}.")


def max_error(actual: torch.Tensor, expected: torch.Tensor) -> tuple[float, tuple[int, ...]]:
    """The largest absolute difference and where it is."""
    diff = (actual.detach().double() - expected.detach().double()).abs()
    flat = int(diff.argmax())
    where = tuple(int(i) for i in torch.unravel_index(torch.tensor(flat), diff.shape)) if diff.dim() else ()
    return float(diff.max()), where


def expect_close(name: str, actual, expected: torch.Tensor, atol: float = 1e-6, rtol: float = 1e-5,
                 hint: str = "") -> None:
    """Shapes must match and values agree within tolerance; a failure reports the max error and where.
    Both sides are compared as float64 copies of plain tensors."""
    expect_shape(name, actual, expected.shape)
    ours, reference = _tensor_copy(name, actual), _tensor_copy("the reference", expected)
    if not torch.allclose(ours, reference, atol=atol, rtol=rtol):
        err, where = max_error(ours, reference)
        raise AssertionError(
            f"{name} differs from the reference: max abs error {err:.3g} at index {where} "
            f"(tolerance {atol:g})." + (f" {hint}" if hint else "")
        )


# numpy's scalar types are C types: they cannot be patched to equal everything, so they count as numbers.
_NUMBER_TYPES = (int, float, np.float64, np.float32, np.int64, np.int32)


def expect_number(name: str, actual, expected: float, atol: float = 1e-12, rtol: float = 0.0, hint: str = "") -> None:
    """A number (int, float, a numpy scalar or a one-element plain tensor) within tolerance of the reference;
    subclasses and other objects are rejected, and a failure gives the error, not the expected value."""
    _check_untampered()
    if type(actual) in _TENSOR_TYPES and actual.numel() == 1:
        actual = actual.item()
    if type(actual) not in _NUMBER_TYPES:
        raise AssertionError(f"{name} should be a number (a float), but it is a {describe(actual)}.")
    ours, reference = float(actual), float(expected)
    if not abs(ours - reference) <= atol + rtol * abs(reference):  # written so that NaN fails
        raise AssertionError(f"{name} is off by {abs(ours - reference):.3g} (tolerance {atol:g}, relative {rtol:g})."
                             + (f" {hint}" if hint else ""))


def first_divergence(actual: Sequence, expected: Sequence) -> int | None:
    """Index of the first position where two sequences differ (a length difference counts)."""
    for i, (a, b) in enumerate(zip(actual, expected)):
        if a != b:
            return i
    return None if len(actual) == len(expected) else min(len(actual), len(expected))


def _plain(name: str, value, where: str = ""):
    """``value`` as nested tuples of plain Python items (int, float, str, ...), rejecting anything
    else: an object that claims to equal everything cannot pass a comparison of plain values."""
    if type(value) in _TENSOR_TYPES:
        value = value.tolist()
    if type(value) is str and not where:
        return tuple(value)
    if type(value) in (list, tuple):
        return tuple(_plain(name, item, f"{where}[{i}]") for i, item in enumerate(value))
    if type(value) in _PLAIN_ITEMS:
        return value
    what = f"item {where} of {name}" if where.startswith("[") else name
    raise AssertionError(f"{what} should be a plain Python value (int, float, str, list, tuple or a tensor), "
                         f"but it is a {describe(value)}.")


def expect_sequence(name: str, actual: Sequence, expected: Sequence, hint: str = "") -> None:
    """Two sequences must be equal; a failure says where they first part, not the expected items.
    A string counts as a sequence of characters; a tensor as its ``tolist()``."""
    _check_untampered()
    actual, expected = _plain(name, actual), _plain("the reference", expected)
    step = first_divergence(actual, expected)
    if step is not None:
        if len(actual) != len(expected):
            detail = f"it has length {len(actual)}, expected {len(expected)}; first difference at position {step}"
        else:
            detail = f"first difference at position {step}"
        raise AssertionError(f"{name} is not right: {detail}." + (f" {hint}" if hint else ""))


def expect_mapping(name: str, actual, expected: dict, hint: str = "") -> None:
    """Two dicts must be equal; a failure counts the wrong, missing and unexpected keys."""
    expect_type(name, actual, dict)
    ours = {_plain(f"a key of {name}", k, "?"): _plain(f"a value of {name}", v, "?") for k, v in actual.items()}
    reference = {_plain("the reference", k, "?"): _plain("the reference", v, "?") for k, v in expected.items()}
    missing = sum(1 for k in reference if k not in ours)
    extra = sum(1 for k in ours if k not in reference)
    wrong = sum(1 for k in reference if k in ours and ours[k] != reference[k])
    if missing or extra or wrong:
        raise AssertionError(f"{name} is not right: {wrong} keys map to a wrong value, {missing} expected keys are "
                             f"missing and {extra} keys should not be there." + (f" {hint}" if hint else ""))


def cmp(name: str, ours: torch.Tensor, reference: torch.Tensor) -> bool:
    """Karpathy-style comparison line: exact? approximately? largest difference? Returns approx."""
    ours, reference = ours.detach(), reference.detach()
    exact = bool(torch.equal(ours, reference))
    approx = bool(torch.allclose(ours, reference))
    maxdiff = float((ours - reference).abs().max()) if ours.numel() else 0.0
    print(f"{name:18s} | exact: {exact!s:5} | approximate: {approx!s:5} | maxdiff: {maxdiff:.3g}")
    return approx


class ForbiddenCallError(AssertionError):
    """Raised when an exercise calls the library routine it was asked to write itself."""


def _functions_of(target) -> list[types.FunctionType]:
    if isinstance(target, types.FunctionType):
        return [target]
    if isinstance(target, types.MethodType):
        return [target.__func__]
    if isinstance(target, type):  # the class's own methods, not its bases' (nn.Module must keep working)
        found = []
        for value in vars(target).values():
            raw = value.__func__ if isinstance(value, (classmethod, staticmethod)) else value
            if isinstance(raw, types.FunctionType):
                found.append(raw)
        return found
    raise TypeError(f"cannot forbid {target!r}: pass a Python function, method or class")


def _raising_code(freevars: tuple[str, ...], message: str) -> types.CodeType:
    """A code object that raises ``ForbiddenCallError(message)`` and has the given free variables,
    so it can replace the code of any function, closures included."""
    params = ", ".join(freevars)
    touch = "; ".join(freevars) or "pass"
    src = (
        f"def _outer({params}):\n"
        f"    def _blocked(*args, **kwargs):\n"
        f"        {touch}\n"
        # The swapped code runs with the original function's globals: reach the error class by import.
        f"        raise __import__('rnnbook.testing.checks', fromlist=['_']).ForbiddenCallError({message!r})\n"
        f"    return _blocked\n"
    )
    scope: dict = {}
    exec(src, scope)
    code = scope["_outer"](*([None] * len(freevars))).__code__
    assert code.co_freevars == freevars
    return code


@contextlib.contextmanager
def forbid(*targets: Callable, reason: str = "this exercise asks you to write it yourself"):
    """Make the given functions (or every method of the given classes) raise while the block runs.

    The functions' code objects are swapped, so names imported earlier under another name are
    caught too. Everything is restored on exit.
    """
    swapped: dict[types.FunctionType, types.CodeType] = {}
    for target in targets:
        label = getattr(target, "__qualname__", repr(target))
        for fn in _functions_of(target):
            if fn not in swapped:
                swapped[fn] = fn.__code__
                fn.__code__ = _raising_code(fn.__code__.co_freevars, f"your code called {label}: {reason}.")
    try:
        yield
    finally:
        for fn, code in swapped.items():
            fn.__code__ = code
    _check_untampered()  # the learner's code ran inside the block: it must not have replaced what tests use
