"""Single-step layers ``RNNCell``, ``LSTMCell`` and ``GRUCell``: one time step, for decoders.

They hold torch.nn.*Cell's parameters under torch.nn.*Cell's names (``weight_ih (G*H, D)``,
``weight_hh (G*H, H)``, ``bias_ih``, ``bias_hh`` ``(G*H,)``; no ``_l0`` suffix), so
``load_state_dict`` moves weights to and from ``torch.nn.RNNCell/LSTMCell/GRUCell``. Each runs
one of three implementations of the same step:

- ``native``: torch's own cell kernel (``torch._VF.*_cell``, what torch.nn.*Cell calls);
- ``scratch``: the course's equations, one line each (:mod:`recurrente.cells`);
- ``fused``: one ``addmm`` for ``X_t W_ih^T + b_ih`` and one for ``H_{t-1} W_hh^T + b_hh`` into one
  preallocated gates buffer, then the pointwise part (autograd does the backward of one step);
- ``auto``: ``native``, except the course's GRU (``reset_after=False``), which has no torch
  kernel: ``fused``.

To step a layer's weights (``recurrente.LSTM(num_layers=1)``) through a cell, drop the ``_l0``
suffix: ``cell.load_state_dict({k[:-3]: v for k, v in layer.state_dict().items()})``.
"""

import math
from typing import Optional, Tuple

import torch
from torch import Tensor, nn

from recurrente.cells import gru_cell, lstm_cell, rnn_cell
from recurrente.layers import registry
from recurrente.layers.init import forget_bias_
from recurrente.layers.state import LSTMState

IMPLEMENTATIONS = registry.choices()  # auto, native, fused, scratch


class _CellBase(nn.Module):
    """Parameters, checks and the batched/unbatched boundary shared by the three cells."""

    cell: str = ""  # "rnn" | "lstm" | "gru"
    gates: int = 1  # G

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True,
                 implementation: str = registry.AUTO, device=None, dtype=None):
        super().__init__()
        if implementation not in IMPLEMENTATIONS:
            raise ValueError(f"unknown implementation {implementation!r}; expected one of "
                             f"{', '.join(IMPLEMENTATIONS)}")
        if input_size < 1 or hidden_size < 1:
            raise ValueError(f"expected positive sizes, got input_size={input_size}, "
                             f"hidden_size={hidden_size}")
        self.input_size, self.hidden_size, self.bias = input_size, hidden_size, bias
        self.implementation = implementation
        G, H, kw = self.gates, hidden_size, {"device": device, "dtype": dtype}
        self.weight_ih = nn.Parameter(torch.empty(G * H, input_size, **kw))
        self.weight_hh = nn.Parameter(torch.empty(G * H, H, **kw))
        if bias:
            self.bias_ih = nn.Parameter(torch.empty(G * H, **kw))
            self.bias_hh = nn.Parameter(torch.empty(G * H, **kw))
        else:  # as torch.nn.*Cell: the names exist, holding None
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """torch.nn's default: every weight and bias ~ U(-1/sqrt(H), 1/sqrt(H))."""
        bound = 1.0 / math.sqrt(self.hidden_size)
        for p in self.parameters():
            nn.init.uniform_(p, -bound, bound)

    def weights(self) -> Tuple[Tensor, Tensor, Optional[Tensor], Optional[Tensor]]:
        """``(w_ih, w_hh, b_ih, b_hh)``, biases ``None`` if absent (the cells' argument order)."""
        return self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh

    def resolved_implementation(self) -> str:
        """The implementation that runs: ``auto`` is ``native`` unless native cannot run it."""
        if self.implementation != registry.AUTO:
            return self.implementation
        return registry.NATIVE if getattr(self, "reset_after", True) else "fused"

    # -- boundary -----------------------------------------------------------------------------
    def forward(self, input: Tensor, state=None):
        """One step: ``(x (B, D) or (D,), state) -> state``; see the class docstring."""
        if not isinstance(input, Tensor) or input.dim() not in (1, 2) \
                or input.shape[-1] != self.input_size:
            got = tuple(input.shape) if isinstance(input, Tensor) else type(input).__name__
            raise ValueError(f"expected input of shape (B, {self.input_size}) or unbatched "
                             f"({self.input_size},), got {got}")
        batched = input.dim() == 2
        x = input if batched else input.unsqueeze(0)  # (B, D)
        state = self._check_state(state, x, batched)
        new = self._step(x, state)
        if not batched:
            new = tuple(s.squeeze(0) for s in new) if isinstance(new, tuple) else new.squeeze(0)
        return LSTMState(*new) if self.cell == "lstm" else new

    def _check_state(self, state, x: Tensor, batched: bool):
        B, H = x.shape[0], self.hidden_size
        if state is None:
            h = x.new_zeros(B, H)  # (B, H)
            return (h, h) if self.cell == "lstm" else h
        expected = (B, H) if batched else (H,)
        if self.cell == "lstm":
            if not (isinstance(state, tuple) and len(state) == 2):
                raise ValueError(f"expected the LSTM state to be a pair (h, c), each of shape "
                                 f"{expected}, got {type(state).__name__}")
            tensors = list(state)
        else:
            if isinstance(state, tuple):
                raise ValueError(f"expected the {self.cell.upper()} state to be one tensor of "
                                 f"shape {expected}, got a tuple of {len(state)}")
            tensors = [state]
        for t in tensors:
            if not isinstance(t, Tensor) or tuple(t.shape) != expected:
                got = tuple(t.shape) if isinstance(t, Tensor) else type(t).__name__
                raise ValueError(f"expected state of shape {expected}, got {got}")
        tensors = tensors if batched else [t.unsqueeze(0) for t in tensors]
        return tuple(tensors) if self.cell == "lstm" else tensors[0]

    def _step(self, x: Tensor, state):
        implementation = self.resolved_implementation()
        return getattr(self, "_" + implementation)(x, state)

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if not self.bias:
            s += ", bias=False"
        return s + f", implementation={self.implementation!r}"


