"""How gradients travel back through time: norms of dL/dh_t and of the Jacobians dh_T/dh_t.

Both functions unroll the recurrence one step at a time so that every hidden state ``h_t`` is a
node of the graph whose gradient can be read. They accept

- an ``nn.RNN``, ``nn.GRU`` or ``nn.LSTM`` (any number of layers, ``batch_first`` or not): the
  step feeds one time step and carries the module's state; ``h_t`` is the top layer's hidden state;
- any callable ``step(x_t [B, D], state) -> state`` where ``state`` is a tensor ``[B, H]`` or a tuple
  whose first element is ``h_t [B, H]`` (a hand-written RNN, LSTM or GRU cell). Pass ``h0``.
"""
from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn


def _module_step(module: nn.RNNBase) -> Callable:
    def step(x_t, state):
        x = x_t.unsqueeze(1) if module.batch_first else x_t.unsqueeze(0)
        _, state = module(x, state)
        return state
    return step


def _zeros_state(module: nn.RNNBase, inputs: torch.Tensor):
    layers = module.num_layers * (2 if module.bidirectional else 1)
    zeros = inputs.new_zeros(layers, inputs.size(0), module.hidden_size)
    return (zeros, zeros.clone()) if isinstance(module, nn.LSTM) else zeros


def _requiring_grad(state):
    """A copy of the initial state that autograd tracks (so a graph exists even without parameters)."""
    if isinstance(state, torch.Tensor):
        return state.detach().clone().requires_grad_(True)
    return type(state)(_requiring_grad(s) for s in state)


def _split(state):
    return (state[0], tuple(state[1:])) if isinstance(state, (tuple, list)) else (state, None)


def _join(h, rest, like):
    return h if rest is None else type(like)((h, *rest))


def _unroll(step, inputs: torch.Tensor, h0) -> list[torch.Tensor]:
    """Run the recurrence over batch-first ``inputs [B, T, D]``; return each step's ``h_t`` node.

    Every returned ``h_t`` is the tensor the next step actually consumes, so gradients with respect to
    it count every path from ``h_t`` onward.
    """
    is_module = isinstance(step, nn.RNNBase)
    if is_module:
        fn = _module_step(step)
        if h0 is None:
            h0 = _zeros_state(step, inputs)
    else:
        if h0 is None:
            raise ValueError("a step function needs an initial state h0")
        fn = step
    state, hs = _requiring_grad(h0), []
    for t in range(inputs.size(1)):
        state = fn(inputs[:, t], state)
        h, rest = _split(state)
        if is_module:   # [layers, B, H]: make the top layer's state a node the next step reads
            top = h[-1]
            h = torch.cat([h[:-1], top.unsqueeze(0)], dim=0)
            state = _join(h, rest, state)
            hs.append(top)
        else:
            hs.append(h)
    return hs


def hidden_state_grad_norms(step, inputs: torch.Tensor, h0=None, *,
                            loss: Callable[[list[torch.Tensor]], torch.Tensor] | None = None,
                            generator: torch.Generator | None = None) -> torch.Tensor:
    """``||dL/dh_t||`` for ``t = 1..T`` (index ``t-1``), averaged over the batch.

    ``inputs`` is batch-first ``[B, T, D]``. By default ``L = sum_b u . h_T[b]`` for a fixed random unit
    vector ``u`` (drawn from ``generator``), so the norms show how much of a signal at the last step
    reaches each earlier step; pass ``loss(hs) -> scalar`` (``hs`` = list of ``h_t [B, H]``) to use
    another objective, e.g. a cross-entropy at the last step.
    """
    with torch.enable_grad():
        hs = _unroll(step, inputs, h0)
        if loss is None:
            u = torch.randn(hs[-1].size(-1), generator=generator, dtype=hs[-1].dtype).to(hs[-1].device)
            objective = (hs[-1] * (u / u.norm())).sum()
        else:
            objective = loss(hs)
        grads = torch.autograd.grad(objective, hs, allow_unused=True)
    norms = [torch.zeros(()) if g is None else g.detach().norm(dim=-1).mean().cpu() for g in grads]
    return torch.stack(norms)


def hidden_state_jacobian_norms(step, inputs: torch.Tensor, h0=None, ord: float | str = 2) -> torch.Tensor:
    """``||dh_T/dh_t||`` (spectral norm by default) for ``t = 1..T``, averaged over the batch.

    The full Jacobian (every path from ``h_t`` to ``h_T``, through a cell state too) is built one row
    at a time with one backward pass per hidden unit, so keep ``H`` modest (say <= 256).
    ``dh_T/dh_T`` is the identity, so the last entry is 1.
    """
    with torch.enable_grad():
        hs = _unroll(step, inputs, h0)
        last = hs[-1]
        rows = []   # rows[i][t] = d h_T[:, i] / d h_t  -> [B, H]
        for i in range(last.size(-1)):
            grads = torch.autograd.grad(last[:, i].sum(), hs, retain_graph=True, allow_unused=True)
            rows.append([torch.zeros_like(h) if g is None else g for g, h in zip(grads, hs)])
    norms = []
    for t in range(len(hs)):
        jac = torch.stack([row[t] for row in rows], dim=1)   # [B, H_T, H_t]
        norms.append(torch.linalg.matrix_norm(jac.detach().double(), ord=ord).mean().cpu())
    return torch.stack(norms).float()
