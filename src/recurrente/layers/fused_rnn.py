"""Fused Elman RNN: one layer, one direction, hand-written BPTT.

Forward, for t = 1..T (φ = tanh or relu)::

    A_t = X_t W_xh^T + b_ih + b_hh + H_{t-1} W_hh^T        pre-activation      (B, H)
    H_t = φ(A_t)

Backward, with ``gH_t`` the loss gradient w.r.t. output ``H_t`` and ``dH_t`` the total one
(``gH_t`` plus what step t+1 sends back)::

    dA_t     = dH_t ⊙ φ'(A_t)           tanh: 1 - H_t²      relu: [H_t > 0]
    dH_{t-1} = gH_{t-1} + dA_t W_hh     one GEMM per step
    dX = dA W_xh,  dW_xh = Σ_t dA_t^T X_t,  dW_hh = Σ_t dA_t^T H_{t-1},  db_ih = db_hh = Σ_t dA_t

Memory kept for backward: nothing beyond the inputs and the output ``H_all (T, B, H)``, which
*is* the forward's pre-activation buffer with φ applied in place (φ' is read back from ``H_t``).
Backward allocates ``dA (T, B, H)``, then ``dX``.
"""

from typing import Optional, Tuple

import torch
from torch import Tensor
from torch.autograd.function import once_differentiable

from recurrente.layers.step_gemm import StepWeight, matmul_dtype, matmul_in
from recurrente.layers.fused_ops import (add_biases, bias_grads, first_grad,
                                     input_grads, needs_autograd, one_minus_square, output_grad,
                                     project_inputs, recurrent_weight_grad, step_views)


def rnn_forward(x2d: Tensor, h0: Tensor, w_ih: Tensor, w_hh: Tensor, bias: Optional[Tensor],
                T: int, B: int, relu: bool) -> Tensor:
    """Every ``H_t``, ``(T, B, H)``; ``x2d`` is ``X`` as ``(T*B, D)``, ``h0`` is ``(B, H)``."""
    A = project_inputs(x2d, w_ih, bias, T, B)  # (T, B, H): X_t W_xh^T + b, becomes H_all
    w = StepWeight(w_hh, B, T)  # H_{t-1} W_hh^T
    h = h0  # (B, H)
    for a in A.unbind(0):  # a: (B, H)
        pre = w.plus(a, h)  # (B, H): A_t
        h = torch.clamp_min(pre, 0.0, out=a) if relu else torch.tanh(pre, out=a)  # (B, H): H_t
    return A


def rnn_backward(needs, gH: Tensor, x2d: Tensor, h0: Tensor, w_ih: Tensor, w_hh: Tensor,
                 H_all: Tensor, relu: bool):
    """Gradients for ``(x, h0, w_ih, w_hh, b_ih, b_hh)``, ``needs`` flags them in that order."""
    T, B, _ = H_all.shape
    dA = torch.empty_like(H_all)  # (T, B, H): dA_t for every t
    dA_s, H_s, gH_s = dA.unbind(0), H_all.unbind(0), step_views(gH)
    one = H_all.new_ones(())  # 0-dim 1, for 1 - H_t²
    w = StepWeight(w_hh.t(), B, T)  # dA_t W_hh
    dh = first_grad(gH_s, H_all)  # (B, H): dH_T
    for t in range(T - 1, -1, -1):
        if relu:
            torch.sign(H_s[t], out=dA_s[t])  # H_t >= 0, so sign(H_t) = [H_t > 0]
        else:
            one_minus_square(H_s[t], one, out=dA_s[t])  # 1 - H_t²
        dA_s[t].mul_(dh)  # dA_t = dH_t ⊙ φ'(A_t)
        dh = w.product(dA_s[t], add=output_grad(gH_s, t - 1), out=dh)  # (B, H): dH_{t-1}
    dx, dw_ih = input_grads(needs[0], needs[2], dA, x2d, w_ih)
    dw_hh = recurrent_weight_grad(dA, H_all, h0) if needs[3] else None  # (H, H)
    db_ih, db_hh = bias_grads(needs[4], needs[5], dA)
    return dx, (dh if needs[1] else None), dw_ih, dw_hh, db_ih, db_hh


class FusedRNN(torch.autograd.Function):
    """``(x, h0, w_ih, w_hh, b_ih, b_hh, relu) -> H_all``; see the module docstring."""

    @staticmethod
    def forward(ctx, x, h0, w_ih, w_hh, b_ih, b_hh, relu):
        T, B, D = x.shape
        x2d = x.reshape(T * B, D)  # (T*B, D), a view when x is contiguous
        H_all = rnn_forward(x2d, h0, w_ih, w_hh, add_biases(b_ih, b_hh), T, B, relu)
        ctx.save_for_backward(x2d, h0, w_ih, w_hh, H_all)
        ctx.relu = relu
        ctx.set_materialize_grads(False)
        ctx.matmul_dtype = matmul_dtype()  # backward's products in forward's precision
        return H_all

    @staticmethod
    @once_differentiable
    def backward(ctx, gH):
        if gH is None:
            return (None,) * 7
        x2d, h0, w_ih, w_hh, H_all = ctx.saved_tensors
        with matmul_in(ctx.matmul_dtype):
            grads = rnn_backward(ctx.needs_input_grad, gH, x2d, h0, w_ih, w_hh, H_all, ctx.relu)
        return grads + (None,)


def rnn_runner(x: Tensor, h0: Tensor, w_ih: Tensor, w_hh: Tensor, b_ih: Optional[Tensor],
               b_hh: Optional[Tensor], nonlinearity: str = "tanh") -> Tuple[Tensor, None]:
    """The ``fused`` runner for the Elman RNN: ``(H_all (T, B, H), None)``.

    Example::

        >>> x, h0 = torch.randn(5, 3, 4), torch.zeros(3, 8)
        >>> w_ih, w_hh = torch.randn(8, 4), torch.randn(8, 8)
        >>> H_all, _ = rnn_runner(x, h0, w_ih, w_hh, None, None, nonlinearity="relu")  # (5, 3, 8)
    """
    relu = nonlinearity == "relu"
    if needs_autograd(x, h0, w_ih, w_hh, b_ih, b_hh):
        return FusedRNN.apply(x, h0, w_ih, w_hh, b_ih, b_hh, relu), None
    T, B, D = x.shape
    H_all = rnn_forward(x.reshape(T * B, D), h0, w_ih, w_hh, add_biases(b_ih, b_hh), T, B, relu)
    return H_all, None
