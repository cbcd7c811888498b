"""minGRU and minLSTM as graphs ONNX can run: the scan written in plain operators.

ONNX has no operator for these cells (nor torch.nn a layer to map onto one), so their layers are
rebuilt here from the operations themselves. Every gate reads ``X_t`` only, so one matrix
product gives every step's gates and, from them, the coefficients of the linear recurrence
``H_t = A_t ⊙ H_{t-1} + B_t`` (minGRU: ``A = 1 - Z = σ(-k_z)``; minLSTM: ``A = F' = σ(-δ)``,
``δ = softplus(-k_f) - softplus(-k_i)``; both ``B = (1 - A) ⊙ g(k_h)``, as
:mod:`recurrente.layers.min_rnn_runners` computes them). The recurrence is a *doubling scan*
(Hillis and Steele 1986) of a fixed number of rounds: with ``H_0`` folded into ``B_1``, round
``r`` combines every step with the one ``s = 2^r`` before it,

    (A_t, B_t) <- (A_t A_{t-s},  A_t B_{t-s} + B_t)      for t > s;   unchanged for t <= s,

after which step ``t`` holds the composition of its last ``2^{r+1}`` steps (of all of them for
``t <= 2^{r+1}``); after :data:`ROUNDS` rounds ``B_t = H_t`` for every ``t <= 2^ROUNDS``
(:data:`MAX_STEPS`). Each round is a ``Gather`` along time and a few elementwise operations: no
loop over time, a dynamic time axis, ``O(T · ROUNDS)`` work and ``O(T)`` memory (rounds past
``log2 T`` leave every step as it is and cost one pass each), and only products of gates in
``(0, 1)`` and sums. The masked ``(T, T)`` form, ``exp(L_t - L_s)`` of cumulative log-gates,
needs ``T²`` numbers per channel and differences of large sums: in float32 it was 1.5e-4 off the
float64 recurrence at ``T = 1000``, where this scan stays at 1e-6 and ran 30 to 90 times faster
in onnxruntime (an ONNX ``Loop`` exports too, but only through ``torch.jit.script``, which
torch deprecates). A sequence of one step (the language model's ``lm_step`` graph, whose time
axis is 1 by construction) runs the step equations of :mod:`recurrente.cells.min_rnn` instead;
the translator's ``decoder_step`` steps its :mod:`~recurrente.layers.min_cell_modules` cells,
which trace as they are.

Depth, directions and lengths are the package layer's (:mod:`recurrente.layers.base`): the
reverse direction reads each sequence reversed within its own length, a sequence's final state is
its state at its last real step, and outputs on padding are zero.
"""

from typing import List, Optional

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from recurrente.cells.min_rnn import g, mingru_cell, minlstm_cell
from recurrente.layers.pooling import step_mask

MIN_CELLS = ("mingru", "minlstm")
ROUNDS = 24
MAX_STEPS = 1 << ROUNDS  # the longest sequence the graph computes exactly: 16,777,216 steps
STEPS = {"mingru": mingru_cell, "minlstm": minlstm_cell}


def softplus(v: Tensor) -> Tensor:
    """``log(1 + e^v)``, written so that no operator overflows whatever ``v``."""
    return F.relu(v) + torch.log(1 + torch.exp(-v.abs()))


def coefficients(cell: str, gates: Tensor):
    """``A_t`` and ``B_t`` of ``H_t = A_t ⊙ H_{t-1} + B_t`` from the gates ``(T, B, G*H)``
    (rows ``z|n`` or ``i|f|g``): two ``(T, B, H)`` tensors."""
    if cell == "mingru":
        k_z, k_h = gates.chunk(2, dim=-1)
        keep = torch.sigmoid(-k_z)  # A_t = 1 - Z_t
        return keep, torch.sigmoid(k_z) * g(k_h)  # B_t = Z_t ⊙ H~_t
    k_i, k_f, k_h = gates.chunk(3, dim=-1)
    delta = softplus(-k_f) - softplus(-k_i)  # log I_t - log F_t
    return torch.sigmoid(-delta), torch.sigmoid(delta) * g(k_h)  # F'_t, I'_t ⊙ H~_t