def _gates_buffer(x: Tensor, h: Tensor, w_ih: Tensor, w_hh: Tensor, b_ih: Optional[Tensor],
                  b_hh: Optional[Tensor], hidden_rows: Optional[int] = None) -> Tensor:
    """``[X W_ih^T + b_ih, H W_hh^T + b_hh]`` in one preallocated ``(2, B, G*H)`` buffer.

    Each half is one in-place ``addmm`` (autograd records them, so the backward of a single step
    needs no hand-written code). ``hidden_rows`` limits the hidden half to the first rows of
    ``w_hh`` (the course's GRU computes its candidate's hidden product later, from ``R ⊙ H``).
    """
    B, GH = x.shape[0], w_ih.shape[0]
    rows = GH if hidden_rows is None else hidden_rows
    buf = x.new_empty(2, B, GH)  # (2, B, G*H)
    for half, inp, w, b, n in ((buf[0], x, w_ih, b_ih, GH), (buf[1], h, w_hh, b_hh, rows)):
        out = half[:, :n]  # (B, n)
        if b is None:
            out.addmm_(inp, w[:n].t(), beta=0)
        else:
            out.copy_(b[:n].expand(B, n)).addmm_(inp, w[:n].t())
    return buf


class RNNCell(_CellBase):
    """One step of the Elman network, as ``torch.nn.RNNCell``.

    .. math::
        H_t = φ(X_t W_{xh} + b_{ih} + H_{t-1} W_{hh} + b_{hh}),   φ = tanh or relu

    Args:
        input_size: D.   hidden_size: H.   bias: whether ``b_ih`` and ``b_hh`` exist.
        nonlinearity: ``"tanh"`` (default) or ``"relu"``.
        implementation: ``"auto"`` (native), ``"native"`` (``torch._VF.rnn_*_cell``),
            ``"scratch"`` (the course's line) or ``"fused"`` (two ``addmm`` into one buffer).

    Inputs: ``input, state=None``
        input: ``(B, D)`` or unbatched ``(D,)``.   state: ``H_{t-1}`` ``(B, H)`` (or ``(H,)``);
        zeros if omitted.

    Output: ``H_t`` ``(B, H)`` (or ``(H,)``).

    Parameters: ``weight_ih (H, D)``, ``weight_hh (H, H)``, ``bias_ih``, ``bias_hh`` ``(H,)``.

    Example::

        >>> cell = RNNCell(10, 20, nonlinearity="relu")
        >>> h = None
        >>> for x_t in torch.randn(5, 3, 10):   # x_t (3, 10)
        ...     h = cell(x_t, h)                 # h (3, 20)
    """

    cell, gates = "rnn", 1

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True,
                 nonlinearity: str = "tanh", implementation: str = registry.AUTO,
                 device=None, dtype=None):
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"expected nonlinearity 'tanh' or 'relu', got {nonlinearity!r}")
        self.nonlinearity = nonlinearity
        super().__init__(input_size, hidden_size, bias, implementation, device, dtype)

    def _native(self, x: Tensor, h: Tensor) -> Tensor:
        kernel = torch._VF.rnn_tanh_cell if self.nonlinearity == "tanh" else torch._VF.rnn_relu_cell
        return kernel(x, h, *self.weights())  # (B, H)

    def _scratch(self, x: Tensor, h: Tensor) -> Tensor:
        return rnn_cell(x, h, *self.weights(), self.nonlinearity)  # (B, H)

    def _fused(self, x: Tensor, h: Tensor) -> Tensor:
        buf = _gates_buffer(x, h, *self.weights())  # (2, B, H)
        pre = buf[0] + buf[1]  # (B, H)
        return torch.tanh(pre) if self.nonlinearity == "tanh" else torch.relu(pre)

    def extra_repr(self) -> str:
        s = super().extra_repr()
        return s if self.nonlinearity == "tanh" else s + f", nonlinearity={self.nonlinearity!r}"


