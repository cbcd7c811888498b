"""sLSTM and mLSTM (Beck et al. 2024, "xLSTM: Extended Long Short-Term Memory"): one step each.

Both keep the LSTM's memory cell but open its input gate wide: ``exp`` instead of ``σ``, so a new
input can overwrite what is stored however much is stored. An exponential overflows, so each cell
carries a *normaliser* ``n_t`` (the same update as the memory, with 1 in place of the input) and
divides by it, and a *stabiliser* ``m_t``: the memory is stored as ``c_t = c̃_t e^{-m_t}`` and
``n_t = ñ_t e^{-m_t}``, with ``m_t`` chosen so that the larger of the two gates is exactly 1:

.. math::
    m_t  = max(log σ(F~_t) + m_{t-1}, I~_t)               stabiliser
    I'_t = exp(I~_t - m_t)                                input gate, ≤ 1
    F'_t = exp(log σ(F~_t) + m_{t-1} - m_t)               forget gate, ≤ 1

The forget gate is the paper's sigmoid variant, written in log space (``log σ = -softplus(-·)``,
never ``log`` of a rounded-off zero); the exponential variant would replace ``log σ(F~_t)`` by
``F~_t``. The output divides the memory by the normaliser, in which ``e^{-m_t}`` cancels: ``m_t``
changes how the numbers are stored, never the output (tests/layers/test_xlstm.py holds the
cells to the unstabilised formulas and to a shifted stabiliser).

- **sLSTM** (scalar memory): every gate reads ``H_{t-1}`` through a recurrent weight, so a
  sequence is a loop over its steps; that is its point (state tracking a parallel cell cannot
  do). The paper's recurrent weight is block-diagonal, one block per head: here it is one full
  ``W_hh`` (one head), as torch.nn's LSTM.
- **mLSTM** (matrix memory): ``C_t`` ``(H, H)`` stores value-key products (a covariance update,
  associative memory) and is read with a query; its gates read ``X_t`` only, so the whole
  sequence has a closed, parallel form (:mod:`recurrente.layers.xlstm_runners`). One head here.

The zero state is a valid start: ``n_0 = 0``, and after the first step ``n_t > 0`` (one of the two
gates is 1 at every step, and ``I'_1 = exp(I~_1 - m_1) > 0``).

Parameters as torch.nn's: sLSTM ``w_ih (4H, D)``, ``w_hh (4H, H)``, ``b_ih``, ``b_hh`` ``(4H,)``
rows ``i|f|z|o`` (input, forget, candidate, output: the LSTM's order, the candidate named ``z`` as
in the paper); mLSTM ``w_ih (4H+2, D)``, ``b_ih (4H+2,)`` rows ``q|k|v|i|f|o`` of sizes
``H, H, H, 1, 1, H`` (one input and one forget gate per head), and no ``w_hh``.

The states put ``H_t`` first, as every state in recurrente (``state[0]`` is the output, as an
``LSTMState``'s ``h``): sLSTM ``(h, c, n, m)``, each ``(B, H)``; mLSTM ``(h, C, n, m)``,
``(B, H)``, ``(B, H, H)``, ``(B, H)``, ``(B, 1)``, whose step reads only ``C, n, m`` (its gates do
not read ``H_{t-1}``).
"""

import math
from typing import Dict, Optional, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor

from recurrente.cells.affine import affine

GATE_NAMES = {"slstm": ("i", "f", "z", "o"), "mlstm": ("q", "k", "v", "i", "f", "o")}
"""Row blocks of ``w_ih`` (and the sLSTM's ``w_hh``) per cell, in order."""

State4 = Tuple[Tensor, Tensor, Tensor, Tensor]


def mlstm_rows(hidden_size: int) -> list:
    """The sizes of the mLSTM's row blocks ``q|k|v|i|f|o``: ``[H, H, H, 1, 1, H]``."""
    H = hidden_size
    return [H, H, H, 1, 1, H]


def slstm_parts(x_t: Tensor, state: State4, w_ih: Tensor, w_hh: Tensor,
                b_ih: Optional[Tensor] = None, b_hh: Optional[Tensor] = None
                ) -> Dict[str, Tensor]:
    """One step of the sLSTM, one line per equation, with every intermediate.

    .. math::
        I~_t = X_t W_{xi} + H_{t-1} W_{hi} + b_i          F~_t, Z~_t, O~_t likewise
        m_t  = max(log σ(F~_t) + m_{t-1}, I~_t)           stabiliser
        I'_t = exp(I~_t - m_t)                            exponential input gate
        F'_t = exp(log σ(F~_t) + m_{t-1} - m_t)           sigmoid forget gate, stabilised
        Z_t  = tanh(Z~_t)                                 candidate
        O_t  = σ(O~_t)                                    output gate
        c_t  = F'_t ⊙ c_{t-1} + I'_t ⊙ Z_t                memory
        n_t  = F'_t ⊙ n_{t-1} + I'_t                      normaliser
        H_t  = O_t ⊙ c_t / n_t

    ``c_t / n_t`` is a weighted mean of the candidates seen, so ``|H_t| < 1``.

    Args:
        x_t: ``(B, D)``.  state: ``(H_{t-1}, c_{t-1}, n_{t-1}, m_{t-1})``, each ``(B, H)``.
        w_ih: ``(4H, D)``, w_hh: ``(4H, H)``, rows ``i|f|z|o``.  b_ih, b_hh: ``(4H,)`` or None.
    Returns:
        ``{"h", "c", "n", "m", "i", "f", "z", "o"}``: ``H_t, c_t, n_t, m_t`` and the gates
        ``I'_t, F'_t, Z_t, O_t``, each ``(B, H)``.
    """
    h_prev, c_prev, n_prev, m_prev = state  # (B, H) each
    gates = affine(x_t, w_ih, b_ih) + affine(h_prev, w_hh, b_hh)  # (B, 4H)
    i_pre, f_pre, z_pre, o_pre = gates.chunk(4, dim=1)  # (B, H) each: I~, F~, Z~, O~
    log_f = F.logsigmoid(f_pre)  # (B, H): log σ(F~_t)
    m_t = torch.maximum(log_f + m_prev, i_pre)
    I_t = torch.exp(i_pre - m_t)
    F_t = torch.exp(log_f + m_prev - m_t)
    Z_t = torch.tanh(z_pre)
    O_t = torch.sigmoid(o_pre)
    c_t = F_t * c_prev + I_t * Z_t
    n_t = F_t * n_prev + I_t
    H_t = O_t * c_t / n_t
    return {"h": H_t, "c": c_t, "n": n_t, "m": m_t, "i": I_t, "f": F_t, "z": Z_t, "o": O_t}


