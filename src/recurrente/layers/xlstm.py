"""The layers ``SLSTM`` and ``MLSTM`` (Beck et al. 2024, "xLSTM"): exponential gating with a
normaliser and a stabiliser; a scalar memory read through recurrent weights, and a matrix memory
whose gates read ``X_t`` only.

The layer stack is the one of every cell (:mod:`recurrente.layers.base`: depth, directions,
dropout between layers, lengths, explicit state); what differs is the state, a tuple of four
tensors with ``H_t`` first (``state[0]`` is the output everywhere in recurrente), and the
implementations (:mod:`recurrente.layers.xlstm_runners`). The states, rows ``L*K`` (row
``layer*K + direction``, as torch.nn's):

- sLSTM: ``SLSTMState(h, c, n, m)``, each ``(L*K, B, H)``; implementation ``scratch``.
- mLSTM: ``MLSTMState(h, C, n, m)``: ``(L*K, B, H)``, ``(L*K, B, H, H)``, ``(L*K, B, H)``,
  ``(L*K, B, 1)``; implementations ``parallel`` and ``scratch``.

The state starts at zeros (``init_state``), and an explicit one may be any tuple of those shapes
(a plain tuple is taken in that order). The mLSTM's ``h`` is its last output, carried for the
readers of ``state[0]``; its next step does not read it.
"""

from typing import NamedTuple, Optional

import torch
from torch import Tensor

from recurrente.layers import registry
from recurrente.layers.base import RecurrentLayer


class SLSTMState(NamedTuple):
    """The sLSTM's state: output ``h``, memory ``c``, normaliser ``n``, stabiliser ``m``, each
    ``(L*K, B, H)`` (``(B, H)`` for one layer's step)."""

    h: Tensor
    c: Tensor
    n: Tensor
    m: Tensor


class MLSTMState(NamedTuple):
    """The mLSTM's state: output ``h (L*K, B, H)``, matrix memory ``C (L*K, B, H, H)``,
    normaliser ``n (L*K, B, H)``, stabiliser ``m (L*K, B, 1)`` (one per head; one head)."""

    h: Tensor
    C: Tensor
    n: Tensor
    m: Tensor


STATES = {"slstm": SLSTMState, "mlstm": MLSTMState}


def state_shapes(cell: str, hidden_size: int, *leading: int) -> dict:
    """Name -> shape of ``cell``'s state tensors, after the ``leading`` dimensions
    (``(L*K, B)``, ``(B,)`` for one step, ``(L*K,)`` unbatched)."""
    H = hidden_size
    if cell == "slstm":
        return {name: (*leading, H) for name in SLSTMState._fields}
    return {"h": (*leading, H), "C": (*leading, H, H), "n": (*leading, H), "m": (*leading, 1)}


def init_state(cell: str, hidden_size: int, *leading: int, device=None, dtype=None):
    """The zero state of ``cell`` (``"slstm"`` or ``"mlstm"``) with the ``leading`` dims."""
    return STATES[cell](*(torch.zeros(s, device=device, dtype=dtype)
                          for s in state_shapes(cell, hidden_size, *leading).values()))


def check_state(state, cell: str, hidden_size: int, *leading: int):
    """``state`` as ``cell``'s NamedTuple if its tensors have the expected shapes, else a
    ValueError naming what was expected."""
    shapes = state_shapes(cell, hidden_size, *leading)
    name = {"slstm": "sLSTM", "mlstm": "mLSTM"}[cell]
    described = ", ".join(f"{k} {v}" for k, v in shapes.items())
    if not (isinstance(state, (tuple, list)) and len(state) == len(shapes)):
        raise ValueError(f"expected the {name} state to be a tuple ({', '.join(shapes)}) of "
                         f"shapes {described}, got {type(state).__name__}"
                         + (f" of {len(state)}" if isinstance(state, (tuple, list)) else ""))
    for (key, shape), t in zip(shapes.items(), state):
        if not isinstance(t, Tensor) or tuple(t.shape) != shape:
            got = tuple(t.shape) if isinstance(t, Tensor) else type(t).__name__
            raise ValueError(f"expected the {name} state's {key} of shape {shape}, got {got}")
    return STATES[cell](*state)


