"""The GRU cell (Cho et al. 2014), in both of its published variants."""

from typing import Dict, Optional

import torch
from torch import Tensor

from recurrente.cells.affine import affine


def gru_parts(x_t: Tensor, h_prev: Tensor, w_ih: Tensor, w_hh: Tensor, b_ih: Optional[Tensor],
              b_hh: Optional[Tensor], reset_after: bool = True) -> Dict[str, Tensor]:
    """One step of the GRU, one line per equation of the course, with every intermediate.

    .. math::
        R_t  = σ(X_t W_{xr} + H_{t-1} W_{hr} + b_r)                      reset gate
        Z_t  = σ(X_t W_{xz} + H_{t-1} W_{hz} + b_z)                      update gate
        H~_t = tanh(X_t W_{xh} + b_{xh} + R_t ⊙ (H_{t-1} W_{hh} + b_{hh}))   reset_after=True
        H~_t = tanh(X_t W_{xh} + b_{xh} + (R_t ⊙ H_{t-1}) W_{hh} + b_{hh})   reset_after=False
        H_t  = Z_t ⊙ H_{t-1} + (1 - Z_t) ⊙ H~_t

    ``reset_after=True`` is torch.nn's and cuDNN's form; ``False`` is the course's and Cho et al.'s
    (its two biases add up to the course's single ``b_h``). Gate order ``r|z|n`` as torch.nn:
    ``w_ih (3H, D)``, ``w_hh (3H, H)``, biases ``(3H,)`` or ``None``.

    Args:
        x_t: ``(B, D)``.  h_prev: ``(B, H)``.
    Returns:
        ``{"h": H_t, "r": R_t, "z": Z_t, "n": H~_t}``, each ``(B, H)``.
    """
    x_r, x_z, x_n = affine(x_t, w_ih, b_ih).chunk(3, dim=1)  # (B, H) each
    w_hr, w_hz, w_hn = w_hh.chunk(3, dim=0)  # (H, H) each
    b_hr, b_hz, b_hn = b_hh.chunk(3) if b_hh is not None else (None, None, None)
    R_t = torch.sigmoid(x_r + affine(h_prev, w_hr, b_hr))
    Z_t = torch.sigmoid(x_z + affine(h_prev, w_hz, b_hz))
    if reset_after:
        H_tilde = torch.tanh(x_n + R_t * affine(h_prev, w_hn, b_hn))
    else:
        H_tilde = torch.tanh(x_n + affine(R_t * h_prev, w_hn, b_hn))
    H_t = Z_t * h_prev + (1 - Z_t) * H_tilde
    return {"h": H_t, "r": R_t, "z": Z_t, "n": H_tilde}


def gru_cell(x_t: Tensor, h_prev: Tensor, w_ih: Tensor, w_hh: Tensor,
             b_ih: Optional[Tensor], b_hh: Optional[Tensor], reset_after: bool = True) -> Tensor:
    """One step of the GRU (the equations, both variants, are in :func:`gru_parts`).

    Args:
        x_t: ``(B, D)``.  h_prev: ``(B, H)``.
    Returns:
        ``H_t`` of shape ``(B, H)``.
    """
    return gru_parts(x_t, h_prev, w_ih, w_hh, b_ih, b_hh, reset_after)["h"]