def slstm_cell(x_t: Tensor, state: State4, w_ih: Tensor, w_hh: Tensor,
               b_ih: Optional[Tensor] = None, b_hh: Optional[Tensor] = None) -> State4:
    """One step of the sLSTM (equations in :func:`slstm_parts`): ``(H_t, c_t, n_t, m_t)``,
    each ``(B, H)``."""
    p = slstm_parts(x_t, state, w_ih, w_hh, b_ih, b_hh)
    return p["h"], p["c"], p["n"], p["m"]


def mlstm_parts(x_t: Tensor, state: State4, w_ih: Tensor, b_ih: Optional[Tensor] = None
                ) -> Dict[str, Tensor]:
    """One step of the mLSTM, one line per equation, with every intermediate.

    .. math::
        q_t  = X_t W_q + b_q                              query    (B, H)
        k_t  = (X_t W_k + b_k) / √H                       key      (B, H)
        v_t  = X_t W_v + b_v                              value    (B, H)
        I~_t = X_t W_i + b_i,  F~_t = X_t W_f + b_f       one per head (B, 1)
        O_t  = σ(X_t W_o + b_o)                           output gate (B, H)
        m_t  = max(log σ(F~_t) + m_{t-1}, I~_t)           stabiliser
        I'_t = exp(I~_t - m_t)
        F'_t = exp(log σ(F~_t) + m_{t-1} - m_t)
        C_t  = F'_t C_{t-1} + I'_t v_t k_t^T              matrix memory (B, H, H)
        n_t  = F'_t n_{t-1} + I'_t k_t                    normaliser (B, H)
        H_t  = O_t ⊙ C_t q_t / max(|n_t^T q_t|, exp(-m_t))

    The denominator is the paper's: unstabilised it reads ``max(|ñ_t^T q_t|, 1)``, so a query
    that matches no stored key is not blown up. No gate reads ``H_{t-1}``: the update of
    ``(C, n)`` is linear in the state with coefficients from ``X_t`` alone.

    Args:
        x_t: ``(B, D)``.  state: ``(H_{t-1}, C_{t-1}, n_{t-1}, m_{t-1})``, ``(B, H)``,
        ``(B, H, H)``, ``(B, H)``, ``(B, 1)`` (``H_{t-1}`` is not read).
        w_ih: ``(4H+2, D)``, rows ``q|k|v|i|f|o``.  b_ih: ``(4H+2,)`` or None.
    Returns:
        ``{"h", "C", "n", "m", "q", "k", "v", "i", "f", "o"}``.
    """
    _, C_prev, n_prev, m_prev = state  # (B, H, H), (B, H), (B, 1)
    H = C_prev.shape[-1]
    q_t, k_pre, v_t, i_pre, f_pre, o_pre = affine(x_t, w_ih, b_ih).split(mlstm_rows(H), dim=1)
    k_t = k_pre / math.sqrt(H)  # (B, H)
    O_t = torch.sigmoid(o_pre)  # (B, H)
    log_f = F.logsigmoid(f_pre)  # (B, 1)
    m_t = torch.maximum(log_f + m_prev, i_pre)  # (B, 1)
    I_t = torch.exp(i_pre - m_t)  # (B, 1)
    F_t = torch.exp(log_f + m_prev - m_t)  # (B, 1)
    C_t = F_t[..., None] * C_prev + I_t[..., None] * (v_t[:, :, None] * k_t[:, None, :])  # (B,H,H)
    n_t = F_t * n_prev + I_t * k_t  # (B, H)
    H_t = O_t * (C_t @ q_t.unsqueeze(2)).squeeze(2) / torch.maximum(
        (n_t * q_t).sum(1, keepdim=True).abs(), torch.exp(-m_t))  # (B, H)
    return {"h": H_t, "C": C_t, "n": n_t, "m": m_t, "q": q_t, "k": k_t, "v": v_t, "i": I_t,
            "f": F_t, "o": O_t}


def mlstm_cell(x_t: Tensor, state: State4, w_ih: Tensor, b_ih: Optional[Tensor] = None
               ) -> State4:
    """One step of the mLSTM (equations in :func:`mlstm_parts`): ``(H_t, C_t, n_t, m_t)``."""
    p = mlstm_parts(x_t, state, w_ih, b_ih)
    return p["h"], p["C"], p["n"], p["m"]
