"""The tamper guard: a notebook that replaced what the tests rely on (``torch.allclose = lambda *a, **k:
True``, a patched ``checks.expect_close``, a rebound ``checks`` name...) cannot pass them.

The originals are captured when ``rnnbook.testing`` is first imported (an assignment's setup cell, before
any learner code runs) and later compared by identity (``is``), so wrappers, ``functools.partial`` objects
and objects that claim to equal everything are caught. Hidden tests call ``assert_untampered()`` at their
start and end; every check in ``rnnbook.testing.checks`` runs the same guard. Used by every assignment.
"""
from __future__ import annotations

import builtins
import inspect
import math
import sys
import types
from pathlib import Path

import torch
from torch import nn

from . import checks, fixtures, spies

_MISSING = object()

BUILTINS = ("len", "isinstance", "issubclass", "type", "all", "any", "abs", "min", "max", "sum", "sorted", "round",
            "list", "tuple", "dict", "set", "str", "int", "float", "bool", "repr", "zip", "range", "enumerate",
            "iter", "next", "getattr", "hasattr", "AssertionError", "Exception")
TORCH_NAMES = ("Tensor", "nn", "testing", "equal", "allclose", "isclose", "eq", "ne", "all", "any", "abs", "max",
               "min", "sum", "stack", "tensor", "zeros", "ones", "softmax", "unravel_index", "is_grad_enabled")
TENSOR_ATTRIBUTES = ("__eq__", "__ne__", "__lt__", "__le__", "__gt__", "__ge__", "__bool__", "__float__", "__int__",
                     "__len__", "__iter__", "__getitem__", "__add__", "__sub__", "__rsub__", "__mul__", "__truediv__",
                     "__neg__", "__abs__", "__torch_function__", "eq", "ne", "equal", "allclose", "isclose", "abs",
                     "max", "min", "sum", "all", "any", "argmax", "item", "tolist", "detach", "double", "float", "to",
                     "clone", "size", "dim", "numel", "shape", "dtype")
# Names the notebooks' tests use; if a notebook binds them, they must still be these objects.
NOTEBOOK_NAMES = {"torch": torch, "nn": nn, "F": nn.functional, "checks": checks, "math": math}
OUR_MODULES = (checks, spies, fixtures)


def _class_entries(label: str, cls: type, name: str) -> list[tuple[str, object, str, object]]:
    """Watch ``cls.name`` where it is looked up: absent from the classes before the one defining it."""
    entries = []
    for klass in cls.__mro__:
        found = vars(klass).get(name, _MISSING)
        entries.append((label, vars(klass), name, found))
        if found is not _MISSING:
            break
    return entries


def _function_entries(label: str, fn) -> list[tuple[str, object, str, object]]:
    """A function's code, defaults and wrapped function are watched too (they can be swapped in place)."""
    entries = []
    while isinstance(fn, types.FunctionType):
        entries += [(f"{label}.{attr}", fn, attr, getattr(fn, attr))
                    for attr in ("__code__", "__defaults__", "__kwdefaults__")]
        wrapped = getattr(fn, "__wrapped__", None)
        if wrapped is None:
            break
        entries.append((f"{label}.__wrapped__", fn, "__wrapped__", wrapped))
        fn = wrapped
    return entries


def _snapshot() -> tuple[tuple, tuple]:
    """(items, attributes): (label, mapping, key, original) entries and (label, object, attribute, original)."""
    items = [(f"builtins.{n}", vars(builtins), n, vars(builtins)[n]) for n in BUILTINS]
    items += [(f"torch.{n}", vars(torch), n, vars(torch)[n]) for n in TORCH_NAMES]
    items += [("torch.testing.assert_close", vars(torch.testing), "assert_close", torch.testing.assert_close)]
    for name in TENSOR_ATTRIBUTES:
        items += _class_entries(f"torch.Tensor.{name}", torch.Tensor, name)
    items += _class_entries("torch.nn.Parameter.__torch_function__", nn.Parameter, "__torch_function__")
    attributes = []
    for module in (*OUR_MODULES, sys.modules[__name__]):
        for name, value in vars(module).items():
            if name.startswith("__"):
                continue
            label = f"{module.__name__}.{name}"
            items.append((label, vars(module), name, value))
            attributes += _function_entries(label, value)
            # torch.optim.Optimizer wraps its subclasses' step() on first use: their methods are not watched.
            if (isinstance(value, type) and value.__module__ == module.__name__
                    and not issubclass(value, torch.optim.Optimizer)):
                for attr, member in vars(value).items():
                    if isinstance(member, types.FunctionType):
                        items.append((f"{label}.{attr}", vars(value), attr, member))
                        attributes += _function_entries(f"{label}.{attr}", member)
    return tuple(items), tuple(attributes)


