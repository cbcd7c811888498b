"""The layers ``MinGRU`` and ``MinLSTM`` (Feng et al. 2024): gates that never read ``H_{t-1}``.

Dropping ``H_{t-1}`` from the gates makes the update linear in the state, ``H_t = A_t ⊙ H_{t-1} +
B_t``, so training runs a scan over time instead of a loop. The layer
stack is the one of every cell (:mod:`recurrente.layers.base`: depth, directions, dropout between
layers, lengths, explicit state); what differs is the parameters, which are input projections
only (``weight_ih_l{k}``, ``bias_ih_l{k}``: no ``weight_hh`` to drop, orthogonalise or move to
torch.nn), and the implementations (:mod:`recurrente.layers.min_rnn_runners`).
"""

import torch

from recurrente.layers import registry
from recurrente.layers.base import RecurrentLayer

_ARGS = """
    Args:
        input_size: D.   hidden_size: H.   num_layers: L (layer l+1 reads layer l's ``H_t``).
        bias: whether the projections have a bias ``bias_ih``.
        batch_first: input and output are ``(B, T, ·)`` instead of ``(T, B, ·)`` (state is not).
        dropout: dropout on the outputs of every layer but the last, in training only.
        bidirectional: K = 2 directions; outputs are concatenated ``[forward, reverse]``.
        implementation: ``"auto"`` (default: ``parallel``), ``"parallel"`` (one GEMM for all
            steps, then a chunked scan with a hand-written backward), ``"logspace"`` (the
            paper's: Heinsen's log-space scan, autograd backward) or ``"scratch"`` (the step
            function ``T`` times, one line per equation). All hold the same parameters and agree
            to 1e-12 in float64; none is ``native`` or ``fused`` (torch has no such kernel).
        recurrent_init, weight_dropout: only their defaults (there is no ``W_hh``).

    Inputs: ``input, state=None, lengths=None``
        input: ``(T, B, D)`` (``(B, T, D)`` if batch_first) or unbatched ``(T, D)``.
        state: initial ``H_0`` ``(L*K, B, H)``, any sign; zeros if omitted.
        lengths: ``(B,)`` lengths of right-padded sequences: padded outputs are zero and each
            final state is taken at its sequence's own last step (a ``PackedSequence``'s rule).

    Outputs: ``(output, state)``: ``(T, B, K*H)``, the last layer's ``H_t``; ``(L*K, B, H)``.

    Parameters: ``weight_ih_l{{k}}`` ``({G}H, D or K*H)``, rows ``{rows}``; ``bias_ih_l{{k}}``
    ``({G}H,)``; suffix ``_reverse`` for direction 2.
"""


class MinRecurrentLayer(RecurrentLayer):
    """Base of :class:`MinGRU` and :class:`MinLSTM`: input projections only, own runners."""

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
                 implementation: str = registry.DEFAULT, recurrent_init: str = "default",
                 weight_dropout: float = 0.0, device=None, dtype=None):
        name, own = type(self).__name__, registry.choices(self.cell)
        if implementation in registry.choices() and implementation not in own:
            raise ValueError(f"{name} has no {implementation!r} implementation; expected one "
                             f"of {', '.join(own)}")
        if weight_dropout:
            raise ValueError(f"{name} has no recurrent weight W_hh, so weight_dropout "
                             f"(DropConnect on W_hh) does not apply; got {weight_dropout}")
        if recurrent_init != "default":
            raise ValueError(f"{name} has no recurrent weight W_hh to initialise; expected "
                             f"recurrent_init 'default', got {recurrent_init!r}")
        super().__init__(input_size, hidden_size, num_layers, bias, batch_first, dropout,
                         bidirectional, implementation, recurrent_init, weight_dropout,
                         device, dtype)

    def _parameter_shapes(self, layer_input: int) -> dict:
        """``weight_ih_l{k}`` and ``bias_ih_l{k}`` only, in torch.nn's order and naming."""
        G, H = self.gates, self.hidden_size
        return {"weight_ih": (G * H, layer_input), **({"bias_ih": (G * H,)} if self.bias else {})}

    def implementation_for(self, device, batch=None, steps=None, training=None) -> str:
        """``auto`` is the cell's first implementation in the registry, ``parallel``, on every
        device and without measuring: it trained fastest at T = 64, 256 and 1024 on the Zen 5 CPU
        (2.3x to 3.4x torch.nn's LSTM for the minGRU, 3 to 4x the other two forms;
        benchmarks/min_rnn.py), and the others exist to be read and checked."""
        if self.implementation == registry.AUTO:
            return self.auto_candidates()[0]
        return self.implementation

    def auto_candidates(self) -> list:
        return registry.available(self.cell)[:1]


class MinGRU(MinRecurrentLayer):
    __doc__ = """minGRU (Feng et al. 2024): the GRU without ``H_{t-1}`` in its gates, nor a reset gate.

    .. math::
        Z_t  = σ(X_t W_{xz} + b_z)
        H~_t = g(X_t W_{xh} + b_h),      g(v) = v + 1/2 (v ≥ 0), σ(v) (v < 0)
        H_t  = (1 - Z_t) ⊙ H_{t-1} + Z_t ⊙ H~_t

    The paper's log-space version (its Appendix B: the candidate through ``g``, so ``H~_t > 0``);
    ``Z_t`` lets the candidate in, the opposite convention to the course's GRU. Equivalent to::

        for t in range(T):
            h = mingru_cell(x[t], h, weight_ih_l0, bias_ih_l0)   # recurrente.cells.min_rnn
    """ + _ARGS.format(G="2", rows="z|n") + """
    Example::

        >>> rnn = MinGRU(10, 20, num_layers=2)
        >>> output, h = rnn(torch.randn(500, 3, 10))   # output (500, 3, 20), h (2, 3, 20)
    """
    cell, gates = "mingru", 2


class MinLSTM(MinRecurrentLayer):
    __doc__ = """minLSTM (Feng et al. 2024): the LSTM without ``H_{t-1}`` in its gates, with normalised
    forget and input gates, and no output gate or separate memory.

    .. math::
        I_t  = σ(X_t W_{xi} + b_i)        F_t = σ(X_t W_{xf} + b_f)
        F'_t = F_t / (F_t + I_t)          I'_t = I_t / (F_t + I_t)
        H~_t = g(X_t W_{xh} + b_h),       g(v) = v + 1/2 (v ≥ 0), σ(v) (v < 0)
        H_t  = F'_t ⊙ H_{t-1} + I'_t ⊙ H~_t

    The paper's log-space version (its Appendix B). Equivalent to::

        for t in range(T):
            h = minlstm_cell(x[t], h, weight_ih_l0, bias_ih_l0)   # recurrente.cells.min_rnn
    """ + _ARGS.format(G="3", rows="i|f|g") + """
    Example::

        >>> rnn = MinLSTM(10, 20, bidirectional=True)
        >>> output, h = rnn(torch.randn(500, 3, 10))   # output (500, 3, 40), h (2, 3, 20)
    """
    cell, gates = "minlstm", 3
