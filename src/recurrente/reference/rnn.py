"""Vanilla (Elman) RNN in NumPy, with backpropagation through time written out by hand.

Forward, one step (``act`` is ``tanh`` or ``relu``)::

    A_t = X_t W_ih^T + b_ih + H_{t-1} W_hh^T + b_hh        # (B, H)  pre-activation
    H_t = act(A_t)                                         # (B, H)

Backward, one step, walking ``t = T-1, ..., T-k`` (``dH_t`` collects the gradient from the loss
at step ``t`` and the gradient coming back from step ``t+1``)::

    dH_t     = dh_all[t] + dH_next                         # (B, H)
    dA_t     = dH_t * act'(A_t)                            # tanh: 1 - H_t^2, relu: [H_t > 0]
    dX_t     = dA_t W_ih                                   # (B, D)
    dH_next  = dA_t W_hh                                   # (B, H)   gradient for H_{t-1}
    dW_ih   += dA_t^T X_t ;  dW_hh += dA_t^T H_{t-1} ;  db_ih = db_hh += sum_b dA_t

Parameters follow ``torch.nn.RNN`` for one layer and one direction: ``w_ih`` (H, D),
``w_hh`` (H, H), ``b_ih`` (H,), ``b_hh`` (H,).
"""

import numpy as np

NONLINEARITIES = ("tanh", "relu")


def backprop_start(num_steps, truncate):
    """First time index that receives gradient: ``T - k`` for ``truncate=k``, 0 for ``None``.

    Shared by the three cells; see the package docstring for the truncation semantics.
    """
    if truncate is None:
        return 0
    if not 1 <= int(truncate) <= num_steps:
        raise ValueError(f"truncate must be None or in [1, {num_steps}], got {truncate}")
    return num_steps - int(truncate)


def weight_and_bias_grads(da_all, layer_inputs, start):
    """``sum_t dA_t^T In_t`` and ``sum_{t,b} dA_t`` over the steps ``start..T-1``."""
    da_used = da_all[start:]                                        # (k, B, GH)
    dweight = np.einsum("tbg,tbi->gi", da_used, layer_inputs[start:])  # (GH, In)
    dbias = da_used.sum(axis=(0, 1))                                # (GH,)
    return dweight, dbias


def _activate(pre_activation, nonlinearity):
    if nonlinearity == "tanh":
        return np.tanh(pre_activation)
    return np.maximum(pre_activation, 0.0)


def _activation_derivative(h_t, nonlinearity):
    """``act'(A_t)`` expressed through the output ``H_t = act(A_t)``."""
    if nonlinearity == "tanh":
        return 1.0 - h_t * h_t
    return (h_t > 0).astype(h_t.dtype)


def forward(x, h0, params, nonlinearity="tanh"):
    """Run the RNN over ``x`` (T, B, D) from ``h0`` (B, H).

    Returns ``(h_all, h_T, cache)``: every step's output ``H_t`` (T, B, H), the final state
    ``H_T`` (B, H) (the same array as ``h_all[-1]``) and what :func:`backward` needs.
    """
    if nonlinearity not in NONLINEARITIES:
        raise ValueError(f"nonlinearity must be one of {NONLINEARITIES}, got {nonlinearity!r}")
    w_hh, b_hh = params["w_hh"], params["b_hh"]
    input_part = x @ params["w_ih"].T + params["b_ih"]      # (T, B, H)  X_t W_ih^T + b_ih
    num_steps = x.shape[0]
    h_prev_all = np.empty(input_part.shape, dtype=input_part.dtype)  # (T, B, H) H_{t-1}
    h_all = np.empty_like(h_prev_all)                        # (T, B, H) H_t
    h_t = h0
    for t in range(num_steps):
        h_prev_all[t] = h_t
        h_t = _activate(input_part[t] + h_t @ w_hh.T + b_hh, nonlinearity)  # (B, H)
        h_all[t] = h_t
    cache = {"x": x, "h_prev_all": h_prev_all, "h_all": h_all,
             "params": params, "nonlinearity": nonlinearity}
    return h_all, h_all[-1], cache


def backward(dh_all, dh_T, cache, truncate=None):
    """Backpropagate through time.

    ``dh_all`` (T, B, H) is dL/dH_t for every step's output; ``dh_T`` (B, H) or ``None`` is
    dL/dH_T for the final state, added to the gradient flowing into the last step.
    Returns ``(dx, dh0, dparams)`` with ``dparams`` keyed like ``params``.
    """
    x, h_prev_all, h_all = cache["x"], cache["h_prev_all"], cache["h_all"]
    w_ih, w_hh = cache["params"]["w_ih"], cache["params"]["w_hh"]
    num_steps = x.shape[0]
    start = backprop_start(num_steps, truncate)
    dx = np.zeros_like(x)                                    # (T, B, D)
    da_all = np.zeros_like(h_all)                            # (T, B, H)  dA_t
    dh_next = np.zeros_like(h_all[0]) if dh_T is None else dh_T   # (B, H)
    for t in reversed(range(start, num_steps)):
        dh_t = dh_all[t] + dh_next                                            # (B, H)
        da_all[t] = dh_t * _activation_derivative(h_all[t], cache["nonlinearity"])  # (B, H)
        dx[t] = da_all[t] @ w_ih                                              # (B, D)
        dh_next = da_all[t] @ w_hh                                            # (B, H)
    dw_ih, db = weight_and_bias_grads(da_all, x, start)
    dw_hh, _ = weight_and_bias_grads(da_all, h_prev_all, start)
    dh0 = dh_next if start == 0 else np.zeros_like(dh_next)
    dparams = {"w_ih": dw_ih, "w_hh": dw_hh, "b_ih": db, "b_hh": db.copy()}
    return dx, dh0, dparams
