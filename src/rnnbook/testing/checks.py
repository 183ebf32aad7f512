"""Helpers for tests that teach: each failure says what is wrong, never what the answer is.

Visible tests in the exercises use these, and so can learners while they debug.

Imported by every assignment's visible and hidden tests.
"""
from __future__ import annotations

import contextlib
import types
from collections.abc import Callable, Sequence

import torch


def describe(value) -> str:
    """A short description of a value's kind: type, and shape/dtype for tensors."""
    if isinstance(value, torch.Tensor):
        return f"tensor of shape {tuple(value.shape)} and dtype {value.dtype}"
    if isinstance(value, (list, tuple)):
        return f"{type(value).__name__} of length {len(value)}"
    return type(value).__name__


def expect_type(name: str, value, kind: type | tuple[type, ...]) -> None:
    if not isinstance(value, kind):
        kinds = kind if isinstance(kind, tuple) else (kind,)
        wanted = " or ".join(k.__name__ for k in kinds)
        raise AssertionError(f"{name} should be a {wanted}, but it is a {describe(value)}.")


def expect_shape(name: str, tensor, expected: Sequence[int], hint: str = "") -> None:
    expect_type(name, tensor, torch.Tensor)
    if tuple(tensor.shape) != tuple(expected):
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
    """Shapes must match and values agree within tolerance; a failure reports the max error and where."""
    expect_shape(name, actual, expected.shape)
    if not torch.allclose(actual.detach().double(), expected.detach().double(), atol=atol, rtol=rtol):
        err, where = max_error(actual, expected)
        raise AssertionError(
            f"{name} differs from the reference: max abs error {err:.3g} at index {where} "
            f"(tolerance {atol:g})." + (f" {hint}" if hint else "")
        )


def first_divergence(actual: Sequence, expected: Sequence) -> int | None:
    """Index of the first position where two sequences differ (a length difference counts)."""
    for i, (a, b) in enumerate(zip(actual, expected)):
        if a != b:
            return i
    return None if len(actual) == len(expected) else min(len(actual), len(expected))


def expect_sequence(name: str, actual: Sequence, expected: Sequence, hint: str = "") -> None:
    """Two sequences must be equal; a failure says where they first part, not the expected items."""
    step = first_divergence(list(actual), list(expected))
    if step is not None:
        if len(actual) != len(expected):
            detail = f"it has length {len(actual)}, expected {len(expected)}; first difference at position {step}"
        else:
            detail = f"first difference at position {step}"
        raise AssertionError(f"{name} is not right: {detail}." + (f" {hint}" if hint else ""))


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
