"""Fused GRU: one layer, one direction, hand-written BPTT, both published variants.

Forward, for t = 1..T, gates ``r|z|n`` as torch.nn; ``A_t = X_t W_x^T + b_ih`` ``(B, 3H)`` for
all t in one GEMM first, then per step::

    R_t  = σ(a_r + H_{t-1} W_hr^T + b_hr)
    Z_t  = σ(a_z + H_{t-1} W_hz^T + b_hz)
    H~_t = tanh(a_n + R_t ⊙ (H_{t-1} W_hn^T + b_hn))        reset_after=True  (torch.nn, cuDNN)
    H~_t = tanh(a_n + (R_t ⊙ H_{t-1}) W_hn^T + b_hn)        reset_after=False (the course, Cho)
    H_t  = Z_t ⊙ H_{t-1} + (1 - Z_t) ⊙ H~_t

reset_after=True takes one GEMM per step (``H_{t-1} W_h^T`` for all three gates);
reset_after=False needs two (``W_hn`` acts on ``R_t ⊙ H_{t-1}``, known only after ``R_t``).

Backward, ``gH_t`` the loss gradient w.r.t. output ``H_t``, ``dH_t`` the total one (``gH_t``
plus what step t+1 sends back), ``da_·`` w.r.t. the pre-activations::

    da_n      = dH_t ⊙ (1 - Z_t) ⊙ (1 - H~_t²)
    da_z      = dH_t ⊙ (H_{t-1} - H~_t) ⊙ Z_t (1 - Z_t)
    dH_{t-1}  = gH_{t-1} + dH_t ⊙ Z_t
  reset_after=True, with N^h_t = H_{t-1} W_hn^T + b_hn:
    da_r      = da_n ⊙ N^h_t ⊙ R_t (1 - R_t)
    dG_t      = [da_r, da_z, da_n ⊙ R_t]          (gradient of H_{t-1} W_h^T + b_hh)
    dH_{t-1} += dG_t W_h                          one GEMM per step
    dW_h = Σ_t dG_t^T H_{t-1},  db_hh = Σ_t dG_t
  reset_after=False, with RH_t = R_t ⊙ H_{t-1}:
    dRH_t     = da_n W_hn                         first GEMM
    da_r      = dRH_t ⊙ H_{t-1} ⊙ R_t (1 - R_t)
    dH_{t-1} += dRH_t ⊙ R_t + [da_r, da_z] W_h[r,z]  second GEMM
    dW_h[r,z] = Σ_t [da_r, da_z]^T H_{t-1},  dW_hn = Σ_t da_n^T RH_t,  db_hh = Σ_t dA_t
  both:  dA_t = [da_r, da_z, da_n];  dX = dA W_x,  dW_x = Σ_t dA_t^T X_t,  db_ih = Σ_t dA_t

As for the LSTM, the factors multiplying ``dH_t`` (and ``dRH_t``) depend on the forward only
and are computed for a chunk of steps at once (:func:`local_derivatives`), into the buffer that
becomes ``dA``.

Memory kept for backward (besides the inputs and the output ``H_all (T, B, H)``): the activated
gates ``R|Z|H~ (T, B, 3H)`` and one ``(T, B, H)`` buffer, ``N^h`` (reset_after=True) or ``RH``
(reset_after=False). Backward allocates ``dA (T, B, 3H)`` and, for reset_after=True,
``dG (T, B, 3H)``, then ``dX``.
"""

from typing import Optional, Tuple

import torch
from torch import Tensor
from torch.autograd.function import once_differentiable

from recurrente.layers.step_gemm import StepWeight, matmul_dtype, matmul_in
from recurrente.layers.fused_ops import (add_biases, bias_grads, first_grad, weight_grad,
                                     input_grads, needs_autograd, one_minus_square, output_grad,
                                     previous_steps, project_inputs, recurrent_weight_grad,
                                     sigmoid_grad_times, step_views, time_chunks)


