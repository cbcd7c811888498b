"""The public layers: ``RNN``, ``LSTM`` and ``GRU``, drop-in replacements for torch.nn's."""

from recurrente.layers.base import RecurrentLayer
from recurrente.layers.init import forget_bias_

_COMMON_ARGS = """
    Args:
        input_size: D, features per step.   hidden_size: H.
        num_layers: L, stacked layers (the output of layer l is the input of layer l+1).
        bias: whether the affine maps have biases ``b_ih`` and ``b_hh``.
        batch_first: input and output are ``(B, T, ·)`` instead of ``(T, B, ·)`` (state is not).
        dropout: dropout probability on the outputs of every layer but the last, in training only.
        bidirectional: K = 2 directions; outputs are concatenated ``[forward, reverse]``.
        implementation: ``"auto"`` (default: the fastest measured for the cell, size and device),
            ``"native"`` (torch's kernels: oneDNN, cuDNN), ``"fused"`` (hand-written BPTT, one
            GEMM per step) or ``"scratch"`` (readable, one line per equation, autograd BPTT);
            all hold the same parameters.
        recurrent_init: ``"default"`` (torch.nn's U(-1/sqrt(H), 1/sqrt(H))) or ``"orthogonal"``
            (every gate's ``(H, H)`` block of ``weight_hh`` orthogonal).

    Inputs: ``input, state=None, lengths=None``
        input: ``(T, B, D)`` (``(B, T, D)`` if batch_first) or unbatched ``(T, D)``.
        state: initial state ``(L*K, B, H)``{state_extra}; zeros if omitted.
        lengths: ``(B,)`` integer lengths in [1, T], any order, for right-padded sequences. Then
            padded outputs are zero, each final state is taken at the sequence's own last step
            and the reverse direction starts there: torch.nn on a ``PackedSequence``, exactly.

    Outputs: ``(output, state)``
        output: ``(T, B, K*H)``, the last layer's ``H_t`` for every t.
        state: the final state of every layer and direction, shaped as the input state.

    Parameters (torch.nn's names, shapes and gate order, so ``load_state_dict`` works both ways):
        ``weight_ih_l{{k}}`` ``({G}H, D or K*H)``, ``weight_hh_l{{k}}`` ``({G}H, H)``,
        ``bias_ih_l{{k}}``, ``bias_hh_l{{k}}`` ``({G}H,)``; suffix ``_reverse`` for direction 2.
"""


class RNN(RecurrentLayer):
    __doc__ = """Elman recurrent network.

    .. math::
        H_t = φ(X_t W_{xh} + b_{ih} + H_{t-1} W_{hh} + b_{hh}),   φ = tanh or relu

    Extra argument: ``nonlinearity`` ``"tanh"`` (default) or ``"relu"``.
    """ + _COMMON_ARGS.format(state_extra="", G="") + """
    Example::

        >>> rnn = RNN(10, 20, num_layers=2)
        >>> output, h = rnn(torch.randn(5, 3, 10))   # output (5, 3, 20), h (2, 3, 20)
    """
    cell, gates = "rnn", 1

    def __init__(self, *args, nonlinearity: str = "tanh", **kwargs):
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"expected nonlinearity 'tanh' or 'relu', got {nonlinearity!r}")
        self.nonlinearity = nonlinearity
        super().__init__(*args, **kwargs)

    def cell_options(self) -> dict:
        return {"nonlinearity": self.nonlinearity}


class LSTM(RecurrentLayer):
    __doc__ = """Long short-term memory (gate order ``i|f|g|o`` as torch.nn).

    .. math::
        I_t = σ(X_t W_{xi} + H_{t-1} W_{hi} + b_i)      F_t = σ(X_t W_{xf} + H_{t-1} W_{hf} + b_f)
        O_t = σ(X_t W_{xo} + H_{t-1} W_{ho} + b_o)      C~_t = tanh(X_t W_{xc} + H_{t-1} W_{hc} + b_c)
        C_t = F_t ⊙ C_{t-1} + I_t ⊙ C~_t                H_t = O_t ⊙ tanh(C_t)

    Extra argument: ``forget_bias`` (e.g. 1.0): initial bias of ``F_t`` (default: torch.nn's).
    """ + _COMMON_ARGS.format(state_extra=" as ``LSTMState(h, c)``", G="4") + """
    Example::

        >>> lstm = LSTM(10, 20, bidirectional=True, forget_bias=1.0)
        >>> output, (h, c) = lstm(torch.randn(5, 3, 10))   # output (5, 3, 40), h (2, 3, 20)
    """
    cell, gates = "lstm", 4

    def __init__(self, *args, forget_bias=None, **kwargs):
        super().__init__(*args, **kwargs)
        if forget_bias is not None:
            forget_bias_(self, float(forget_bias))


class GRU(RecurrentLayer):
    __doc__ = """Gated recurrent unit (gate order ``r|z|n`` as torch.nn).

    .. math::
        R_t = σ(X_t W_{xr} + H_{t-1} W_{hr} + b_r)      Z_t = σ(X_t W_{xz} + H_{t-1} W_{hz} + b_z)
        H~_t = tanh(X_t W_{xh} + b_{ih} + R_t ⊙ (H_{t-1} W_{hh} + b_{hh}))    reset_after=True
        H~_t = tanh(X_t W_{xh} + b_{ih} + (R_t ⊙ H_{t-1}) W_{hh} + b_{hh})    reset_after=False
        H_t = Z_t ⊙ H_{t-1} + (1 - Z_t) ⊙ H~_t

    Extra argument: ``reset_after`` (default True, torch.nn's and cuDNN's form). ``False`` is the
    course's GRU (Cho et al. 2014); torch has no kernel for it, so ``native`` refuses it.
    """ + _COMMON_ARGS.format(state_extra="", G="3") + """
    Example::

        >>> gru = GRU(10, 20, reset_after=False, implementation="scratch")
        >>> output, h = gru(torch.randn(5, 3, 10))
    """
    cell, gates = "gru", 3

    def __init__(self, *args, reset_after: bool = True, **kwargs):
        self.reset_after = bool(reset_after)
        super().__init__(*args, **kwargs)
        if not self.reset_after and self.implementation == "native":
            from recurrente.layers.registry import choices
            others = [name for name in choices() if name != "native"]
            raise ValueError("GRU(reset_after=False) is not supported by implementation='native' "
                             f"(torch has no kernel for it); use one of {', '.join(others)}")

    def cell_options(self) -> dict:
        return {"reset_after": self.reset_after}

    def auto_candidates(self) -> list:
        return super().auto_candidates() if self.reset_after else ["fused"]