class LSTMCell(_CellBase):
    """One step of the LSTM, as ``torch.nn.LSTMCell`` (gate order ``i|f|g|o``).

    .. math::
        I_t  = σ(X_t W_{xi} + H_{t-1} W_{hi} + b_i)        input gate
        F_t  = σ(X_t W_{xf} + H_{t-1} W_{hf} + b_f)        forget gate
        C~_t = tanh(X_t W_{xc} + H_{t-1} W_{hc} + b_c)     candidate memory
        O_t  = σ(X_t W_{xo} + H_{t-1} W_{ho} + b_o)        output gate
        C_t  = F_t ⊙ C_{t-1} + I_t ⊙ C~_t                  memory cell
        H_t  = O_t ⊙ tanh(C_t)                             hidden state

    Args:
        input_size: D.   hidden_size: H.   bias: whether ``b_ih`` and ``b_hh`` exist.
        implementation: ``"auto"`` (native), ``"native"`` (``torch._VF.lstm_cell``),
            ``"scratch"`` (the course's lines) or ``"fused"`` (two ``addmm`` into one buffer).
        forget_bias: initial bias of ``F_t`` (e.g. 1.0; default: torch.nn's initialisation).

    Inputs: ``input, state=None``
        input: ``(B, D)`` or unbatched ``(D,)``.   state: ``(H_{t-1}, C_{t-1})``, each
        ``(B, H)`` (or ``(H,)``); zeros if omitted.

    Output: ``LSTMState(h=H_t, c=C_t)``, each ``(B, H)`` (or ``(H,)``).

    Parameters: ``weight_ih (4H, D)``, ``weight_hh (4H, H)``, ``bias_ih``, ``bias_hh`` ``(4H,)``.

    Example::

        >>> cell = LSTMCell(10, 20)
        >>> state = None
        >>> for x_t in torch.randn(5, 3, 10):
        ...     state = cell(x_t, state)          # state.h, state.c: (3, 20)
    """

    cell, gates = "lstm", 4

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True,
                 implementation: str = registry.AUTO, forget_bias: Optional[float] = None,
                 device=None, dtype=None):
        super().__init__(input_size, hidden_size, bias, implementation, device, dtype)
        if forget_bias is not None:
            if not bias:
                raise ValueError("expected bias=True with a forget_bias, got bias=False")
            forget_bias_(self, float(forget_bias))

    def _native(self, x: Tensor, state) -> Tuple[Tensor, Tensor]:
        return tuple(torch._VF.lstm_cell(x, state, *self.weights()))  # (B, H) each

    def _scratch(self, x: Tensor, state) -> Tuple[Tensor, Tensor]:
        return lstm_cell(x, state, *self.weights())

    def _fused(self, x: Tensor, state) -> Tuple[Tensor, Tensor]:
        h_prev, c_prev = state  # (B, H) each
        buf = _gates_buffer(x, h_prev, *self.weights())  # (2, B, 4H)
        i, f, g, o = (buf[0] + buf[1]).chunk(4, dim=1)  # (B, H) each
        c = torch.sigmoid(f) * c_prev + torch.sigmoid(i) * torch.tanh(g)  # C_t (B, H)
        return torch.sigmoid(o) * torch.tanh(c), c