_ARGS = """
    Args:
        input_size: D.   hidden_size: H.   num_layers: L (layer l+1 reads layer l's ``H_t``).
        bias: whether the projections have biases.
        batch_first: input and output are ``(B, T, ·)`` instead of ``(T, B, ·)`` (state is not).
        dropout: dropout on the outputs of every layer but the last, in training only.
        bidirectional: K = 2 directions; outputs are concatenated ``[forward, reverse]``.
        implementation: {implementations}{options}

    Inputs: ``input, state=None, lengths=None``
        input: ``(T, B, D)`` (``(B, T, D)`` if batch_first) or unbatched ``(T, D)``.
        state: initial ``{state}``
            (a plain tuple in that order is accepted); zeros if omitted.
        lengths: ``(B,)`` lengths of right-padded sequences: padded outputs are zero and each
            final state is the one after its sequence's own last step.

    Outputs: ``(output, state)``: ``(T, B, K*H)``, the last layer's ``H_t``; the state as above.
"""


class XLSTMLayer(RecurrentLayer):
    """Base of :class:`SLSTM` and :class:`MLSTM`: a state of four tensors, own runners."""

    runner_finals = True  # the runners return each row's final state (the state is a tuple)

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
                 implementation: str = registry.DEFAULT, recurrent_init: str = "default",
                 weight_dropout: float = 0.0, device=None, dtype=None):
        name, own = type(self).__name__, registry.choices(self.cell)
        if implementation in registry.choices() and implementation not in own:
            raise ValueError(f"{name} has no {implementation!r} implementation; expected one "
                             f"of {', '.join(own)}")
        super().__init__(input_size, hidden_size, num_layers, bias, batch_first, dropout,
                         bidirectional, implementation, recurrent_init, weight_dropout,
                         device, dtype)

    def _initial_state(self, state, B: int, x: Tensor, batched: bool):
        rows = self.num_layers * self.num_directions
        if state is None:
            return init_state(self.cell, self.hidden_size, rows, B, device=x.device,
                              dtype=x.dtype)
        if not batched:
            state = check_state(state, self.cell, self.hidden_size, rows)
            state = type(state)(*(s.unsqueeze(1) for s in state))
        return check_state(state, self.cell, self.hidden_size, rows, B)

    def _state_of(self, tensors: list):
        return STATES[self.cell](*tensors)

    def implementation_for(self, device, batch: Optional[int] = None,
                           steps: Optional[int] = None, training: Optional[bool] = None) -> str:
        """``auto`` is the cell's first implementation in the registry, on every device and
        without measuring (see the class docstring for the measurement behind it)."""
        if self.implementation == registry.AUTO:
            return self.auto_candidates()[0]
        return self.implementation

    def auto_candidates(self) -> list:
        return registry.available(self.cell)[:1]


class SLSTM(XLSTMLayer):
    __doc__ = """sLSTM (Beck et al. 2024): the LSTM with an exponential input gate, a normaliser
    and a stabiliser, its gates reading ``H_{t-1}``.

    .. math::
        I~_t = X_t W_{xi} + H_{t-1} W_{hi} + b_i           F~_t, Z~_t, O~_t likewise
        m_t  = max(log σ(F~_t) + m_{t-1}, I~_t)
        I'_t = exp(I~_t - m_t)        F'_t = exp(log σ(F~_t) + m_{t-1} - m_t)
        c_t  = F'_t ⊙ c_{t-1} + I'_t ⊙ tanh(Z~_t)
        n_t  = F'_t ⊙ n_{t-1} + I'_t
        H_t  = σ(O~_t) ⊙ c_t / n_t

    The sigmoid forget gate, in log space; one head (the paper's block-diagonal ``W_hh`` with
    one block is a full one). Sequential by design: every gate reads ``H_{t-1}``, so there is
    only the loop. Equivalent to::

        for t in range(T):
            h, c, n, m = slstm_cell(x[t], (h, c, n, m), weight_ih_l0, weight_hh_l0,
                                    bias_ih_l0, bias_hh_l0)   # recurrente.cells.xlstm
    """ + _ARGS.format(
        implementations="``\"auto\"`` (default) or ``\"scratch\"``: the step function ``T``\n"
                        "            times, the only one (the recurrence is nonlinear in "
                        "``H_{t-1}``).",
        options="\n        recurrent_init, weight_dropout: as the LSTM's, on ``weight_hh``.",
        state="SLSTMState(h, c, n, m)``, each ``(L*K, B, H)") + """
    Parameters: torch.nn's names and layout, ``weight_ih_l{k}`` ``(4H, D or K*H)``,
    ``weight_hh_l{k}`` ``(4H, H)``, ``bias_ih_l{k}``, ``bias_hh_l{k}`` ``(4H,)``, rows
    ``i|f|z|o``; suffix ``_reverse`` for direction 2.

    Example::

        >>> rnn = SLSTM(10, 20, num_layers=2)
        >>> output, state = rnn(torch.randn(50, 3, 10))   # (50, 3, 20); state.c (2, 3, 20)
    """
    cell, gates = "slstm", 4


