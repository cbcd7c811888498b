"""Finite-difference check of the hand-written backward passes.

The check draws a random *linear* loss of the outputs,

    L = sum_t <G_t, H_t> + <G_T, final state>        (for the LSTM: + <G_T^c, C_T>)

with every ``G`` drawn from ``numpy.random.default_rng(seed)``, so that ``dL/dH_t = G_t`` and
``dL/d(final state) = G_T`` feed the module's ``backward`` directly.  The analytic gradients are
compared with central differences, ``(L(a + eps) - L(a - eps)) / (2 eps)`` per entry, and the
result for each tensor is the relative error

    rel_err = max_j |a_j - n_j| / max(1e-12, max_j (|a_j| + |n_j|))

where ``a`` is the analytic and ``n`` the numerical gradient.  In float64 with ``eps=1e-6`` a
correct backward gives errors around 1e-9 or below.
"""

from typing import Callable, NamedTuple

import numpy as np

from . import gru, lstm, mingru, rnn


class CellSpec(NamedTuple):
    """How to run one reference cell: its forward, its backward and the forward's options."""

    forward: Callable
    backward: Callable
    kwargs: dict


CELLS = {
    "rnn_tanh": CellSpec(rnn.forward, rnn.backward, {"nonlinearity": "tanh"}),
    "rnn_relu": CellSpec(rnn.forward, rnn.backward, {"nonlinearity": "relu"}),
    "lstm": CellSpec(lstm.forward, lstm.backward, {}),
    "gru": CellSpec(gru.forward, gru.backward, {"reset_after": True}),
    "gru_reset_before": CellSpec(gru.forward, gru.backward, {"reset_after": False}),
    "mingru": CellSpec(mingru.forward, mingru.backward, {}),
}


def numerical_gradient(f, array, eps=1e-6):
    """Central-difference gradient of the scalar ``f()`` with respect to ``array``.

    ``f`` takes no arguments and must read ``array``; each entry is perturbed in place by
    ``+eps`` and ``-eps`` and then restored to its exact original value.
    """
    grad = np.zeros(array.shape, dtype=np.float64)
    for index in np.ndindex(array.shape):
        original = array[index]
        array[index] = original + eps
        loss_plus = f()
        array[index] = original - eps
        loss_minus = f()
        array[index] = original
        grad[index] = (loss_plus - loss_minus) / (2.0 * eps)
    return grad


def relative_error(analytic, numerical):
    """``max|a - n| / max(1e-12, max(|a| + |n|))`` (see the module docstring)."""
    analytic, numerical = np.asarray(analytic), np.asarray(numerical)
    scale = max(1e-12, float(np.max(np.abs(analytic) + np.abs(numerical))))
    return float(np.max(np.abs(analytic - numerical))) / scale


def _as_state_tuple(state):
    return tuple(state) if isinstance(state, (tuple, list)) else (state,)


def _from_state_tuple(states, like):
    return tuple(states) if isinstance(like, (tuple, list)) else states[0]


def gradcheck(cell, x, state0, params, seed=0, eps=1e-6, **cell_kwargs):
    """Compare ``backward`` with finite differences for the cell named ``cell`` (see ``CELLS``).

    ``state0`` is ``h0`` or, for ``"lstm"``, ``(h0, c0)``.  Inputs are copied, never modified.
    Extra keyword arguments override the forward options of the registry entry.
    Returns ``{"x": err, "h0": err, ["c0": err,] "w_ih": err, "w_hh": err, "b_ih": err,
    "b_hh": err}`` with ``err`` the relative error defined in the module docstring.
    """
    spec = CELLS[cell]
    options = {**spec.kwargs, **cell_kwargs}
    x = np.array(x, copy=True)
    states = [np.array(s, copy=True) for s in _as_state_tuple(state0)]
    params = {name: np.array(value, copy=True) for name, value in params.items()}

    def run_forward():
        return spec.forward(x, _from_state_tuple(states, state0), params, **options)

    h_all, final_state, cache = run_forward()
    rng = np.random.default_rng(seed)
    g_outputs = rng.standard_normal(h_all.shape)                        # (T, B, H)
    g_final = [rng.standard_normal(s.shape) for s in _as_state_tuple(final_state)]

    def loss():
        outputs, final, _ = run_forward()
        total = np.sum(g_outputs * outputs)
        return total + sum(np.sum(g * s) for g, s in zip(g_final, _as_state_tuple(final)))

    dx, dstate0, dparams = spec.backward(g_outputs, _from_state_tuple(g_final, final_state), cache)
    state_names = ["h0", "c0"][:len(states)]
    analytic = {"x": dx, **dict(zip(state_names, _as_state_tuple(dstate0))), **dparams}
    arrays = {"x": x, **dict(zip(state_names, states)), **params}
    return {name: relative_error(analytic[name], numerical_gradient(loss, arrays[name], eps))
            for name in analytic}
