"""The implementations of the sLSTM and the mLSTM: one layer, one direction.

Runners as :mod:`recurrente.layers.registry` defines them for a layer with ``runner_finals``:
``runner(x (T, B, D), state0, w_ih, w_hh, b_ih, b_hh, lengths=None) -> (H_all (T, B, H),
final)``, ``state0`` and ``final`` the cell's state tuple of one row (``(h, c, n, m)`` or
``(h, C, n, m)``, :mod:`recurrente.cells.xlstm`), ``final`` taken at each sequence's own last
step (``lengths (B,)``, right padding; None: every sequence is ``T`` long). The runner reads the
final state itself because the mLSTM's memory is ``(B, H, H)`` per step: stacking every step's
memory to pick the last would hold ``T`` of them.

- ``scratch`` (both cells): the step function ``T`` times, one line per equation; autograd does
  BPTT. Past a sequence's length its state is held (``torch.where``), so padding never reaches
  the final state. The sLSTM has only this one: each step's gates read ``H_{t-1}``.
- ``parallel`` (the mLSTM): the paper's parallel form, every step at once. With
  ``F_t = Σ_{r ≤ t} log σ(F~_r)`` the memory unrolls to

  .. math::
      C_t = Σ_{s ≤ t} exp(F_t - F_s + I~_s - m_t) v_s k_s^T + exp(F_t + m_0 - m_t) C_0

  so ``log D_ts = F_t - F_s + I~_s`` (``s ≤ t``, ``-∞`` above the diagonal) is the log decay
  matrix, and the recurrent stabiliser is exactly its row max, ``m_t = max(max_s log D_ts,
  F_t + m_0)`` (unroll ``m_t = max(log σ(F~_t) + m_{t-1}, I~_t)``). Then ``A = (Q K^T) ⊙
  exp(log D - m)`` ``(T, T)``, ``H~ = A V + (C_0 q_t terms)``, normalised by ``max(|row sums of
  A + n_0 terms|, exp(-m_t))``. ``O(T^2)`` per sequence (time and memory), against the loop's
  ``T`` steps of ``(H, H)`` work; padding sits after each sequence's real steps, where the
  causal mask keeps it out of the real outputs, and the final state is read at row
  ``length - 1``.

Under autocast (``--precision bf16``) the mLSTM's input GEMM runs in low precision and the rest
in float32.
"""

import math
from typing import Optional, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor

from recurrente.cells.xlstm import mlstm_cell, mlstm_rows, slstm_cell

Steps = Tuple[Tensor, tuple]  # (H_1..H_T (T, B, H), the final state of one row)
LOW = (torch.float16, torch.bfloat16)


def _held(new: tuple, old: tuple, live: Tensor) -> tuple:
    """``new`` where ``live (B,)``, else ``old``: the state of a finished sequence is kept."""
    return tuple(torch.where(live.view(-1, *[1] * (n.dim() - 1)), n, o) for n, o in zip(new, old))


def _unrolled(step, x: Tensor, state0: tuple, lengths: Optional[Tensor]) -> Steps:
    """``step(x_t, state) -> state`` over ``x (T, B, D)``: every ``H_t`` and the final state."""
    state, hs = tuple(state0), []
    full = x.shape[0] if lengths is None else int(lengths.min())  # steps real in every row
    live = None if lengths is None else lengths.to(x.device)  # (B,)
    for t, x_t in enumerate(x.unbind(0)):  # x_t: (B, D)
        new = step(x_t, state)
        hs.append(new[0])  # (B, H)
        state = new if t < full else _held(new, state, t < live)
    return torch.stack(hs), state  # (T, B, H)


def _no_recurrent_weights(w_hh, b_hh) -> None:
    assert w_hh is None and b_hh is None, "the mLSTM has no W_hh"


