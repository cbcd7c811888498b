"""The readable implementation: unroll a cell over time, let autograd do BPTT.

Each ``*_direction`` function runs one layer in one direction over a whole sequence and returns
every step's hidden state (and, for the LSTM, every step's memory cell), which is what the layer
stack in :mod:`recurrente.layers.base` needs to pick final states for sequences of any length.
"""

from typing import Optional, Tuple

import torch
from torch import Tensor

from recurrente.cells import gru_cell, lstm_cell, rnn_cell

Steps = Tuple[Tensor, Optional[Tensor]]  # (H_1..H_T (T, B, H), C_1..C_T (T, B, H) or None)


def rnn_direction(x: Tensor, h0: Tensor, w_ih, w_hh, b_ih, b_hh, nonlinearity="tanh") -> Steps:
    """``H_t = φ(X_t W_xh + H_{t-1} W_hh + b)`` for t = 1..T; x ``(T, B, D)``, h0 ``(B, H)``."""
    h, hs = h0, []
    for x_t in x.unbind(0):  # x_t: (B, D)
        h = rnn_cell(x_t, h, w_ih, w_hh, b_ih, b_hh, nonlinearity)  # (B, H)
        hs.append(h)
    return torch.stack(hs), None  # (T, B, H)


def lstm_direction(x: Tensor, state0: Tuple[Tensor, Tensor], w_ih, w_hh, b_ih, b_hh) -> Steps:
    """The LSTM cell unrolled over ``x (T, B, D)`` from ``state0 = (H_0, C_0)``."""
    state, hs, cs = state0, [], []
    for x_t in x.unbind(0):  # x_t: (B, D)
        state = lstm_cell(x_t, state, w_ih, w_hh, b_ih, b_hh)  # (H_t, C_t)
        hs.append(state[0])
        cs.append(state[1])
    return torch.stack(hs), torch.stack(cs)  # (T, B, H) each


def gru_direction(x: Tensor, h0: Tensor, w_ih, w_hh, b_ih, b_hh, reset_after=True) -> Steps:
    """The GRU cell unrolled over ``x (T, B, D)`` from ``H_0``."""
    h, hs = h0, []
    for x_t in x.unbind(0):  # x_t: (B, D)
        h = gru_cell(x_t, h, w_ih, w_hh, b_ih, b_hh, reset_after)  # (B, H)
        hs.append(h)
    return torch.stack(hs), None  # (T, B, H)


RUNNERS = {"rnn": rnn_direction, "lstm": lstm_direction, "gru": gru_direction}
