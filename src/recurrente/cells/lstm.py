"""The LSTM cell (Hochreiter & Schmidhuber 1997, with the forget gate of Gers et al. 2000)."""

from typing import Dict, Optional, Tuple

import torch
from torch import Tensor

from recurrente.cells.affine import affine


def lstm_parts(x_t: Tensor, state: Tuple[Tensor, Tensor], w_ih: Tensor, w_hh: Tensor,
               b_ih: Optional[Tensor], b_hh: Optional[Tensor]) -> Dict[str, Tensor]:
    """One step of the LSTM, one line per equation of the course, with every intermediate.

    .. math::
        I_t  = σ(X_t W_{xi} + H_{t-1} W_{hi} + b_i)        input gate
        F_t  = σ(X_t W_{xf} + H_{t-1} W_{hf} + b_f)        forget gate
        C~_t = tanh(X_t W_{xc} + H_{t-1} W_{hc} + b_c)     candidate memory
        O_t  = σ(X_t W_{xo} + H_{t-1} W_{ho} + b_o)        output gate
        C_t  = F_t ⊙ C_{t-1} + I_t ⊙ C~_t                  memory cell
        H_t  = O_t ⊙ tanh(C_t)                             hidden state

    The four gates' weights are stacked in torch.nn's order ``i|f|g|o`` (``g`` is ``C~``):
    ``w_ih (4H, D)``, ``w_hh (4H, H)``, biases ``(4H,)`` or ``None``.

    Args:
        x_t: ``(B, D)``.  state: ``(H_{t-1}, C_{t-1})``, each ``(B, H)``.
    Returns:
        ``{"h": H_t, "c": C_t, "i": I_t, "f": F_t, "o": O_t, "g": C~_t}``, each ``(B, H)``.
    """
    h_prev, c_prev = state  # (B, H) each: the state is (h, c), in that order
    gates = affine(x_t, w_ih, b_ih) + affine(h_prev, w_hh, b_hh)  # (B, 4H)
    i, f, g, o = gates.chunk(4, dim=1)  # (B, H) each
    I_t = torch.sigmoid(i)
    F_t = torch.sigmoid(f)
    C_tilde = torch.tanh(g)
    O_t = torch.sigmoid(o)
    C_t = F_t * c_prev + I_t * C_tilde
    H_t = O_t * torch.tanh(C_t)
    return {"h": H_t, "c": C_t, "i": I_t, "f": F_t, "o": O_t, "g": C_tilde}


def lstm_cell(x_t: Tensor, state: Tuple[Tensor, Tensor], w_ih: Tensor, w_hh: Tensor,
              b_ih: Optional[Tensor], b_hh: Optional[Tensor]) -> Tuple[Tensor, Tensor]:
    """One step of the LSTM (the equations are in :func:`lstm_parts`).

    Args:
        x_t: ``(B, D)``.  state: ``(H_{t-1}, C_{t-1})``, each ``(B, H)``.
    Returns:
        ``(H_t, C_t)``, each ``(B, H)``.
    """
    parts = lstm_parts(x_t, state, w_ih, w_hh, b_ih, b_hh)
    return parts["h"], parts["c"]
