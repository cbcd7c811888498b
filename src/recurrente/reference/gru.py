"""GRU in NumPy, both reset placements, with backpropagation through time written out by hand.

Gate rows of ``w_ih`` / ``w_hh`` / biases are stacked in torch.nn's order r | z | n; write
``W_hr``, ``W_hz``, ``W_hn`` for the three (H, H) blocks of ``w_hh`` and likewise for the rest.

Forward, one step, ``reset_after=True`` (torch.nn.GRU)::

    R_t  = sigma(X_t W_ir^T + b_ir + H_{t-1} W_hr^T + b_hr)             # (B, H) reset gate
    Z_t  = sigma(X_t W_iz^T + b_iz + H_{t-1} W_hz^T + b_hz)             # (B, H) update gate
    H~_t = tanh(X_t W_in^T + b_in + R_t * (H_{t-1} W_hn^T + b_hn))      # (B, H) candidate
    H_t  = (1 - Z_t) * H~_t + Z_t * H_{t-1}                             # (B, H)

``reset_after=False`` (Cho et al. 2014, the course's form; ``b_in + b_hn`` is its ``b_h``)::

    H~_t = tanh(X_t W_in^T + b_in + (R_t * H_{t-1}) W_hn^T + b_hn)

Write ``M_t`` for what multiplies ``W_hn^T``: ``H_{t-1}`` (reset after) or ``R_t * H_{t-1}``
(reset before), and ``S_t = H_{t-1} W_hn^T + b_hn`` (reset after only).
Backward, one step, walking ``t = T-1, ..., T-k``::

    dH_t   = dh_all[t] + dH_next                                        # (B, H)
    dH~_t  = dH_t * (1 - Z_t) ;  dZ_t = dH_t * (H_{t-1} - H~_t)         # (B, H)
    dAn_t  = dH~_t * (1 - H~_t^2)                   # (B, H) gradient of tanh's argument
    dAz_t  = dZ_t * Z_t * (1 - Z_t)                                     # (B, H)
    reset after:   dSn_t = dAn_t * R_t ;  dR_t = dAn_t * S_t            # (B, H)
    reset before:  dSn_t = dAn_t ;  dM_t = dAn_t W_hn ;  dR_t = dM_t * H_{t-1}
    dAr_t  = dR_t * R_t * (1 - R_t)                                     # (B, H)
    dX_t   = [dAr_t, dAz_t, dAn_t] W_ih                                 # (B, D)
    reset after:   dH_next = dH_t * Z_t + [dAr_t, dAz_t, dSn_t] W_hh
    reset before:  dH_next = dH_t * Z_t + [dAr_t, dAz_t] [W_hr; W_hz] + dM_t * R_t
    dW_ih += [dAr, dAz, dAn]^T X_t ;  db_ih += sum_b [dAr, dAz, dAn]
    dW_hh += [dAr^T H_{t-1}; dAz^T H_{t-1}; dSn^T M_t] ;  db_hh += sum_b [dAr, dAz, dSn]
"""

import numpy as np

from .lstm import sigmoid
from .rnn import backprop_start, weight_and_bias_grads


def _candidate_and_gates(input_part_t, h_prev, w_hh, b_hh, reset_after):
    """One forward step's gates: returns ``(R_t, Z_t, H~_t, S_t or None, M_t)``."""
    hidden = h_prev.shape[1]
    x_r, x_z, x_n = np.split(input_part_t, 3, axis=1)                   # (B, H) each
    hidden_rz = h_prev @ w_hh[:2 * hidden].T + b_hh[:2 * hidden]         # (B, 2H)
    r_t = sigmoid(x_r + hidden_rz[:, :hidden])                           # (B, H)
    z_t = sigmoid(x_z + hidden_rz[:, hidden:])                           # (B, H)
    w_hn, b_hn = w_hh[2 * hidden:], b_hh[2 * hidden:]
    if reset_after:
        s_t = h_prev @ w_hn.T + b_hn                                     # (B, H)
        return r_t, z_t, np.tanh(x_n + r_t * s_t), s_t, h_prev
    m_t = r_t * h_prev                                                   # (B, H)
    return r_t, z_t, np.tanh(x_n + m_t @ w_hn.T + b_hn), None, m_t


