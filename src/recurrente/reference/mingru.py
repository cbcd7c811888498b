"""minGRU (Feng et al. 2024) in NumPy, with backpropagation through time written out by hand.

Forward, one step (the gates read ``X_t`` only; ``g`` is the paper's candidate activation,
``g(v) = v + 1/2`` for ``v >= 0`` and ``σ(v)`` below)::

    [a_z | a_h] = X_t W_ih^T + b_ih                        # (B, 2H), all steps in one product
    Z_t  = σ(a_z)                                          # (B, H)  update gate
    H~_t = g(a_h)                                          # (B, H)  candidate
    H_t  = (1 - Z_t) * H_{t-1} + Z_t * H~_t                # (B, H)

Backward, one step, walking ``t = T-1, ..., T-k``::

    dH_t    = dh_all[t] + dH_next                          # (B, H)
    da_z    = dH_t * (H~_t - H_{t-1}) * Z_t (1 - Z_t)      # σ' through Z_t
    da_h    = dH_t * Z_t * g'(a_h)                         # g'(v) = 1 (v >= 0), σ(v)(1 - σ(v))
    dH_next = dH_t * (1 - Z_t)                             # the only path to H_{t-1}: no W_hh
    dX_t    = [da_z | da_h] W_ih ;  dW_ih += dA_t^T X_t ;  db_ih += sum_b dA_t

Because no gate reads ``H_{t-1}``, the state's gradient is carried by an elementwise product
alone, ``dH_{t-1} = dH_t ⊙ (1 - Z_t)``: the same linear recurrence, backwards, that the
parallel scan computes. Parameters: ``w_ih`` (2H, D), rows ``z | n``, and ``b_ih`` (2H,);
there is no ``w_hh`` or ``b_hh``.
"""

import numpy as np

from .rnn import backprop_start, weight_and_bias_grads


def _sigmoid(v):
    return 0.5 * (1.0 + np.tanh(0.5 * v))  # σ(v), without overflow for large |v|


def _g(v):
    return np.where(v >= 0, v + 0.5, _sigmoid(v))


def _g_derivative(v):
    s = _sigmoid(v)
    return np.where(v >= 0, 1.0, s * (1.0 - s))


def forward(x, h0, params):
    """Run minGRU over ``x`` (T, B, D) from ``h0`` (B, H).

    Returns ``(h_all, h_T, cache)``: every step's ``H_t`` (T, B, H), the final state (B, H) and
    what :func:`backward` needs.
    """
    pre = x @ params["w_ih"].T + params["b_ih"]              # (T, B, 2H)
    H = pre.shape[-1] // 2
    a_z, a_h = pre[..., :H], pre[..., H:]                   # (T, B, H) each
    z_all, n_all = _sigmoid(a_z), _g(a_h)                   # Z_t, H~_t
    h_prev_all = np.empty(z_all.shape, dtype=pre.dtype)     # (T, B, H) H_{t-1}
    h_all = np.empty_like(h_prev_all)                       # (T, B, H) H_t
    h_t = h0
    for t in range(x.shape[0]):
        h_prev_all[t] = h_t
        h_t = (1.0 - z_all[t]) * h_t + z_all[t] * n_all[t]  # (B, H)
        h_all[t] = h_t
    cache = {"x": x, "a_h": a_h, "z_all": z_all, "n_all": n_all, "h_prev_all": h_prev_all,
             "params": params}
    return h_all, h_all[-1], cache


def backward(dh_all, dh_T, cache, truncate=None):
    """Backpropagate through time (see the module docstring); ``dh_T`` may be ``None``.

    Returns ``(dx, dh0, {"w_ih": ..., "b_ih": ...})``.
    """
    x, z_all, n_all = cache["x"], cache["z_all"], cache["n_all"]
    h_prev_all, w_ih = cache["h_prev_all"], cache["params"]["w_ih"]
    num_steps, H = x.shape[0], z_all.shape[-1]
    start = backprop_start(num_steps, truncate)
    dg_all = _g_derivative(cache["a_h"])                    # (T, B, H) g'(a_h)
    da_all = np.zeros(z_all.shape[:2] + (2 * H,), dtype=z_all.dtype)  # (T, B, 2H)
    dh_next = np.zeros_like(z_all[0]) if dh_T is None else dh_T   # (B, H)
    for t in reversed(range(start, num_steps)):
        dh_t = dh_all[t] + dh_next                                             # (B, H)
        z_t = z_all[t]
        da_all[t, :, :H] = dh_t * (n_all[t] - h_prev_all[t]) * z_t * (1.0 - z_t)  # da_z
        da_all[t, :, H:] = dh_t * z_t * dg_all[t]                              # da_h
        dh_next = dh_t * (1.0 - z_t)                                           # dH_{t-1}
    dx = da_all @ w_ih                                                         # (T, B, D)
    dw_ih, db_ih = weight_and_bias_grads(da_all, x, start)
    dh0 = dh_next if start == 0 else np.zeros_like(dh_next)
    return dx, dh0, {"w_ih": dw_ih, "b_ih": db_ih}
