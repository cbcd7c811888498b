"""The Elman cell: ``H_t = φ(X_t W_xh + H_{t-1} W_hh + b)``."""

from typing import Dict, Optional

import torch
from torch import Tensor

from recurrente.cells.affine import affine


def rnn_parts(x_t: Tensor, h_prev: Tensor, w_ih: Tensor, w_hh: Tensor, b_ih: Optional[Tensor],
              b_hh: Optional[Tensor], nonlinearity: str = "tanh") -> Dict[str, Tensor]:
    """One step of the Elman RNN, as a dict like the gated cells' parts: ``{"h": H_t}``.

    .. math::
        H_t = \\phi(X_t W_{xh} + b_{xh} + H_{t-1} W_{hh} + b_{hh}),  φ = tanh or relu

    Args:
        x_t: ``(B, D)`` input at step t.  h_prev: ``(B, H)`` state ``H_{t-1}``.
        w_ih: ``(H, D)``, w_hh: ``(H, H)``, b_ih, b_hh: ``(H,)`` or ``None`` (torch.nn layout,
        so ``W_xh = w_ih^T``).
    """
    pre = affine(x_t, w_ih, b_ih) + affine(h_prev, w_hh, b_hh)  # (B, H)
    return {"h": torch.tanh(pre) if nonlinearity == "tanh" else torch.relu(pre)}


def rnn_cell(x_t: Tensor, h_prev: Tensor, w_ih: Tensor, w_hh: Tensor,
             b_ih: Optional[Tensor], b_hh: Optional[Tensor], nonlinearity: str = "tanh") -> Tensor:
    """One step of the Elman RNN (the equation is in :func:`rnn_parts`).

    Args:
        x_t: ``(B, D)`` input at step t.  h_prev: ``(B, H)`` state ``H_{t-1}``.
    Returns:
        ``H_t`` of shape ``(B, H)``.
    """
    return rnn_parts(x_t, h_prev, w_ih, w_hh, b_ih, b_hh, nonlinearity)["h"]
