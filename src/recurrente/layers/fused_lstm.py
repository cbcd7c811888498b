"""Fused LSTM: one layer, one direction, hand-written BPTT (after jcjohnson/torch-rnn's LSTM).

Forward, for t = 1..T, with the pre-activations ``A_t = [a_i | a_f | a_g | a_o]`` ``(B, 4H)``::

    A_t  = X_t W_x^T + b_ih + b_hh + H_{t-1} W_h^T    (the X part of all steps in one GEMM)
    I_t  = σ(a_i)    F_t = σ(a_f)    C~_t = tanh(a_g)    O_t = σ(a_o)     in place in A_t
    C_t  = F_t ⊙ C_{t-1} + I_t ⊙ C~_t
    H_t  = O_t ⊙ tanh(C_t)

Backward, with ``gH_t``, ``gC_t`` the loss gradients w.r.t. the outputs ``H_t``, ``C_t`` and
``dH_t``, ``dC_t`` the total ones (the output's plus what step t+1 sends back)::

    dC_t     = dC_t + dH_t ⊙ O_t ⊙ (1 - tanh²(C_t))
    da_o     = dH_t ⊙ tanh(C_t) ⊙ O_t (1 - O_t)
    da_i     = dC_t ⊙ C~_t ⊙ I_t (1 - I_t)
    da_f     = dC_t ⊙ C_{t-1} ⊙ F_t (1 - F_t)
    da_g     = dC_t ⊙ I_t ⊙ (1 - C~_t²)
    dC_{t-1} = gC_{t-1} + dC_t ⊙ F_t
    dH_{t-1} = gH_{t-1} + dA_t W_h                     one GEMM per step
    dX = dA W_x,  dW_x = Σ_t dA_t^T X_t,  dW_h = Σ_t dA_t^T H_{t-1},  db_ih = db_hh = Σ_t dA_t

Every factor that multiplies ``dC_t`` or ``dH_t`` above depends on the forward only: it is
computed for a chunk of steps at once (:func:`local_derivatives`), straight into the buffer that
then becomes ``dA``; the loop is left with two products by ``dC_t`` and ``dH_t``, the update of
``dC`` and the GEMM.

Memory kept for backward, besides the inputs and the outputs ``H_all``, ``C_all`` ``(T, B, H)``
(which the caller holds anyway): the activated gates ``I|F|C~|O`` ``(T, B, 4H)``, nothing else;
``tanh(C_t)`` is recomputed. Backward allocates ``dA (T, B, 4H)``, then ``dX``.
"""

from typing import Optional, Tuple

import torch
from torch import Tensor
from torch.autograd.function import once_differentiable

from recurrente.layers.step_gemm import StepWeight, matmul_dtype, matmul_in
from recurrente.layers.fused_ops import (add_biases, bias_grads, first_grad,
                                     input_grads, needs_autograd, one_minus_square, output_grad,
                                     previous_steps, project_inputs, recurrent_weight_grad,
                                     sigmoid_grad_times, step_views, time_chunks)


def lstm_forward(x2d: Tensor, h0: Tensor, c0: Tensor, w_ih: Tensor, w_hh: Tensor,
                 bias: Optional[Tensor], T: int, B: int) -> Tuple[Tensor, Tensor, Tensor]:
    """``(H_all, C_all, gates)``; ``x2d`` is ``X`` as ``(T*B, D)``; gates are ``I|F|C~|O``."""
    H = h0.shape[1]
    gates = project_inputs(x2d, w_ih, bias, T, B)  # (T, B, 4H): X_t W_x^T + b, then A_t
    A_s = gates.unbind(0)  # T views (B, 4H)
    I_s, F_s, G_s, O_s = (v.unbind(0) for v in gates.view(T, B, 4, H).unbind(2))  # (B, H)
    IF_s = gates[:, :, :2 * H].unbind(0)  # T views (B, 2H): I and F, side by side
    H_all = gates.new_empty(T, B, H)  # (T, B, H)
    C_all = gates.new_empty(T, B, H)  # (T, B, H)
    H_s, C_s = H_all.unbind(0), C_all.unbind(0)
    w = StepWeight(w_hh, B, T)  # H_{t-1} W_h^T
    h, c = h0, c0  # (B, H) each
    for t in range(T):
        a = w.plus(A_s[t], h)  # (B, 4H): A_t
        torch.sigmoid(a[:, :2 * H], out=IF_s[t])  # I_t, F_t
        torch.tanh(a[:, 2 * H:3 * H], out=G_s[t])  # C~_t
        torch.sigmoid(a[:, 3 * H:], out=O_s[t])  # O_t
        c = torch.mul(F_s[t], c, out=C_s[t]).addcmul_(I_s[t], G_s[t])  # (B, H): C_t
        h = torch.tanh(c, out=H_s[t]).mul_(O_s[t])  # (B, H): H_t
    return H_all, C_all, gates