# -- scratch: the step, T times ----------------------------------------------------------------
def slstm_scratch(x: Tensor, state0: tuple, w_ih, w_hh, b_ih=None, b_hh=None,
                  lengths: Optional[Tensor] = None) -> Steps:
    """The sLSTM unrolled over ``x (T, B, D)`` from ``(h, c, n, m)``, each ``(B, H)``."""
    return _unrolled(lambda x_t, s: slstm_cell(x_t, s, w_ih, w_hh, b_ih, b_hh), x, state0,
                     lengths)


def mlstm_scratch(x: Tensor, state0: tuple, w_ih, w_hh=None, b_ih=None, b_hh=None,
                  lengths: Optional[Tensor] = None) -> Steps:
    """The mLSTM unrolled over ``x (T, B, D)`` from ``(h, C, n, m)``."""
    _no_recurrent_weights(w_hh, b_hh)
    return _unrolled(lambda x_t, s: mlstm_cell(x_t, s, w_ih, b_ih), x, state0, lengths)


# -- parallel: the mLSTM's closed form -----------------------------------------------------------
def mlstm_parallel(x: Tensor, state0: tuple, w_ih, w_hh=None, b_ih=None, b_hh=None,
                   lengths: Optional[Tensor] = None) -> Steps:
    """Every step of the mLSTM at once (module docstring), batch-major inside."""
    _no_recurrent_weights(w_hh, b_hh)
    T, B = x.shape[:2]
    gates = F.linear(x, w_ih, b_ih).transpose(0, 1)  # (B, T, 4H+2): one GEMM for all steps
    gates = gates.float() if gates.dtype in LOW else gates
    _, C0, n0, m0 = (s.to(gates.dtype) for s in state0)  # (B, H, H), (B, H), (B, 1)
    H = C0.shape[-1]
    q, k, v, i_pre, f_pre, o_pre = gates.split(mlstm_rows(H), dim=-1)  # (B, T, ·)
    k = k / math.sqrt(H)  # (B, T, H)
    i_pre, log_f = i_pre.squeeze(-1), F.logsigmoid(f_pre.squeeze(-1))  # (B, T) each
    F_cum = log_f.cumsum(1)  # (B, T): F_t = Σ_{r ≤ t} log σ(F~_r)
    log_d = F_cum[:, :, None] - F_cum[:, None, :] + i_pre[:, None, :]  # (B, T, T): log D_ts
    causal = torch.ones(T, T, dtype=torch.bool, device=x.device).tril_()  # s ≤ t
    log_d = log_d.masked_fill(~causal, float("-inf"))
    log_0 = F_cum + m0  # (B, T): the log weight of the initial state
    m = torch.maximum(log_d.amax(-1), log_0)  # (B, T): m_t, the row max
    D = torch.exp(log_d - m[..., None])  # (B, T, T), 0 above the diagonal
    d0 = torch.exp(log_0 - m)  # (B, T)
    A = (q @ k.transpose(1, 2)) * D  # (B, T, T): q_t^T k_s D_ts
    num = A @ v + d0[..., None] * (q @ C0.transpose(1, 2))  # (B, T, H): C_t q_t
    den = A.sum(-1) + d0 * (q @ n0[..., None]).squeeze(-1)  # (B, T): n_t^T q_t
    h = torch.sigmoid(o_pre) * num / torch.maximum(den.abs(), torch.exp(-m))[..., None]
    last = torch.full((B,), T - 1) if lengths is None else lengths - 1  # (B,)
    rows, last = torch.arange(B, device=x.device), last.to(x.device)
    D_T, d0_T = D[rows, last], d0[rows, last, None]  # (B, T), (B, 1): the last step's row
    C_T = (v * D_T[..., None]).transpose(1, 2) @ k + d0_T[..., None] * C0  # (B, H, H)
    n_T = (k * D_T[..., None]).sum(1) + d0_T * n0  # (B, H)
    final = (h[rows, last], C_T, n_T, m[rows, last, None])  # (B, H), ..., (B, 1)
    return h.transpose(0, 1), final  # (T, B, H)