def doubling_scan(a: Tensor, b: Tensor, h0: Optional[Tensor] = None,
                  rounds: int = ROUNDS) -> Tensor:
    """Every ``H_t = A_t ⊙ H_{t-1} + B_t`` of ``a, b (T, ...)`` from ``h0 (...)`` (zeros if
    None), exact for ``T <= 2^rounds``; see the module docstring."""
    if h0 is not None:
        b = torch.cat([(a[0] * h0 + b[0]).unsqueeze(0), b[1:]])  # B_1 + A_1 H_0
    t = torch.arange(a.shape[0], device=a.device)  # (T,)
    shape = (-1,) + (1,) * (a.dim() - 1)
    for r in range(rounds):
        s = 1 << r
        earlier = (t - s).clamp(min=0)  # (T,): the step s before (any, where there is none)
        has = (t >= s).view(shape)  # (T, 1, ...)
        b = a * torch.where(has, b.index_select(0, earlier), 0.0) + b
        a = a * torch.where(has, a.index_select(0, earlier), 1.0)
    return b  # (T, ...)


def reverse_within(x: Tensor, lengths: Optional[Tensor]) -> Tensor:
    """``x (T, B, ...)`` with each sequence's real steps in reverse order (all of them without
    lengths)."""
    if lengths is None:
        return x.flip(0)
    from recurrente.export.graphs import reverse_within as within
    return within(x, lengths)


class MinStack(nn.Module):
    """A :class:`~recurrente.layers.min_rnn.MinGRU`/``MinLSTM`` of the package, with its weights
    (copied, under the layer's names), as operations ONNX has.

    ``forward(x (T, B, D), state=None, lengths=None)`` returns what the layer does:
    ``(y (T, B, K*H), final (L*K, B, H))``, every final state at its sequence's last real step,
    outputs on padding zero; ``state``: ``H_0 (L*K, B, H)``, zeros when None.
    """

    def __init__(self, layer):
        super().__init__()
        if layer.cell not in MIN_CELLS:
            raise ValueError(f"expected a mingru or minlstm layer, got {layer.cell!r}")
        self.cell, self.L, self.K, self.H = (layer.cell, layer.num_layers, layer.num_directions,
                                             layer.hidden_size)
        for name, p in layer.named_parameters():
            self.register_parameter(name, nn.Parameter(p.detach().clone(), requires_grad=False))

    def weights(self, layer: int, direction: int):
        sfx = f"_l{layer}" + ("_reverse" if direction else "")
        return getattr(self, "weight_ih" + sfx), getattr(self, "bias_ih" + sfx, None)

    def run(self, x: Tensor, h0: Optional[Tensor], w: Tensor, bias: Optional[Tensor]) -> Tensor:
        """One layer, one direction: every ``H_t (T, B, H)`` of ``x (T, B, D)``."""
        if x.shape[0] == 1:  # one step (fixed when traced: lm_step's time axis is 1)
            h = torch.zeros_like(x[0, :, :1]).expand(-1, self.H) if h0 is None else h0
            return STEPS[self.cell](x[0], h, w, bias).unsqueeze(0)  # (1, B, H)
        a, b = coefficients(self.cell, F.linear(x, w, bias))  # (T, B, H) each
        return doubling_scan(a, b, h0)

    def forward(self, x: Tensor, state: Optional[Tensor] = None,
                lengths: Optional[Tensor] = None):
        from recurrente.export.graphs import at_lengths
        mask = None if lengths is None else step_mask(lengths, x.shape[0]).unsqueeze(-1)
        finals: List[Tensor] = []
        for k in range(self.L):
            outs = []
            for d in range(self.K):
                row = k * self.K + d
                h0 = None if state is None else state[row]
                inp = reverse_within(x, lengths) if d else x  # (T, B, D_in)
                h = self.run(inp, h0, *self.weights(k, d))  # (T, B, H)
                finals.append(h[-1] if lengths is None else at_lengths(h, lengths))  # (B, H)
                outs.append(reverse_within(h, lengths) if d else h)
            x = torch.cat(outs, dim=-1) if self.K == 2 else outs[0]  # (T, B, K*H)
            if mask is not None:
                x = x.masked_fill(~mask, 0.0)  # padding: 0, as the layer's
        return x, torch.stack(finals)  # (L*K, B, H)