def local_derivatives(gates: Tensor, C: Tensor, C_prev: Tensor, one: Tensor,
                      out: Tensor) -> Tensor:
    """The factors of BPTT that depend on the forward only, for a chunk of n steps.

    Writes ``K = [∂C_t/∂a_i, ∂C_t/∂a_f, ∂C_t/∂a_g, ∂H_t/∂a_o]`` into ``out (n, B, 4H)``, so
    that ``dA_t = [dC_t, dC_t, dC_t, dH_t] ⊙ K_t``, and returns ``∂H_t/∂C_t (n, B, H)``.
    gates ``(n, B, 4H)`` activated, C and C_prev ``(n, B, H)``.
    """
    n, B, H = C.shape
    I, F, G, O = gates.view(n, B, 4, H).unbind(2)  # (n, B, H) views each
    K_i, K_f, K_g, K_o = out.view(n, B, 4, H).unbind(2)  # (n, B, H) views each
    tanh_c = torch.tanh(C)  # (n, B, H)
    sigmoid_grad_times(I, G, out=K_i)  # C~_t σ'(a_i)
    sigmoid_grad_times(F, C_prev, out=K_f)  # C_{t-1} σ'(a_f)
    one_minus_square(G, one, out=K_g).mul_(I)  # I_t tanh'(a_g)
    sigmoid_grad_times(O, tanh_c, out=K_o)  # tanh(C_t) σ'(a_o)
    return one_minus_square(tanh_c, one, out=tanh_c).mul_(O)  # O_t (1 - tanh²(C_t))


def lstm_backward(needs, gH: Optional[Tensor], gC: Optional[Tensor], x2d: Tensor, h0: Tensor,
                  c0: Tensor, w_ih: Tensor, w_hh: Tensor, gates: Tensor, H_all: Tensor,
                  C_all: Tensor):
    """Gradients for ``(x, h0, c0, w_ih, w_hh, b_ih, b_hh)``; ``needs`` flags them in order."""
    T, B, H = H_all.shape
    F_s = gates.view(T, B, 4, H)[:, :, 1].unbind(0)  # T views (B, H): F_t
    dA = torch.empty_like(gates)  # (T, B, 4H): K, then dA_t, chunk by chunk
    dA_s = dA.unbind(0)  # T views (B, 4H)
    dIFG_s = dA.view(T, B, 4, H)[:, :, :3].unbind(0)  # T views (B, 3, H): da_i, da_f, da_g
    dO_s = dA.view(T, B, 4, H)[:, :, 3].unbind(0)  # T views (B, H): da_o
    gH_s, gC_s = step_views(gH), step_views(gC)
    one = gates.new_ones(())  # 0-dim 1, for 1 - y²
    w = StepWeight(w_hh.t(), B, T)  # dA_t W_h
    dh, dc = first_grad(gH_s, H_all), first_grad(gC_s, C_all)  # (B, H) each: dH_T, dC_T
    for t0, t1 in time_chunks(T):
        dH_dC = local_derivatives(gates[t0:t1], C_all[t0:t1], previous_steps(C_all, c0, t0, t1),
                                  one, out=dA[t0:t1]).unbind(0)  # t1-t0 views (B, H)
        for t in range(t1 - 1, t0 - 1, -1):
            dc.addcmul_(dh, dH_dC[t - t0])  # (B, H): total dC_t
            dIFG_s[t].mul_(dc.unsqueeze(1))  # da_i, da_f, da_g
            dO_s[t].mul_(dh)  # da_o
            dh = w.product(dA_s[t], add=output_grad(gH_s, t - 1), out=dh)  # (B, H): dH_{t-1}
            g_c = output_grad(gC_s, t - 1)  # (B, H) or None
            if g_c is None:
                dc.mul_(F_s[t])  # dC_{t-1} = dC_t ⊙ F_t
            else:
                torch.addcmul(g_c, dc, F_s[t], out=dc)  # dC_{t-1} = gC_{t-1} + dC_t ⊙ F_t
    dx, dw_ih = input_grads(needs[0], needs[3], dA, x2d, w_ih)
    dw_hh = recurrent_weight_grad(dA, H_all, h0) if needs[4] else None  # (4H, H)
    db_ih, db_hh = bias_grads(needs[5], needs[6], dA)
    return (dx, dh if needs[1] else None, dc if needs[2] else None, dw_ih, dw_hh, db_ih, db_hh)


class FusedLSTM(torch.autograd.Function):
    """``(x, h0, c0, w_ih, w_hh, b_ih, b_hh) -> (H_all, C_all)``; see the module docstring."""

    @staticmethod
    def forward(ctx, x, h0, c0, w_ih, w_hh, b_ih, b_hh):
        T, B, D = x.shape
        x2d = x.reshape(T * B, D)  # (T*B, D), a view when x is contiguous
        H_all, C_all, gates = lstm_forward(x2d, h0, c0, w_ih, w_hh, add_biases(b_ih, b_hh), T, B)
        ctx.save_for_backward(x2d, h0, c0, w_ih, w_hh, gates, H_all, C_all)
        ctx.set_materialize_grads(False)
        ctx.matmul_dtype = matmul_dtype()  # backward's products in forward's precision
        return H_all, C_all

    @staticmethod
    @once_differentiable
    def backward(ctx, gH, gC):
        if gH is None and gC is None:
            return (None,) * 7
        with matmul_in(ctx.matmul_dtype):
            return lstm_backward(ctx.needs_input_grad, gH, gC, *ctx.saved_tensors)


def lstm_runner(x: Tensor, state0: Tuple[Tensor, Tensor], w_ih: Tensor, w_hh: Tensor,
                b_ih: Optional[Tensor], b_hh: Optional[Tensor]) -> Tuple[Tensor, Tensor]:
    """The ``fused`` runner for the LSTM: ``(H_all (T, B, H), C_all (T, B, H))``."""
    h0, c0 = state0
    if needs_autograd(x, h0, c0, w_ih, w_hh, b_ih, b_hh):
        return FusedLSTM.apply(x, h0, c0, w_ih, w_hh, b_ih, b_hh)
    T, B, D = x.shape
    H_all, C_all, _ = lstm_forward(x.reshape(T * B, D), h0, c0, w_ih, w_hh,
                                   add_biases(b_ih, b_hh), T, B)
    return H_all, C_all