class MLSTM(XLSTMLayer):
    __doc__ = """mLSTM (Beck et al. 2024): a matrix memory written with value-key products and read
    with a query, exponential gates from ``X_t`` alone, so every step can be computed at once.

    .. math::
        q_t = X_t W_q + b_q     k_t = (X_t W_k + b_k)/√H     v_t = X_t W_v + b_v
        I~_t, F~_t = X_t W_i + b_i, X_t W_f + b_f (scalars)    O_t = σ(X_t W_o + b_o)
        m_t  = max(log σ(F~_t) + m_{t-1}, I~_t)
        I'_t = exp(I~_t - m_t)        F'_t = exp(log σ(F~_t) + m_{t-1} - m_t)
        C_t  = F'_t C_{t-1} + I'_t v_t k_t^T        n_t = F'_t n_{t-1} + I'_t k_t
        H_t  = O_t ⊙ C_t q_t / max(|n_t^T q_t|, exp(-m_t))

    One head of size H. Equivalent to::

        for t in range(T):
            h, C, n, m = mlstm_cell(x[t], (h, C, n, m), weight_ih_l0, bias_ih_l0)

    ``auto`` is ``parallel``, measured once: a training step (forward and backward, float32)
    at B = 16, D = H = 128, T = 256 on 2 threads of an AMD EPYC shared with other work took
    0.50 to 1.47 s with ``parallel`` and 4.3 to 19.4 s with ``scratch`` (medians of three
    runs: 2.9x to 29x); at T = 1024, 1.3 s against 70 s. The loop saves a ``(B, H, H)`` memory
    per step for the backward; the parallel form's ``(B, T, T)`` matrices are smaller while
    ``T < H^2``, and its work is a few batched GEMMs.
    """ + _ARGS.format(
        implementations="``\"auto\"`` (default: ``parallel``), ``\"parallel\"`` (the paper's\n"
                        "            parallel form: the decay matrix from the cumulative log "
                        "forget gates,\n            stabilised by its row max, ``O(T^2)`` per "
                        "sequence) or ``\"scratch\"`` (the\n            step function ``T`` "
                        "times). They agree to 1e-10 in float64.",
        options="\n        recurrent_init, weight_dropout: only their defaults (no ``W_hh``).",
        state="MLSTMState(h, C, n, m)``: ``(L*K, B, H)``,\n            ``(L*K, B, H, H)``, "
              "``(L*K, B, H)``, ``(L*K, B, 1)") + """
    Parameters: ``weight_ih_l{k}`` ``(4H+2, D or K*H)``, rows ``q|k|v|i|f|o`` of ``H, H, H,
    1, 1, H``; ``bias_ih_l{k}`` ``(4H+2,)``; suffix ``_reverse`` for direction 2; no ``W_hh``.

    Example::

        >>> rnn = MLSTM(10, 20, bidirectional=True)
        >>> output, state = rnn(torch.randn(50, 3, 10))   # (50, 3, 40); state.C (2, 3, 20, 20)
    """
    cell, gates = "mlstm", 4

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
                 implementation: str = registry.DEFAULT, recurrent_init: str = "default",
                 weight_dropout: float = 0.0, device=None, dtype=None):
        if weight_dropout:
            raise ValueError(f"MLSTM has no recurrent weight W_hh, so weight_dropout "
                             f"(DropConnect on W_hh) does not apply; got {weight_dropout}")
        if recurrent_init != "default":
            raise ValueError(f"MLSTM has no recurrent weight W_hh to initialise; expected "
                             f"recurrent_init 'default', got {recurrent_init!r}")
        super().__init__(input_size, hidden_size, num_layers, bias, batch_first, dropout,
                         bidirectional, implementation, recurrent_init, weight_dropout,
                         device, dtype)

    def _parameter_shapes(self, layer_input: int) -> dict:
        """``weight_ih_l{k}`` ``(4H+2, D)`` and ``bias_ih_l{k}`` only."""
        rows = 4 * self.hidden_size + 2
        return {"weight_ih": (rows, layer_input), **({"bias_ih": (rows,)} if self.bias else {})}