def forward(x, h0, params, reset_after=True):
    """Run the GRU over ``x`` (T, B, D) from ``h0`` (B, H).

    Returns ``(h_all, h_T, cache)``: every ``H_t`` (T, B, H), the final state ``H_T`` (B, H)
    and what :func:`backward` needs.
    """
    w_hh, b_hh = params["w_hh"], params["b_hh"]
    input_part = x @ params["w_ih"].T + params["b_ih"]                 # (T, B, 3H)
    num_steps = x.shape[0]
    shape_tbh = input_part.shape[:2] + (w_hh.shape[1],)
    names = ("r", "z", "n", "s", "m", "h_prev", "h")
    saved = {name: np.zeros(shape_tbh, dtype=input_part.dtype) for name in names}  # (T, B, H)
    h_t = h0
    for t in range(num_steps):
        r_t, z_t, n_t, s_t, m_t = _candidate_and_gates(input_part[t], h_t, w_hh, b_hh, reset_after)
        saved["h_prev"][t], saved["r"][t], saved["z"][t], saved["n"][t] = h_t, r_t, z_t, n_t
        saved["m"][t] = m_t
        if s_t is not None:
            saved["s"][t] = s_t
        h_t = (1.0 - z_t) * n_t + z_t * h_t                              # (B, H)
        saved["h"][t] = h_t
    cache = {"x": x, "params": params, "reset_after": reset_after, **saved}
    return saved["h"], saved["h"][-1], cache


def _step_backward(dh_t, t, cache):
    """Chain rule for step ``t``: returns ``(dA_x (B, 3H), dA_h (B, 3H), dH_{t-1} (B, H))``.

    ``dA_x`` is the gradient of the input-side sums ``X_t W_i*^T + b_i*``, ``dA_h`` that of the
    hidden-side sums ``[H W_hr^T + b_hr, H W_hz^T + b_hz, S_t or M_t W_hn^T + b_hn]``.
    """
    w_hh = cache["params"]["w_hh"]
    hidden = dh_t.shape[1]
    r_t, z_t, n_t, h_prev = cache["r"][t], cache["z"][t], cache["n"][t], cache["h_prev"][t]
    dn_t = dh_t * (1.0 - z_t)                                            # (B, H) dH~_t
    dz_t = dh_t * (h_prev - n_t)                                         # (B, H)
    dan_t = dn_t * (1.0 - n_t * n_t)                                     # (B, H)
    daz_t = dz_t * z_t * (1.0 - z_t)                                     # (B, H)
    dh_prev = dh_t * z_t                                                 # (B, H)
    if cache["reset_after"]:
        dsn_t = dan_t * r_t                                              # (B, H)
        dr_t = dan_t * cache["s"][t]                                     # (B, H)
    else:
        dsn_t = dan_t                                                    # (B, H)
        dm_t = dan_t @ w_hh[2 * hidden:]                                 # (B, H)
        dr_t = dm_t * h_prev                                             # (B, H)
        dh_prev = dh_prev + dm_t * r_t                                   # (B, H)
    dar_t = dr_t * r_t * (1.0 - r_t)                                     # (B, H)
    da_x = np.concatenate([dar_t, daz_t, dan_t], axis=1)                 # (B, 3H)
    da_h = np.concatenate([dar_t, daz_t, dsn_t], axis=1)                 # (B, 3H)
    if cache["reset_after"]:
        dh_prev = dh_prev + da_h @ w_hh                                  # (B, H)
    else:
        dh_prev = dh_prev + da_h[:, :2 * hidden] @ w_hh[:2 * hidden]     # (B, H)
    return da_x, da_h, dh_prev


def backward(dh_all, dh_T, cache, truncate=None):
    """Backpropagate through time.

    ``dh_all`` (T, B, H) is dL/dH_t for every step's output; ``dh_T`` (B, H) or ``None`` is
    dL/dH_T for the final state, added to the gradient flowing into the last step.
    Returns ``(dx, dh0, dparams)`` with ``dparams`` keyed like ``params``.
    """
    x, w_ih = cache["x"], cache["params"]["w_ih"]
    num_steps, hidden = x.shape[0], cache["h"].shape[2]
    start = backprop_start(num_steps, truncate)
    dx = np.zeros_like(x)                                                # (T, B, D)
    da_x_all = np.zeros(cache["h"].shape[:2] + (3 * hidden,), dtype=cache["h"].dtype)  # (T, B, 3H)
    da_h_all = np.zeros_like(da_x_all)                                   # (T, B, 3H)
    dh_next = np.zeros_like(cache["h"][0]) if dh_T is None else dh_T     # (B, H)
    for t in reversed(range(start, num_steps)):
        dh_t = dh_all[t] + dh_next                                       # (B, H)
        da_x_all[t], da_h_all[t], dh_next = _step_backward(dh_t, t, cache)
        dx[t] = da_x_all[t] @ w_ih                                       # (B, D)
    dw_ih, db_ih = weight_and_bias_grads(da_x_all, x, start)
    dw_hh_rz, _ = weight_and_bias_grads(da_h_all[..., :2 * hidden], cache["h_prev"], start)
    dw_hh_n, _ = weight_and_bias_grads(da_h_all[..., 2 * hidden:], cache["m"], start)
    db_hh = da_h_all[start:].sum(axis=(0, 1))                            # (3H,)
    dh0 = dh_next if start == 0 else np.zeros_like(dh_next)
    dparams = {"w_ih": dw_ih, "w_hh": np.concatenate([dw_hh_rz, dw_hh_n], axis=0),
               "b_ih": db_ih, "b_hh": db_hh}
    return dx, dh0, dparams
