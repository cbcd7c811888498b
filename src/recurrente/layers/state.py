"""Recurrent state, kept explicit: modules take it and return it, never store it on ``self``.

The state of an ``L``-layer, ``K``-direction layer is ``h`` of shape ``(L*K, B, H)`` (row
``layer*K + direction``, as torch.nn), and for the LSTM the pair ``LSTMState(h, c)``.
"""

from typing import NamedTuple, Union

import torch
from torch import Tensor


class LSTMState(NamedTuple):
    """The LSTM's state: hidden ``h`` and memory cell ``c``, each ``(L*K, B, H)``."""

    h: Tensor
    c: Tensor


State = Union[Tensor, LSTMState]


def init_state(cell: str, num_layers: int, batch_size: int, hidden_size: int,
               num_directions: int = 1, device=None, dtype=None) -> State:
    """Zeros of the right shape for ``cell`` in ``{"rnn", "lstm", "gru"}``."""
    shape = (num_layers * num_directions, batch_size, hidden_size)
    h = torch.zeros(shape, device=device, dtype=dtype)  # (L*K, B, H)
    if cell == "lstm":
        return LSTMState(h, torch.zeros_like(h))
    return h


def detach_state(state: State) -> State:
    """Cut the graph behind ``state``: truncated backpropagation through time.

    Carrying the state across windows while detaching it is what sequential partitioning does.
    """
    if isinstance(state, tuple):
        return type(state)(*(s.detach() for s in state))
    return state.detach()


def reorder_state(state: State, index: Tensor) -> State:
    """Select batch rows of ``state`` by ``index`` (beam search keeps the surviving hypotheses)."""
    if isinstance(state, tuple):
        return type(state)(*(s.index_select(1, index) for s in state))
    return state.index_select(1, index)


def state_map(state: State, fn) -> State:
    """Apply ``fn`` to every tensor of the state."""
    if isinstance(state, tuple):
        return type(state)(*(fn(s) for s in state))
    return fn(state)


class _ScaleGrad(torch.autograd.Function):
    """Identity forward; the gradient multiplied by ``factor`` backward."""

    @staticmethod
    def forward(ctx, x, factor):
        ctx.factor = factor
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad):
        return grad * ctx.factor, None


def scale_grad(state: State, factor: float) -> State:
    """``state`` unchanged, but the gradient that flows back through it multiplied by
    ``factor``: the compensation of randomised truncation (:mod:`recurrente.data.windows`)."""
    return state_map(state, lambda s: _ScaleGrad.apply(s, float(factor)))
