"""The layer stack shared by RNN, LSTM and GRU: parameters, depth, directions, lengths, dropout.

An implementation supplies one thing, a runner for one layer in one direction (see
:mod:`recurrente.layers.registry`). This module builds the rest around it, identically for all::

    layer 0:  X ──► forward runner ─────────────┐
                └─► reverse(X) ─► runner ─► reverse ┴─► concat ─► dropout ─► layer 1 ...

Sequences of different lengths are right-padded. Because padding comes *after* each sequence's
real steps, a runner may process it freely: the real outputs cannot see it. What must be done
right is (1) the reverse direction starts at each sequence's own last step (``reverse_padded``),
(2) the final state is read at each sequence's own last step, (3) padded outputs are zero. That
is precisely torch.nn's behaviour on a ``PackedSequence``.
"""

from typing import Optional, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from recurrente.layers import autotune, registry
from recurrente.layers.dropout import drop_connect
from recurrente.layers.init import default_init, orthogonal_recurrent_
from recurrente.layers.native import make_template, native_forward, native_layerwise
from recurrente.layers.state import LSTMState, init_state
from recurrente.layers.validation import check_input, check_lengths, check_state


def reverse_padded(x: Tensor, lengths: Optional[Tensor]) -> Tensor:
    """Reverse each sequence of ``x (T, B, ...)`` within its own length; padding stays put."""
    if lengths is None:
        return x.flip(0)
    T, B = x.shape[:2]
    t = torch.arange(T).unsqueeze(1)  # (T, 1)
    n = lengths.unsqueeze(0)  # (1, B)
    index = torch.where(t < n, n - 1 - t, t).to(x.device)  # (T, B), an involution
    index = index.view(T, B, *([1] * (x.dim() - 2))).expand_as(x)
    return x.gather(0, index)


def last_steps(steps: Tensor, lengths: Optional[Tensor]) -> Tensor:
    """Each sequence's value at its own last step: ``steps (T, B, H) -> (B, H)``."""
    if lengths is None:
        return steps[-1]
    batch = torch.arange(steps.shape[1], device=steps.device)
    return steps[lengths.to(steps.device) - 1, batch]


def padding_mask(lengths: Tensor, steps: int, device) -> Tensor:
    """``(T, B, 1)`` boolean mask, True on real steps."""
    return (torch.arange(steps).unsqueeze(1) < lengths.unsqueeze(0)).unsqueeze(-1).to(device)


