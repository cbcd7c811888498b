"""Single-step layers ``SLSTMCell`` and ``MLSTMCell``: one time step of the sLSTM/mLSTM, for
decoders (the translator's, whose input feeding reads the previous step's output, so it steps
whatever its cell).

They hold a one-layer :class:`~recurrente.layers.xlstm.SLSTM`'s (or ``MLSTM``'s) parameters
without the ``_l0`` suffix, so ``cell.load_state_dict({k[:-3]: v for k, v in
layer.state_dict().items()})`` steps a layer's weights. The state is the layer's, one row: an
``SLSTMState(h, c, n, m)``, each ``(B, H)``, or an ``MLSTMState(h, C, n, m)``, ``(B, H)``,
``(B, H, H)``, ``(B, H)``, ``(B, 1)``, ``h`` first as an ``LSTMState``'s. One step is the same
computation whatever the layer's implementation, so every implementation the layer takes is
accepted and runs the step of :mod:`recurrente.cells.xlstm`::

    >>> cell = SLSTMCell(10, 20)
    >>> state = cell(torch.randn(3, 10))   # SLSTMState, each (3, 20); state.h is H_t
"""

import torch
from torch import Tensor, nn

from recurrente.cells.xlstm import mlstm_cell, slstm_cell
from recurrente.layers import registry
from recurrente.layers.init import default_init
from recurrente.layers.xlstm import STATES, check_state, init_state


class _XLSTMCellBase(nn.Module):
    cell: str = ""  # "slstm" | "mlstm"

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
        for name, shape in self._shapes().items():
            if name.startswith("bias") and not bias:
                self.register_parameter(name, None)
            else:
                self.register_parameter(name, nn.Parameter(torch.empty(shape, **kw)))
        default_init(self)  # U(-1/sqrt(H), 1/sqrt(H)), as the layers

    def forward(self, x: Tensor, state=None):
        """``X_t (B, D)`` and the state (zeros when None) -> the next state, ``H_t`` first."""
        if x.dim() != 2 or x.shape[1] != self.input_size:
            raise ValueError(f"expected input of shape (B, {self.input_size}), got "
                             f"{tuple(x.shape)}")
        if state is None:
            state = init_state(self.cell, self.hidden_size, x.shape[0], device=x.device,
                               dtype=x.dtype)
        state = check_state(state, self.cell, self.hidden_size, x.shape[0])
        return STATES[self.cell](*self._step(x, state))

    def extra_repr(self) -> str:
        return f"{self.input_size}, {self.hidden_size}, implementation={self.implementation!r}"


class SLSTMCell(_XLSTMCellBase):
    """One step of the sLSTM: ``H_t = σ(O~_t) ⊙ c_t / n_t`` with the stabilised exponential
    gates (equations in :func:`recurrente.cells.xlstm.slstm_parts`); parameters ``weight_ih
    (4H, D)``, ``weight_hh (4H, H)``, ``bias_ih``, ``bias_hh (4H,)``, rows ``i|f|z|o``."""
    cell = "slstm"

    def _shapes(self) -> dict:
        G, H, D = 4, self.hidden_size, self.input_size
        return {"weight_ih": (G * H, D), "weight_hh": (G * H, H), "bias_ih": (G * H,),
                "bias_hh": (G * H,)}

    def _step(self, x: Tensor, state):
        return slstm_cell(x, state, self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh)


class MLSTMCell(_XLSTMCellBase):
    """One step of the mLSTM: ``H_t = O_t ⊙ C_t q_t / max(|n_t^T q_t|, exp(-m_t))`` (equations
    in :func:`recurrente.cells.xlstm.mlstm_parts`); parameters ``weight_ih (4H+2, D)`` and
    ``bias_ih (4H+2,)``, rows ``q|k|v|i|f|o``."""
    cell = "mlstm"

    def _shapes(self) -> dict:
        rows = 4 * self.hidden_size + 2
        return {"weight_ih": (rows, self.input_size), "bias_ih": (rows,)}

    def _step(self, x: Tensor, state):
        return mlstm_cell(x, state, self.weight_ih, self.bias_ih)
