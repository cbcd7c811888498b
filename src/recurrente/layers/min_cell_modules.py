"""Single-step layers ``MinGRUCell`` and ``MinLSTMCell``: one time step of minGRU/minLSTM, for
decoders (the translator's, whose input feeding reads the previous step's output, so it steps
whatever its cell).

They hold a one-layer :class:`~recurrente.layers.min_rnn.MinGRU`'s parameters without the
``_l0`` suffix, ``weight_ih (G*H, D)`` and ``bias_ih (G*H,)`` (no ``weight_hh``: the gates read
``X_t`` only), so ``cell.load_state_dict({k[:-3]: v for k, v in layer.state_dict().items()})``
steps a layer's weights. One step is the same computation whatever the layer's implementation
(the scan is a way to run many steps), so every implementation the layer takes is accepted and
runs the step of :mod:`recurrente.cells.min_rnn`::

    >>> cell = MinGRUCell(10, 20)
    >>> h = cell(torch.randn(3, 10), torch.zeros(3, 20))   # (3, 20)
"""

from typing import Optional

import torch
from torch import Tensor, nn

from recurrente.cells.min_rnn import mingru_cell, minlstm_cell
from recurrente.layers import registry
from recurrente.layers.init import default_init


class _MinCellBase(nn.Module):
    cell: str = ""  # "mingru" | "minlstm"
    gates: int = 2  # G
    step = staticmethod(mingru_cell)

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True,
                 implementation: str = registry.AUTO, device=None, dtype=None):
        super().__init__()
        own = registry.choices(self.cell)
        if implementation not in own:
            raise ValueError(f"{type(self).__name__} has no {implementation!r} implementation; "
                             f"expected one of {', '.join(own)}")
        if input_size < 1 or hidden_size < 1:
            raise ValueError(f"expected positive sizes, got input_size={input_size}, "
                             f"hidden_size={hidden_size}")
        self.input_size, self.hidden_size, self.bias = input_size, hidden_size, bias
        self.implementation = implementation
        kw = {"device": device, "dtype": dtype}
        self.weight_ih = nn.Parameter(torch.empty(self.gates * hidden_size, input_size, **kw))
        if bias:
            self.bias_ih = nn.Parameter(torch.empty(self.gates * hidden_size, **kw))
        else:
            self.register_parameter("bias_ih", None)
        default_init(self)  # U(-1/sqrt(H), 1/sqrt(H)), as the layers

    def forward(self, x: Tensor, h: Optional[Tensor] = None) -> Tensor:
        """``X_t (B, D)`` and ``H_{t-1} (B, H)`` (zeros when None) -> ``H_t (B, H)``."""
        if x.dim() != 2 or x.shape[1] != self.input_size:
            raise ValueError(f"expected input of shape (B, {self.input_size}), got "
                             f"{tuple(x.shape)}")
        if h is None:
            h = x.new_zeros(x.shape[0], self.hidden_size)
        return self.step(x, h, self.weight_ih, self.bias_ih)

    def extra_repr(self) -> str:
        return f"{self.input_size}, {self.hidden_size}, implementation={self.implementation!r}"


class MinGRUCell(_MinCellBase):
    """One step of minGRU: ``H_t = (1 - Z_t) ⊙ H_{t-1} + Z_t ⊙ g(X_t W_{xh} + b_h)``, with
    ``Z_t = σ(X_t W_{xz} + b_z)`` (equations in :func:`recurrente.cells.min_rnn.mingru_parts`)."""
    cell, gates = "mingru", 2
    step = staticmethod(mingru_cell)


class MinLSTMCell(_MinCellBase):
    """One step of minLSTM: ``H_t = F'_t ⊙ H_{t-1} + I'_t ⊙ g(X_t W_{xh} + b_h)`` with the
    normalised gates ``F'_t, I'_t`` (equations in :func:`recurrente.cells.min_rnn.minlstm_parts`)."""
    cell, gates = "minlstm", 3
    step = staticmethod(minlstm_cell)
