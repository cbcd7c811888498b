"""minGRU and minLSTM (Feng et al. 2024, "Were RNNs All We Needed?"): one time step each.

The two cells keep the GRU's and the LSTM's gated update but compute every gate from ``X_t``
alone: nothing on the right-hand side reads ``H_{t-1}`` except the update itself, which is
therefore *linear* in ``H_{t-1}``,

.. math::
    H_t = A_t ⊙ H_{t-1} + B_t,      A_t, B_t functions of X_t only,

and a whole sequence can be computed with a prefix scan instead of a loop
(:mod:`recurrente.layers.scan`). The candidate goes through the paper's
activation ``g`` (its Appendix B, the version trained with the log-space scan):

.. math::
    g(v) = v + 1/2  (v ≥ 0),     g(v) = σ(v)  (v < 0)

``g`` is continuous, increasing and positive, so ``H~_t > 0`` and ``log B_t`` exists (which the
log-space scan needs); it grows linearly, unlike ``tanh``. These functions are the step-by-step
form (generation, the ``scratch`` implementation); the parameters are one input projection per
cell, ``w_ih (G*H, D)`` and ``b_ih (G*H,)`` or ``None``, and no ``w_hh``.
"""

from typing import Dict, Optional

import torch
import torch.nn.functional as F
from torch import Tensor

from recurrente.cells.affine import affine

GATE_NAMES = {"mingru": ("z", "n"), "minlstm": ("i", "f", "g")}
"""Row blocks of ``w_ih`` per cell: minGRU ``Z_t | H~_t``, minLSTM ``I_t | F_t | H~_t`` (the
LSTM's order without its output gate; ``g`` is the candidate, as the LSTM's ``C~_t``)."""


def g(v: Tensor) -> Tensor:
    """The paper's candidate activation: ``v + 1/2`` for ``v >= 0``, ``σ(v)`` below."""
    return torch.where(v >= 0, v + 0.5, torch.sigmoid(v))


def log_g(v: Tensor) -> Tensor:
    """``log g(v)``, stable: ``log(v + 1/2)`` for ``v >= 0``, ``-softplus(-v)`` below (the relu
    keeps the branch not taken finite, so that its zero gradient stays zero)."""
    return torch.where(v >= 0, (F.relu(v) + 0.5).log(), -F.softplus(-v))


def mingru_parts(x_t: Tensor, h_prev: Tensor, w_ih: Tensor, b_ih: Optional[Tensor] = None
                 ) -> Dict[str, Tensor]:
    """One step of minGRU, one line per equation, with every intermediate.

    .. math::
        Z_t  = σ(X_t W_{xz} + b_z)                       update gate
        H~_t = g(X_t W_{xh} + b_h)                       candidate
        H_t  = (1 - Z_t) ⊙ H_{t-1} + Z_t ⊙ H~_t

    Note the paper's convention: ``Z_t`` lets the candidate *in* (the course's GRU writes
    ``H_t = Z_t ⊙ H_{t-1} + (1 - Z_t) ⊙ H~_t``, where ``Z_t`` keeps the old state).

    Args:
        x_t: ``(B, D)``.  h_prev: ``(B, H)``.  w_ih: ``(2H, D)``, rows ``z|n``.  b_ih: ``(2H,)``.
    Returns:
        ``{"h": H_t, "z": Z_t, "n": H~_t}``, each ``(B, H)``.
    """
    x_z, x_h = affine(x_t, w_ih, b_ih).chunk(2, dim=1)  # (B, H) each
    Z_t = torch.sigmoid(x_z)
    H_tilde = g(x_h)
    H_t = (1 - Z_t) * h_prev + Z_t * H_tilde
    return {"h": H_t, "z": Z_t, "n": H_tilde}


def mingru_cell(x_t: Tensor, h_prev: Tensor, w_ih: Tensor, b_ih: Optional[Tensor] = None
                ) -> Tensor:
    """One step of minGRU (equations in :func:`mingru_parts`): ``H_t (B, H)``."""
    return mingru_parts(x_t, h_prev, w_ih, b_ih)["h"]


def minlstm_parts(x_t: Tensor, h_prev: Tensor, w_ih: Tensor, b_ih: Optional[Tensor] = None
                  ) -> Dict[str, Tensor]:
    """One step of minLSTM, one line per equation, with every intermediate.

    .. math::
        I_t  = σ(X_t W_{xi} + b_i)        F_t = σ(X_t W_{xf} + b_f)
        I'_t = I_t / (F_t + I_t)          F'_t = F_t / (F_t + I_t)      normalised gates
        H~_t = g(X_t W_{xh} + b_h)
        H_t  = F'_t ⊙ H_{t-1} + I'_t ⊙ H~_t

    The LSTM's memory cell and output gate are gone: ``H_t`` is the memory. The normalised gates
    sum to one, so ``H_t`` is a convex mixture of the old state and the candidate (the paper's
    "time-independent scale" form).

    Args:
        x_t: ``(B, D)``.  h_prev: ``(B, H)``.  w_ih: ``(3H, D)``, rows ``i|f|g``.  b_ih: ``(3H,)``.
    Returns:
        ``{"h": H_t, "i": I'_t, "f": F'_t, "g": H~_t}``, each ``(B, H)``.
    """
    x_i, x_f, x_h = affine(x_t, w_ih, b_ih).chunk(3, dim=1)  # (B, H) each
    I_t = torch.sigmoid(x_i)
    F_t = torch.sigmoid(x_f)
    I_norm = I_t / (F_t + I_t)
    F_norm = F_t / (F_t + I_t)
    H_tilde = g(x_h)
    H_t = F_norm * h_prev + I_norm * H_tilde
    return {"h": H_t, "i": I_norm, "f": F_norm, "g": H_tilde}


def minlstm_cell(x_t: Tensor, h_prev: Tensor, w_ih: Tensor, b_ih: Optional[Tensor] = None
                 ) -> Tensor:
    """One step of minLSTM (equations in :func:`minlstm_parts`): ``H_t (B, H)``."""
    return minlstm_parts(x_t, h_prev, w_ih, b_ih)["h"]
