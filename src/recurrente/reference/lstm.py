"""LSTM in NumPy, with backpropagation through time written out by hand.

Forward, one step (``sigma`` is the logistic sigmoid, ``*`` the elementwise product; the
gate rows of ``w_ih`` / ``w_hh`` / biases are stacked in torch.nn's order i | f | g | o)::

    A_t   = X_t W_ih^T + b_ih + H_{t-1} W_hh^T + b_hh       # (B, 4H) pre-activations
    I_t   = sigma(A_t[i])                                   # (B, H)  input gate
    F_t   = sigma(A_t[f])                                   # (B, H)  forget gate
    C~_t  = tanh(A_t[g])                                    # (B, H)  candidate cell
    O_t   = sigma(A_t[o])                                   # (B, H)  output gate
    C_t   = F_t * C_{t-1} + I_t * C~_t                      # (B, H)  cell state
    H_t   = O_t * tanh(C_t)                                 # (B, H)  hidden state / output

Backward, one step, walking ``t = T-1, ..., T-k``::

    dH_t    = dh_all[t] + dH_next                           # (B, H)
    dC_t    = dC_next + dH_t * O_t * (1 - tanh(C_t)^2)      # (B, H)
    dO_t    = dH_t * tanh(C_t)                              # (B, H)
    dI_t    = dC_t * C~_t ;  dC~_t = dC_t * I_t ;  dF_t = dC_t * C_{t-1}
    dA_t    = [dI_t I_t(1-I_t), dF_t F_t(1-F_t), dC~_t (1-C~_t^2), dO_t O_t(1-O_t)]  # (B, 4H)
    dX_t    = dA_t W_ih                                     # (B, D)
    dH_next = dA_t W_hh ;  dC_next = dC_t * F_t             # (B, H)  gradients for step t-1
    dW_ih  += dA_t^T X_t ;  dW_hh += dA_t^T H_{t-1} ;  db_ih = db_hh += sum_b dA_t

The state is the tuple ``(H, C)``; its gradient is the tuple ``(dH, dC)``.
"""

import numpy as np

from .rnn import backprop_start, weight_and_bias_grads


def sigmoid(a):
    """Logistic function, computed without overflow warnings for large ``|a|``."""
    return 0.5 * (1.0 + np.tanh(0.5 * a))


def forward(x, state0, params):
    """Run the LSTM over ``x`` (T, B, D) from ``state0 = (h0, c0)``, each (B, H).

    Returns ``(h_all, (h_T, c_T), cache)`` with ``h_all`` (T, B, H) holding every ``H_t``.
    """
    h_t, c_t = state0
    w_hh, b_hh = params["w_hh"], params["b_hh"]
    input_part = x @ params["w_ih"].T + params["b_ih"]      # (T, B, 4H)
    num_steps, hidden = x.shape[0], w_hh.shape[1]
    gates_all = np.empty(input_part.shape, dtype=input_part.dtype)  # (T, B, 4H) I|F|C~|O
    shape_tbh = input_part.shape[:2] + (hidden,)
    h_prev_all, c_prev_all = np.empty(shape_tbh, gates_all.dtype), np.empty(shape_tbh, gates_all.dtype)
    h_all, tanh_c_all = np.empty_like(h_prev_all), np.empty_like(h_prev_all)  # (T, B, H)
    for t in range(num_steps):
        h_prev_all[t], c_prev_all[t] = h_t, c_t
        pre = input_part[t] + h_t @ w_hh.T + b_hh                        # (B, 4H)
        gates = gates_all[t]
        gates[:, :2 * hidden] = sigmoid(pre[:, :2 * hidden])              # I_t, F_t
        gates[:, 2 * hidden:3 * hidden] = np.tanh(pre[:, 2 * hidden:3 * hidden])  # C~_t
        gates[:, 3 * hidden:] = sigmoid(pre[:, 3 * hidden:])              # O_t
        i_t, f_t, g_t, o_t = np.split(gates, 4, axis=1)
        c_t = f_t * c_t + i_t * g_t                                       # (B, H)
        tanh_c_all[t] = np.tanh(c_t)
        h_t = o_t * tanh_c_all[t]                                         # (B, H)
        h_all[t] = h_t
    cache = {"x": x, "h_prev_all": h_prev_all, "c_prev_all": c_prev_all, "gates_all": gates_all,
             "tanh_c_all": tanh_c_all, "params": params}
    return h_all, (h_all[-1], c_t), cache


def _step_backward(dh_t, dc_next, gates, tanh_c, c_prev):
    """One step of the chain rule: returns ``(dA_t (B, 4H), dC_t * F_t (B, H))``."""
    i_t, f_t, g_t, o_t = np.split(gates, 4, axis=1)
    dc_t = dc_next + dh_t * o_t * (1.0 - tanh_c * tanh_c)                # (B, H)
    do_t = dh_t * tanh_c                                                  # (B, H)
    di_t, dg_t, df_t = dc_t * g_t, dc_t * i_t, dc_t * c_prev              # (B, H) each
    da_t = np.concatenate([di_t * i_t * (1.0 - i_t), df_t * f_t * (1.0 - f_t),
                           dg_t * (1.0 - g_t * g_t), do_t * o_t * (1.0 - o_t)], axis=1)  # (B, 4H)
    return da_t, dc_t * f_t


def backward(dh_all, dstate_T, cache, truncate=None):
    """Backpropagate through time.

    ``dh_all`` (T, B, H) is dL/dH_t for every step's output; ``dstate_T = (dh_T, dc_T)`` (either
    may be ``None``, meaning zero; the whole tuple may be ``None`` too) is the gradient of the
    final state, added to the gradient flowing into the last step.
    Returns ``(dx, (dh0, dc0), dparams)``.
    """
    x, gates_all = cache["x"], cache["gates_all"]
    w_ih, w_hh = cache["params"]["w_ih"], cache["params"]["w_hh"]
    num_steps = x.shape[0]
    start = backprop_start(num_steps, truncate)
    dh_T, dc_T = (None, None) if dstate_T is None else dstate_T
    zeros_bh = np.zeros_like(cache["h_prev_all"][0])                      # (B, H)
    dh_next = zeros_bh if dh_T is None else dh_T
    dc_next = zeros_bh if dc_T is None else dc_T
    dx = np.zeros_like(x)                                                 # (T, B, D)
    da_all = np.zeros_like(gates_all)                                     # (T, B, 4H)
    for t in reversed(range(start, num_steps)):
        dh_t = dh_all[t] + dh_next                                        # (B, H)
        da_all[t], dc_next = _step_backward(dh_t, dc_next, gates_all[t],
                                            cache["tanh_c_all"][t], cache["c_prev_all"][t])
        dx[t] = da_all[t] @ w_ih                                          # (B, D)
        dh_next = da_all[t] @ w_hh                                        # (B, H)
    dw_ih, db = weight_and_bias_grads(da_all, x, start)
    dw_hh, _ = weight_and_bias_grads(da_all, cache["h_prev_all"], start)
    if start == 0:
        dstate0 = (dh_next, dc_next)
    else:
        dstate0 = (np.zeros_like(zeros_bh), np.zeros_like(zeros_bh))
    dparams = {"w_ih": dw_ih, "w_hh": dw_hh, "b_ih": db, "b_hh": db.copy()}
    return dx, dstate0, dparams