def gru_forward(x2d: Tensor, h0: Tensor, w_ih: Tensor, w_hh: Tensor, b_ih: Optional[Tensor],
                b_hh: Optional[Tensor], T: int, B: int, reset_after: bool, keep: bool):
    """``(H_all, gates R|Z|H~, kept)``; ``kept`` is ``N^h`` or ``RH`` (T, B, H) if ``keep``."""
    H = h0.shape[1]
    if reset_after:  # b_hn sits inside R_t ⊙ (...): it stays with the per-step product
        gates = project_inputs(x2d, w_ih, b_ih, T, B)  # (T, B, 3H): X_t W_x^T + b_ih
    else:  # every bias is additive: fold both into the input projection
        gates = project_inputs(x2d, w_ih, add_biases(b_ih, b_hh), T, B)  # (T, B, 3H)
    R_s, Z_s, N_s = (v.unbind(0) for v in gates.view(T, B, 3, H).unbind(2))  # (B, H) views
    RZ_s = gates[:, :, :2 * H].unbind(0)  # T views (B, 2H): R and Z, side by side
    H_all = gates.new_empty(T, B, H)  # (T, B, H)
    kept = gates.new_empty(T, B, H) if keep else None  # (T, B, H): N^h_t or RH_t
    H_s, kept_s = H_all.unbind(0), step_views(kept)
    scratch = gates.new_empty(B, 3 * H if reset_after else H)  # (B, 3H) or (B, H)
    if reset_after:
        w = StepWeight(w_hh, B, T)  # H_{t-1} W_h^T, all three gates
    else:
        w_rz, w_n = StepWeight(w_hh[:2 * H], B, T), StepWeight(w_hh[2 * H:], B, T)
    h = h0  # (B, H)
    for t in range(T):
        if reset_after:
            g = w.product(h, bias=b_hh, out=scratch)  # (B, 3H): H_{t-1} W_h^T + b_hh
            RZ_s[t].add_(g[:, :2 * H]).sigmoid_()  # R_t, Z_t
            n_h = kept_s[t].copy_(g[:, 2 * H:]) if keep else g[:, 2 * H:]  # (B, H): N^h_t
            N_s[t].addcmul_(R_s[t], n_h).tanh_()  # H~_t
        else:
            torch.sigmoid(w_rz.plus(RZ_s[t], h), out=RZ_s[t])  # R_t, Z_t
            rh = torch.mul(R_s[t], h, out=kept_s[t] if keep else scratch)  # (B, H): RH_t
            torch.tanh(w_n.plus(N_s[t], rh), out=N_s[t])  # H~_t
        n = N_s[t]
        h = torch.sub(h, n, out=H_s[t]).mul_(Z_s[t]).add_(n)  # H_t = H~ + Z (H_{t-1} - H~)
    return H_all, gates, kept


def local_derivatives(gates: Tensor, H_prev: Tensor, kept: Tensor, reset_after: bool,
                      one: Tensor, out: Tensor) -> None:
    """The factors of BPTT that depend on the forward only, for a chunk of n steps.

    Writes ``K (n, B, 3H)`` into ``out``: ``[∂H_t/∂a_r, ∂H_t/∂a_z, ∂H_t/∂a_n]`` for
    reset_after=True (so ``dA_t = dH_t ⊙ K_t``), ``[∂RH_t/∂a_r, ∂H_t/∂a_z, ∂H_t/∂a_n]`` for
    reset_after=False (``da_r = dRH_t ⊙ K_r``). gates ``(n, B, 3H)``, others ``(n, B, H)``.
    """
    n, B, H = H_prev.shape
    R, Z, N = gates.view(n, B, 3, H).unbind(2)  # (n, B, H) views each
    K_r, K_z, K_n = out.view(n, B, 3, H).unbind(2)  # (n, B, H) views each
    one_minus_square(N, one, out=K_n).addcmul_(K_n, Z, value=-1.0)  # (1 - H~²)(1 - Z_t)
    sigmoid_grad_times(Z, torch.sub(H_prev, N, out=K_z), out=K_z)  # (H_{t-1} - H~_t) σ'(a_z)
    if reset_after:
        sigmoid_grad_times(R, torch.mul(K_n, kept, out=K_r), out=K_r)  # ∂H/∂a_n N^h_t σ'(a_r)
    else:
        sigmoid_grad_times(R, H_prev, out=K_r)  # H_{t-1} σ'(a_r)