class GRUCell(_CellBase):
    """One step of the GRU, as ``torch.nn.GRUCell`` (gate order ``r|z|n``).

    .. math::
        R_t  = σ(X_t W_{xr} + H_{t-1} W_{hr} + b_r)      Z_t = σ(X_t W_{xz} + H_{t-1} W_{hz} + b_z)
        H~_t = tanh(X_t W_{xh} + b_{ih} + R_t ⊙ (H_{t-1} W_{hh} + b_{hh}))    reset_after=True
        H~_t = tanh(X_t W_{xh} + b_{ih} + (R_t ⊙ H_{t-1}) W_{hh} + b_{hh})    reset_after=False
        H_t  = Z_t ⊙ H_{t-1} + (1 - Z_t) ⊙ H~_t

    Args:
        input_size: D.   hidden_size: H.   bias: whether ``b_ih`` and ``b_hh`` exist.
        reset_after: ``True`` (default) is torch.nn's and cuDNN's form; ``False`` the course's
            (Cho et al. 2014), which torch has no kernel for: ``native`` refuses it and ``auto``
            runs ``fused``.
        implementation: ``"auto"``, ``"native"`` (``torch._VF.gru_cell``), ``"scratch"`` or
            ``"fused"``.

    Inputs: ``input, state=None``
        input: ``(B, D)`` or unbatched ``(D,)``.   state: ``H_{t-1}`` ``(B, H)`` (or ``(H,)``).

    Output: ``H_t`` ``(B, H)`` (or ``(H,)``).

    Parameters: ``weight_ih (3H, D)``, ``weight_hh (3H, H)``, ``bias_ih``, ``bias_hh`` ``(3H,)``.

    Example::

        >>> cell = GRUCell(10, 20, reset_after=False)   # the course's GRU, runs fused
        >>> h = cell(torch.randn(3, 10))                # (3, 20)
    """

    cell, gates = "gru", 3

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True,
                 reset_after: bool = True, implementation: str = registry.AUTO,
                 device=None, dtype=None):
        self.reset_after = bool(reset_after)
        if not self.reset_after and implementation == registry.NATIVE:
            others = [name for name in IMPLEMENTATIONS if name != registry.NATIVE]
            raise ValueError("GRUCell(reset_after=False) is not supported by implementation="
                             f"'native' (torch has no kernel for it); use one of "
                             f"{', '.join(others)}")
        super().__init__(input_size, hidden_size, bias, implementation, device, dtype)

    def _native(self, x: Tensor, h: Tensor) -> Tensor:
        return torch._VF.gru_cell(x, h, *self.weights())  # (B, H)

    def _scratch(self, x: Tensor, h: Tensor) -> Tensor:
        return gru_cell(x, h, *self.weights(), self.reset_after)  # (B, H)

    def _fused(self, x: Tensor, h: Tensor) -> Tensor:
        H = self.hidden_size
        w_ih, w_hh, b_ih, b_hh = self.weights()
        buf = _gates_buffer(x, h, w_ih, w_hh, b_ih, b_hh,
                            hidden_rows=None if self.reset_after else 2 * H)  # (2, B, 3H)
        rz = torch.sigmoid(buf[0, :, :2 * H] + buf[1, :, :2 * H])  # (B, 2H)
        r, z = rz[:, :H], rz[:, H:]  # (B, H) each
        if self.reset_after:
            hidden_n = buf[1, :, 2 * H:]  # H W_hn^T + b_hn  (B, H)
            n = torch.tanh(buf[0, :, 2 * H:] + r * hidden_n)  # H~_t (B, H)
        else:
            hidden_n = buf[1, :, 2 * H:]  # (B, H): the third addmm, into the buffer's free block
            b_hn = None if b_hh is None else b_hh[2 * H:]
            if b_hn is None:
                hidden_n.addmm_(r * h, w_hh[2 * H:].t(), beta=0)
            else:
                hidden_n.copy_(b_hn.expand_as(hidden_n)).addmm_(r * h, w_hh[2 * H:].t())
            n = torch.tanh(buf[0, :, 2 * H:] + buf[1, :, 2 * H:])  # H~_t (B, H)
        return z * h + (1 - z) * n  # H_t (B, H)

    def extra_repr(self) -> str:
        s = super().extra_repr()
        return s if self.reset_after else s + ", reset_after=False"


__all__ = ["RNNCell", "LSTMCell", "GRUCell"]
