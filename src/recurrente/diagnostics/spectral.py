"""Spectral radius of the recurrent weights: will the gradient vanish or explode?

Backpropagation through time multiplies, once per step, by the Jacobian of the recurrence. For
the Elman cell ``H_t = tanh(X_t W_xh + H_{t-1} W_hh + b)``

.. math::
    ∂H_t / ∂H_{t-1} = \\mathrm{diag}(1 - H_t^2)\\, W_{hh}^T

so over k steps the gradient is scaled by a product of k such matrices. With ``|tanh'| <= 1``,
a largest singular value ``σ_max(W_hh) < 1`` is *sufficient* for it to vanish geometrically, and
a spectral radius ``ρ(W_hh) = max |λ_i| > 1`` is *necessary* for it to explode (Pascanu,
Mikolov & Bengio 2013). Both are reported: ``ρ`` describes the long-run growth of powers of the
matrix, ``σ_max`` the worst single step.

For the gated cells each gate has its own ``(H, H)`` block of ``W_hh`` (rows in torch.nn's order,
LSTM ``i|f|g|o``, GRU ``r|z|n``), and the radius of a block says how strongly the previous state
drives that gate. The LSTM's memory path ``C_t = F_t ⊙ C_{t-1} + ...`` does not go through
``W_hh`` at all: its Jacobian is ``diag(F_t)`` (plus terms through the gates), which is why the
forget gate, not the spectrum, decides how long the LSTM remembers.
"""

from dataclasses import dataclass
from typing import Dict, List

import torch
from torch import Tensor

from recurrente.cells import GATE_NAMES
from recurrente.errors import UserError

_NAMES_BY_COUNT = {len(names): names for names in GATE_NAMES.values()}  # G -> block names


@dataclass
class SpectralRow:
    layer: int
    direction: int  # 0 forward, 1 reverse
    gate: str  # block of W_hh: h (Elman), i f g o (LSTM), r z n (GRU)
    radius: float  # largest |eigenvalue|
    norm: float  # largest singular value

    def as_dict(self) -> dict:
        return {"layer": self.layer, "direction": self.direction, "gate": self.gate,
                "spectral_radius": self.radius, "largest_singular_value": self.norm}


def gate_blocks(weight_hh: Tensor) -> Dict[str, Tensor]:
    """The ``(H, H)`` blocks of ``weight_hh (G·H, H)`` by gate name (as torch.nn orders them:
    Elman ``h``; LSTM ``i, f, g, o``; GRU ``r, z, n``), in float64 on the CPU."""
    rows, H = weight_hh.shape
    if rows % H or rows // H not in _NAMES_BY_COUNT:
        raise UserError(f"expected weight_hh of shape (G*H, H) with G in 1, 3, 4, got "
                        f"{tuple(weight_hh.shape)}")
    blocks = weight_hh.detach().double().cpu().chunk(rows // H, dim=0)  # (H, H) each
    return dict(zip(_NAMES_BY_COUNT[rows // H], blocks))


def _radius(block: Tensor) -> float:
    return float(torch.linalg.eigvals(block).abs().max())  # block: (H, H)


@torch.no_grad()
def spectral_radius(weight_hh: Tensor) -> Dict[str, float]:
    """``ρ = max |λ|`` of each gate's ``(H, H)`` block of ``weight_hh (G·H, H)``.

    The candidate block (LSTM ``g`` = ``C~``, GRU ``n`` = ``H~``) plays the role of the Elman
    ``W_hh``; the gate blocks enter through sigmoids.
    """
    return {name: _radius(block) for name, block in gate_blocks(weight_hh).items()}


@torch.no_grad()
def spectral_radii(rnn) -> List[SpectralRow]:
    """One row per layer, direction and gate block of ``weight_hh`` of a recurrent layer
    (:class:`recurrente.RNN`, ``LSTM``, ``GRU``, or anything with their ``weights()``)."""
    rows = []
    for layer in range(rnn.num_layers):
        for direction in range(rnn.num_directions):
            w_hh = rnn.weights(layer, direction)[1]  # (G*H, H)
            for gate, block in gate_blocks(w_hh).items():
                norm = float(torch.linalg.matrix_norm(block, ord=2))
                rows.append(SpectralRow(layer, direction, gate, _radius(block), norm))
    return rows