class RecurrentLayer(nn.Module):
    """Base class of :class:`RNN`, :class:`LSTM` and :class:`GRU`; see their docstrings."""

    cell: str = ""  # "rnn" | "lstm" | "gru"
    gates: int = 1  # G: row blocks in each weight
    # False: a runner returns every step's (H_t, C_t or None) and the stack reads each
    # sequence's last step. True (the xLSTM cells, whose state is not (B, H) tensors): it is
    # called with ``lengths=`` and returns (every H_t, its final state as a tuple).
    runner_finals: bool = False

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
                 implementation: str = registry.DEFAULT, recurrent_init: str = "default",
                 weight_dropout: float = 0.0, device=None, dtype=None):
        super().__init__()
        if implementation not in registry.choices(self.cell):
            raise ValueError(f"unknown implementation {implementation!r}; expected one of "
                             f"{', '.join(registry.choices(self.cell))}")
        if recurrent_init not in ("default", "orthogonal"):
            raise ValueError(f"expected recurrent_init 'default' or 'orthogonal', "
                             f"got {recurrent_init!r}")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"expected dropout in [0, 1), got {dropout}")
        if not 0.0 <= weight_dropout < 1.0:
            raise ValueError(f"expected weight_dropout in [0, 1), got {weight_dropout}")
        if input_size < 1 or hidden_size < 1 or num_layers < 1:
            raise ValueError(f"expected positive sizes, got input_size={input_size}, "
                             f"hidden_size={hidden_size}, num_layers={num_layers}")
        self.input_size, self.hidden_size, self.num_layers = input_size, hidden_size, num_layers
        self.bias, self.batch_first, self.dropout = bias, batch_first, float(dropout)
        self.bidirectional, self.weight_dropout = bidirectional, float(weight_dropout)
        self.num_directions = 2 if bidirectional else 1
        self.implementation = implementation
        self._make_parameters(device, dtype)
        default_init(self)
        if recurrent_init == "orthogonal":
            orthogonal_recurrent_(self)
        self._template = None  # torch.nn module used by ``native``, built on first use

    # -- parameters ---------------------------------------------------------------------------
    def _parameter_shapes(self, layer_input: int) -> dict:
        """One layer and direction's parameters, name -> shape, in torch.nn's order."""
        G, H = self.gates, self.hidden_size
        shapes = {"weight_ih": (G * H, layer_input), "weight_hh": (G * H, H)}
        if self.bias:
            shapes.update(bias_ih=(G * H,), bias_hh=(G * H,))
        return shapes

    def _make_parameters(self, device, dtype) -> None:
        """Register torch.nn's parameters, in torch.nn's order, under torch.nn's names."""
        H, K = self.hidden_size, self.num_directions
        for layer in range(self.num_layers):
            layer_input = self.input_size if layer == 0 else H * K
            for direction in range(K):
                sfx = f"_l{layer}" + ("_reverse" if direction else "")
                for name, shape in self._parameter_shapes(layer_input).items():
                    self.register_parameter(name + sfx, nn.Parameter(
                        torch.empty(shape, device=device, dtype=dtype)))

    def weights(self, layer: int, direction: int, parameters: Optional[dict] = None
                ) -> Tuple[Tensor, ...]:
        """``(w_ih, w_hh, b_ih, b_hh)`` of one layer and direction; biases ``None`` if absent.
        ``parameters``: a :meth:`forward_parameters` dict to read them from instead."""
        sfx = f"_l{layer}" + ("_reverse" if direction else "")
        if parameters is None:
            get = lambda name: getattr(self, name + sfx, None)  # noqa: E731
        else:
            get = lambda name: parameters.get(name + sfx)  # noqa: E731
        return get("weight_ih"), get("weight_hh"), get("bias_ih"), get("bias_hh")

    def forward_parameters(self) -> dict:
        """The tensors one forward runs with, by parameter name: the parameters themselves, except
        that in training with ``weight_dropout = p`` every ``W_hh`` is ``W_hh ⊙ M / (1-p)``, one
        Bernoulli mask ``M`` per matrix drawn here, once, and used at every time step
        (DropConnect, Wan et al. 2013, as AWD-LSTM's weight drop, Merity et al. 2018). Every
        implementation takes weights as tensors, so ``native`` and ``fused`` run as usual, and
        autograd carries the gradient through the mask to the parameter."""
        params = dict(self.named_parameters())
        if self.training and self.weight_dropout:
            for name in params:
                if name.startswith("weight_hh"):
                    params[name] = drop_connect(params[name], self.weight_dropout)  # (G*H, H)
        return params

    def cell_options(self) -> dict:
        """Keyword options the runners take (nonlinearity, reset_after)."""
        return {}

    # -- forward ------------------------------------------------------------------------------
    def forward(self, input: Tensor, state=None, lengths: Optional[Tensor] = None, *,
                parameters: Optional[dict] = None, between=None):
        """See the class docstring. Returns ``(output, state)``.

        ``parameters``: the weights to run with, as :meth:`forward_parameters` returns them
        (default: drawn for this call), so a caller that runs one sequence in several calls
        keeps one DropConnect mask for all of them. ``between(k, y)``: applied to the output
        ``y (T, B, K*H)`` of every layer ``k`` but the last, instead of the layer's own dropout
        (a caller's locked dropout, say)."""
        batched = check_input(input, self.input_size, self.batch_first)
        x = input if batched else input.unsqueeze(1)  # (T, B, D) or (B, T, D)
        if batched and self.batch_first:
            x = x.transpose(0, 1)  # (T, B, D)
        T, B = x.shape[0], x.shape[1]
        if not batched and lengths is not None:
            raise ValueError("expected no lengths for an unbatched (T, D) input")
        lengths = check_lengths(lengths, B, T)
        state = self._initial_state(state, B, x, batched)
        training = torch.is_grad_enabled() and (x.requires_grad or next(
            self.parameters()).requires_grad)
        implementation = self.implementation_for(x.device, batch=B, steps=T, training=training)
        params = self.forward_parameters() if parameters is None else parameters
        if implementation == registry.NATIVE:
            y, final = self._native(x, state, lengths, params, between)
        else:
            y, final = self._stack(x, state, lengths, implementation, params, between)
        if batched and self.batch_first:
            y = y.transpose(0, 1)
        if not batched:
            y, final = y.squeeze(1), _map(final, lambda s: s.squeeze(1))
        return y, final

    def _initial_state(self, state, B: int, x: Tensor, batched: bool):
        expected = (self.num_layers * self.num_directions, B, self.hidden_size)
        if state is None:
            return init_state(self.cell, self.num_layers, B, self.hidden_size,
                              self.num_directions, device=x.device, dtype=x.dtype)
        if not batched:
            check_state(state, self.cell, (expected[0], expected[2]))
            state = _map(state, lambda s: s.unsqueeze(1))
        check_state(state, self.cell, expected)
        return LSTMState(*state) if self.cell == "lstm" else state

    def _native(self, x, state, lengths, params: dict, between):
        if between is not None and self.num_layers > 1:
            y, final = native_layerwise(self, x, state, lengths, params, between)
        else:
            if self._template is None:  # kept out of _modules: it has no parameters of its own
                self.__dict__["_template"] = make_template(self)
            y, final = native_forward(self, self._template, x, state, lengths, params)
        return y, LSTMState(*final) if self.cell == "lstm" else final

    def implementation_for(self, device, batch: Optional[int] = None,
                           steps: Optional[int] = None, training: Optional[bool] = None) -> str:
        """The implementation that runs on ``device``: ``auto`` resolved by measuring on this
        machine the first time a case runs (:mod:`recurrente.layers.autotune`), or by the
        registry's table when measuring is off. Without ``batch`` nothing is measured: a case
        not decided yet is answered from the table."""
        if self.implementation != registry.AUTO:
            return self.implementation
        device = torch.device(device)
        training = self.training if training is None else training
        known = self.__dict__.setdefault("_auto_choices", {})  # per call, only a dict lookup
        key = (device.type, training, autotune.call_dtype(self, device), torch.get_num_threads())
        if key in known:
            return known[key]
        table = registry.resolve(self.implementation, self.cell, self.hidden_size,
                                 device.type, getattr(self, "reset_after", True), str(key[2]))
        decision = autotune.decide(self, device, self.auto_candidates(), table, batch, steps,
                                   training)
        if decision.source != "table" or batch is not None:  # final for this process
            known[key] = decision.choice
        return decision.choice

    def auto_candidates(self) -> list:
        """The implementations ``auto`` chooses between for this layer."""
        return [registry.NATIVE, "fused"]

    def run_implementation(self, implementation: str, x: Tensor, params: dict):
        """``(output, final state)`` of ``x (T, B, D)`` from a zero state, in ``implementation``
        with the weights ``params`` (a :meth:`forward_parameters`-like dict): what autotuning
        times."""
        state = self._initial_state(None, x.shape[1], x, True)
        if implementation == registry.NATIVE:
            return self._native(x, state, None, params, None)
        return self._stack(x, state, None, implementation, params)

    def _stack(self, x: Tensor, state, lengths: Optional[Tensor], implementation: str,
               params: dict, between=None):
        """Depth × directions around one runner; see the module docstring."""
        runner = registry.runner(implementation, self.cell)
        options, K = self.cell_options(), self.num_directions
        if self.runner_finals:
            options["lengths"] = lengths
        mask = None if lengths is None else padding_mask(lengths, x.shape[0], x.device)
        finals = []  # per row: its final state's tensors, each (B, ...)
        for layer in range(self.num_layers):
            outputs = []
            for direction in range(K):
                row = layer * K + direction
                state0 = tuple(s[row] for s in state) if isinstance(state, tuple) else state[row]
                x_in = reverse_padded(x, lengths) if direction else x  # (T, B, D_in)
                h_all, rest = runner(x_in, state0, *self.weights(layer, direction, params),
                                     **options)
                if self.runner_finals:  # the runner read each sequence's last step itself
                    finals.append(tuple(rest))
                else:  # rest: every step's C_t (T, B, H) for the LSTM, else None
                    finals.append(tuple(last_steps(s, lengths) for s in (h_all, rest)
                                        if s is not None))  # (B, H) each
                outputs.append(reverse_padded(h_all, lengths) if direction else h_all)
            x = torch.cat(outputs, dim=-1) if K == 2 else outputs[0]  # (T, B, K*H)
            if mask is not None:
                x = x.masked_fill(~mask, 0.0)
            if layer < self.num_layers - 1 and between is not None:
                x = between(layer, x)
            elif self.dropout and self.training and layer < self.num_layers - 1:
                x = F.dropout(x, self.dropout, training=True)
        return x, self._state_of([torch.stack(parts) for parts in zip(*finals)])  # (L*K, B, ..)

    def _state_of(self, tensors: list):
        """The state from its stacked tensors ``(L*K, B, ...)``: ``h`` or ``LSTMState(h, c)``."""
        return LSTMState(*tensors) if self.cell == "lstm" else tensors[0]

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}, num_layers={self.num_layers}"
        if self.bidirectional:
            s += ", bidirectional=True"
        if self.dropout:
            s += f", dropout={self.dropout}"
        if self.weight_dropout:
            s += f", weight_dropout={self.weight_dropout}"
        if self.batch_first:
            s += ", batch_first=True"
        return s + f", implementation={self.implementation!r}"


def _map(state, fn):
    if not isinstance(state, tuple):
        return fn(state)
    values = [fn(s) for s in state]
    return type(state)(*values) if hasattr(state, "_fields") else tuple(values)  # NamedTuple
