"""The tamper guard: hidden tests call ``assert_untampered()`` first, so a notebook that replaced the
functions tests rely on (``torch.allclose = lambda *a, **k: True``, say) cannot pass them.

Imported by the hidden tests of every assignment.
"""
from __future__ import annotations

import torch

from . import checks


def assert_untampered() -> None:
    """Hidden tests call this first: a notebook that replaced the functions tests rely on
    (``torch.allclose = lambda *a, **k: True``, say) cannot pass them."""
    import builtins

    replaced = [f"builtins.{name}" for name in ("len", "isinstance", "all", "any", "abs", "sorted", "list",
                                                  "dict", "type", "float", "int")
                if getattr(builtins, name).__module__ != "builtins"]
    torch_dir = torch.__file__.rsplit("/", 1)[0]
    library = {"torch.equal": torch.equal, "torch.allclose": torch.allclose, "torch.isclose": torch.isclose,
               "torch.Tensor.__eq__": torch.Tensor.__eq__, "torch.testing.assert_close": torch.testing.assert_close}
    for name, fn in library.items():
        code = getattr(fn, "__code__", None)  # C functions have none; a Python stand-in lives outside torch
        if code is not None and not code.co_filename.startswith(torch_dir):
            replaced.append(name)
    for name in ("expect_close", "expect_shape", "expect_sequence", "forbid"):
        fn = getattr(checks, name)
        if getattr(fn, "__wrapped__", fn).__code__.co_filename != checks.__file__:
            replaced.append(f"rnnbook.testing.checks.{name}")
    if replaced:
        raise AssertionError(
            "the notebook replaced functions that the tests rely on (" + ", ".join(replaced) + "); "
            "restore them (restart the kernel) so your work can be checked."
        )
