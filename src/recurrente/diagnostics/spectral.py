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
from typing import List

import torch

GATE_NAMES = {"rnn": ("h",), "lstm": ("i", "f", "g", "o"), "gru": ("r", "z", "n")}


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


@torch.no_grad()
def spectral_radii(rnn) -> List[SpectralRow]:
    """One row per layer, direction and gate block of ``weight_hh`` of a recurrent layer
    (:class:`recurrente.RNN`, ``LSTM``, ``GRU``, or anything with their ``weights()``)."""
    rows = []
    for layer in range(rnn.num_layers):
        for direction in range(rnn.num_directions):
            w_hh = rnn.weights(layer, direction)[1].detach().double().cpu()  # (G*H, H)
            for gate, block in zip(GATE_NAMES[rnn.cell], w_hh.chunk(rnn.gates, dim=0)):
                radius = float(torch.linalg.eigvals(block).abs().max())  # block: (H, H)
                norm = float(torch.linalg.matrix_norm(block, ord=2))
                rows.append(SpectralRow(layer, direction, gate, radius, norm))
    return rows


def spectral_table(rows: List[SpectralRow]) -> str:
    """Plain-text table of :func:`spectral_radii`."""
    lines = [f"{'layer':<6}{'dir':<5}{'W_hh block':<12}{'radius':>8}{'σ_max':>8}"]
    for r in rows:
        lines.append(f"{r.layer:<6}{'rev' if r.direction else 'fwd':<5}{r.gate:<12}"
                     f"{r.radius:>8.3f}{r.norm:>8.3f}")
    return "\n".join(lines)