def gru_backward(needs, gH: Optional[Tensor], x2d: Tensor, h0: Tensor, w_ih: Tensor,
                 w_hh: Tensor, gates: Tensor, H_all: Tensor, kept: Tensor, reset_after: bool):
    """Gradients for ``(x, h0, w_ih, w_hh, b_ih, b_hh)``; ``needs`` flags them in order."""
    T, B, H = H_all.shape
    R_all, Z_all, _ = gates.view(T, B, 3, H).unbind(2)  # (T, B, H) views each
    R_s, Z_s, gH_s = R_all.unbind(0), Z_all.unbind(0), step_views(gH)
    dA = torch.empty_like(gates)  # (T, B, 3H): K, then [da_r, da_z, da_n], chunk by chunk
    dA4 = dA.view(T, B, 3, H)
    one = gates.new_ones(())  # 0-dim 1, for 1 - y²
    dh = first_grad(gH_s, H_all)  # (B, H): dH_T
    dG = torch.empty_like(gates) if reset_after else None  # (T, B, 3H): dG_t for every t
    if reset_after:
        w = StepWeight(w_hh.t(), B, T)  # dG_t W_h
        dG_s, dG4 = dG.unbind(0), dG.view(T, B, 3, H)
    else:
        w_rz, w_n = StepWeight(w_hh[:2 * H].t(), B, T), StepWeight(w_hh[2 * H:].t(), B, T)
        dRZ_s = dA[:, :, :2 * H].unbind(0)  # T views (B, 2H): da_r, da_z
        drh = torch.empty_like(h0)  # (B, H): dRH_t
    for t0, t1 in time_chunks(T):
        local_derivatives(gates[t0:t1], previous_steps(H_all, h0, t0, t1), kept[t0:t1],
                          reset_after, one, out=dA[t0:t1])
        if reset_after:  # factors of dG: those of dA, times R_t on the n block
            dG4[t0:t1, :, :2].copy_(dA4[t0:t1, :, :2])
            torch.mul(dA4[t0:t1, :, 2], R_all[t0:t1], out=dG4[t0:t1, :, 2])
        for t in range(t1 - 1, t0 - 1, -1):
            d = dA4[t]  # (B, 3, H)
            if reset_after:
                d.mul_(dh.unsqueeze(1))  # da_r, da_z, da_n
                dG4[t].mul_(dh.unsqueeze(1))  # dG_t = [da_r, da_z, da_n ⊙ R_t]
            else:
                d[:, 1:].mul_(dh.unsqueeze(1))  # da_z, da_n
                drh = w_n.product(d[:, 2], out=drh)  # dRH_t = da_n W_hn
                d[:, 0].mul_(drh)  # da_r
            g_h = output_grad(gH_s, t - 1)  # (B, H) or None
            if g_h is None:
                dh.mul_(Z_s[t])  # dH_{t-1} = dH_t ⊙ Z_t
            else:
                torch.addcmul(g_h, dh, Z_s[t], out=dh)  # dH_{t-1} = gH_{t-1} + dH_t ⊙ Z_t
            if reset_after:
                dh = w.product(dG_s[t], add=dh, out=dh)  # ... + dG_t W_h
            else:
                dh.addcmul_(drh, R_s[t])  # ... + dRH_t ⊙ R_t
                dh = w_rz.product(dRZ_s[t], add=dh, out=dh)  # ... + [da_r, da_z] W_h[r,z]
    dx, dw_ih = input_grads(needs[0], needs[2], dA, x2d, w_ih)
    dw_hh = None
    if needs[3] and reset_after:
        dw_hh = recurrent_weight_grad(dG, H_all, h0)  # (3H, H)
    elif needs[3]:
        dA_n = dA[:, :, 2 * H:].reshape(T * B, H)  # (T*B, H), a view
        dw_hh = torch.cat([recurrent_weight_grad(dA[:, :, :2 * H], H_all, h0),  # (2H, H)
                           weight_grad(dA_n, kept.view(T * B, H))])  # (3H, H)
    db_ih, db_hh = bias_grads(needs[4], needs[5], dA, dG)
    return dx, (dh if needs[1] else None), dw_ih, dw_hh, db_ih, db_hh


class FusedGRU(torch.autograd.Function):
    """``(x, h0, w_ih, w_hh, b_ih, b_hh, reset_after) -> H_all``; see the module docstring."""

    @staticmethod
    def forward(ctx, x, h0, w_ih, w_hh, b_ih, b_hh, reset_after):
        T, B, D = x.shape
        x2d = x.reshape(T * B, D)  # (T*B, D), a view when x is contiguous
        H_all, gates, kept = gru_forward(x2d, h0, w_ih, w_hh, b_ih, b_hh, T, B, reset_after,
                                         keep=True)
        ctx.save_for_backward(x2d, h0, w_ih, w_hh, gates, H_all, kept)
        ctx.reset_after = reset_after
        ctx.set_materialize_grads(False)
        ctx.matmul_dtype = matmul_dtype()  # backward's products in forward's precision
        return H_all

    @staticmethod
    @once_differentiable
    def backward(ctx, gH):
        if gH is None:
            return (None,) * 7
        with matmul_in(ctx.matmul_dtype):
            grads = gru_backward(ctx.needs_input_grad, gH, *ctx.saved_tensors, ctx.reset_after)
        return grads + (None,)


def gru_runner(x: Tensor, h0: Tensor, w_ih: Tensor, w_hh: Tensor, b_ih: Optional[Tensor],
               b_hh: Optional[Tensor], reset_after: bool = True) -> Tuple[Tensor, None]:
    """The ``fused`` runner for the GRU: ``(H_all (T, B, H), None)``."""
    if needs_autograd(x, h0, w_ih, w_hh, b_ih, b_hh):
        return FusedGRU.apply(x, h0, w_ih, w_hh, b_ih, b_hh, bool(reset_after)), None
    T, B, D = x.shape
    H_all, _, _ = gru_forward(x.reshape(T * B, D), h0, w_ih, w_hh, b_ih, b_hh, T, B,
                              bool(reset_after), keep=False)
    return H_all, None