def _kind(obj, _type=type) -> str:  # the original type(), bound when this module loaded
    return "deleted" if obj is _MISSING else "a " + _type(obj).__name__


def _genuine(label: str, original) -> bool:
    """Whether a captured original really comes from where it should (the setup cell, which imports
    this package, is not locked: a notebook could replace things before the capture)."""
    if original is _MISSING:
        return True
    if label.startswith("builtins."):
        return type(original) is types.BuiltinFunctionType or (
            isinstance(original, type) and original.__module__ == "builtins")
    home = str(Path(torch.__file__).parent) if label.startswith("torch.") else None
    if home is None:
        return True  # our own modules: their functions are checked by the code of their file below
    if isinstance(original, (classmethod, staticmethod)):
        original = original.__func__
    if isinstance(original, types.FunctionType):
        return original.__code__.co_filename.startswith(home)
    if isinstance(original, types.ModuleType):
        return str(getattr(original, "__file__", "")).startswith(home)
    if isinstance(original, type):
        return original.__module__.startswith("torch")
    return type(original) in _C_KINDS


_C_KINDS = (types.BuiltinFunctionType, types.MethodDescriptorType, types.WrapperDescriptorType,
            types.GetSetDescriptorType, types.MemberDescriptorType)


def _replaced_before_capture(items) -> tuple[str, ...]:
    found = [label for label, _, _, original in items if not _genuine(label, original)]
    for label, _, _, original in items:  # a function of ours must run the code of the file it names
        if label.startswith("rnnbook.") and isinstance(original, types.FunctionType):
            fn = inspect.unwrap(original)
            home = sys.modules.get(fn.__module__)
            if not fn.__module__.startswith("rnnbook.") or fn.__code__.co_filename != getattr(home, "__file__", None):
                found.append(label)
    return tuple(found)


def tampered(namespace: dict | None = None) -> list[str]:
    """What differs from the originals, each as 'name (now a <type>)'; ``namespace`` is the notebook's."""
    found = [f"{label} (replaced before rnnbook.testing was imported)" for label in _BEFORE_CAPTURE]
    for label, mapping, key, original in _ITEMS:
        now = mapping.get(key, _MISSING)
        if now is not original:
            found.append(f"{label} (now {_kind(now)})")
    for label, obj, attr, original in _ATTRIBUTES:
        if getattr(obj, attr, _MISSING) is not original:
            found.append(label)
    for name, original in NOTEBOOK_NAMES.items():
        if namespace is not None and name in namespace and namespace[name] is not original:
            found.append(f"the notebook's name {name!r} (now {_kind(namespace[name])})")
    return found


def _raise_if_tampered(namespace: dict | None) -> None:
    found = tampered(namespace)
    if found:
        raise AssertionError(
            "the notebook replaced functions that the tests rely on: " + ", ".join(found) + ". "
            "Remove the code that does this, restart the kernel and run all cells again, so your work can be checked."
        )


def assert_untampered() -> None:
    """Hidden tests call this at their start and end: fails, naming what was replaced, if the notebook
    replaced functions or names the tests rely on."""
    _raise_if_tampered(sys._getframe(1).f_globals)


checks._guard = _raise_if_tampered
_ITEMS, _ATTRIBUTES = _snapshot()
_BEFORE_CAPTURE = _replaced_before_capture(_ITEMS)
