"""The implementations of minGRU and minLSTM: one layer, one direction, every step's ``H_t``.

Runners as :mod:`recurrente.layers.registry` defines them, ``runner(x (T, B, D), h0 (B, H),
w_ih, w_hh, b_ih, b_hh) -> (H_all (T, B, H), None)``, with ``w_hh = b_hh = None`` (the cells have
none). Three per cell, one function, held to each other in float64 by tests/layers/test_min_rnn.py:

- ``scratch``: the cell of :mod:`recurrente.cells.min_rnn` stepped ``T`` times, one line per
  equation; autograd does BPTT. The reference, and the step-by-step form.
- ``parallel``: one GEMM for the gates of every step, the gates turned into the coefficients of
  ``H_t = A_t ⊙ H_{t-1} + B_t``, then the chunked scan (:func:`~recurrente.layers.scan.
  chunked_scan`); the backward of gates and scan together is written by hand (``_MinScan``).
  The fast one; ``auto`` picks it.
- ``logspace``: the paper's own algorithm: ``log A_t`` and ``log B_t`` from the gates, then
  Heinsen's log-space scan (:func:`~recurrente.layers.scan.log_space_scan`).

Under autocast (``--precision bf16``) the GEMM runs in low precision and the scan in float32.
"""

from typing import Optional, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor

from recurrente.cells.min_rnn import g, log_g, mingru_cell, minlstm_cell
from recurrente.layers.scan import chunked_scan, log_space_scan, scan_adjoint

Steps = Tuple[Tensor, Optional[Tensor]]  # (H_1..H_T (T, B, H), None)
LOW = (torch.float16, torch.bfloat16)


def _no_recurrent_weights(w_hh, b_hh) -> None:
    assert w_hh is None and b_hh is None, "minGRU and minLSTM have no W_hh"


def _gates(x: Tensor, w_ih: Tensor, b_ih: Optional[Tensor], parts: int):
    """``X_t W_ih^T + b`` for every step at once, split into its ``parts`` blocks."""
    return _gate_matrix(x, w_ih, b_ih).chunk(parts, dim=-1)  # G tensors (T, B, H)


# -- scratch: the step, T times ----------------------------------------------------------------
def _unrolled(cell, x: Tensor, h0: Tensor, w_ih, w_hh, b_ih, b_hh) -> Steps:
    """``cell`` stepped over ``x (T, B, D)`` from ``H_0 (B, H)``: every ``H_t``."""
    _no_recurrent_weights(w_hh, b_hh)
    h, hs = h0, []
    for x_t in x.unbind(0):  # x_t: (B, D)
        h = cell(x_t, h, w_ih, b_ih)  # (B, H)
        hs.append(h)
    return torch.stack(hs), None  # (T, B, H)


def mingru_scratch(x: Tensor, h0: Tensor, w_ih, w_hh=None, b_ih=None, b_hh=None) -> Steps:
    """minGRU unrolled over ``x (T, B, D)`` from ``H_0 (B, H)``."""
    return _unrolled(mingru_cell, x, h0, w_ih, w_hh, b_ih, b_hh)


def minlstm_scratch(x: Tensor, h0: Tensor, w_ih, w_hh=None, b_ih=None, b_hh=None) -> Steps:
    """minLSTM unrolled over ``x (T, B, D)`` from ``H_0 (B, H)``."""
    return _unrolled(minlstm_cell, x, h0, w_ih, w_hh, b_ih, b_hh)


# -- parallel: gates for all steps, then the chunked scan ----------------------------------------
def _g_fast(v: Tensor) -> Tensor:
    """:func:`~recurrente.cells.min_rnn.g`, bit for bit, in two passes and no ``where``:
    ``σ(min(v, 0)) + max(v, 0)`` (``σ(0) = 1/2`` exactly)."""
    return v.clamp(max=0).sigmoid_().add_(v.clamp(min=0))


def _g_prime(v: Tensor, g_v: Tensor) -> Tensor:
    """``g'(v)``: 1 for ``v >= 0``, ``σ'(v) = g(v)(1 - g(v))`` below."""
    return torch.rsub(g_v, 1).mul_(g_v).masked_fill_(v >= 0, 1.0)


class _MinScan(torch.autograd.Function):
    """``(gates (T, B, G*H), H_0 (B, H)) -> H (T, B, H)`` for both cells, backward by hand.

    Both updates have the form ``H_t = A_t ⊙ H_{t-1} + (1 - A_t) ⊙ H~_t`` with ``H~_t = g(k_h)``
    (the last block of the gates); only ``A_t`` differs: minGRU ``A_t = 1 - Z_t = σ(-k_z)``,
    minLSTM ``A_t = F'_t = σ(u)``, ``u = log F_t - log I_t = softplus(-k_i) - softplus(-k_f)``.
    With ``λ_t = ∂L/∂H_t`` from the scan's adjoint and ``w_t = λ_t ⊙ (H_{t-1} - H~_t) ⊙ A_t ⊙
    (1 - A_t)`` (the gradient of ``A_t``'s pre-activation)::

        minGRU:   ∂L/∂k_z = -w                 minLSTM:  ∂L/∂k_i = -w ⊙ (1 - I_t) ,
                                                         ∂L/∂k_f =  w ⊙ (1 - F_t)
        both:     ∂L/∂k_h = λ ⊙ (1 - A) ⊙ g'(k_h) ,    ∂L/∂H_0 = A_1 ⊙ λ_1

    Written into one ``(T, B, G*H)`` buffer, the gradient the GEMM's backward takes. On a CPU a
    fresh ``T·B·H`` buffer costs about as much as the arithmetic on it (the kernel maps and
    zeroes every page), so each buffer is written in place: the forward makes three (``A``,
    ``H~``, and ``B``, which the scan overwrites with ``H``), the backward two (``λ``, the
    gradient), where autograd over the same formulas made a dozen.
    """

    @staticmethod
    def forward(ctx, gates: Tensor, h0: Tensor, cell: str):
        *k_a, k_h = gates.chunk(GATES[cell], dim=-1)  # (T, B, H) each, strided views
        a = torch.empty_like(k_h, memory_format=torch.contiguous_format)  # (T, B, H)
        if cell == "mingru":
            torch.neg(k_a[0], out=a).sigmoid_()  # A_t = 1 - Z_t = σ(-k_z)
        else:  # A_t = F'_t = σ(softplus(-k_i) - softplus(-k_f))
            torch.neg(k_a[1], out=a)
            a.copy_(F.softplus(-k_a[0]).sub_(F.softplus(a))).sigmoid_()
        h_tilde, b = torch.empty_like(a), torch.empty_like(a)
        torch.clamp(k_h, max=0, out=h_tilde).sigmoid_()  # H~_t = σ(min(k, 0)) + max(k, 0)
        h_tilde.add_(torch.clamp(k_h, min=0, out=b))
        torch.addcmul(h_tilde, a, h_tilde, value=-1, out=b)  # B_t = (1 - A_t) ⊙ H~_t
        h = chunked_scan(a, b, h0, out=b)  # (T, B, H), in B's place
        ctx.cell = cell
        ctx.save_for_backward(gates, h0, a, h_tilde, h)
        return h

    @staticmethod
    def backward(ctx, grad_h: Tensor):
        gates, h0, a, h_tilde, h = ctx.saved_tensors
        lam = scan_adjoint(a, grad_h)  # (T, B, H)
        grad_h0 = a[0] * lam[0]
        grad = torch.empty_like(gates)  # (T, B, G*H)
        *d_a, d_h = grad.chunk(GATES[ctx.cell], dim=-1)  # views
        *k_a, k_h = gates.chunk(GATES[ctx.cell], dim=-1)
        w = d_a[0]  # (T, B, H): w_t, then (minLSTM) ∂L/∂k_i
        torch.sub(h[:-1], h_tilde[1:], out=w[1:])  # H_{t-1} - H~_t
        torch.sub(h0, h_tilde[0], out=w[0])
        w.mul_(lam).mul_(a)
        torch.addcmul(w, w, a, value=-1, out=w)  # ⊙ (1 - A_t)
        if ctx.cell == "mingru":
            w.neg_()
        else:
            torch.neg(k_a[1], out=d_a[1]).sigmoid_().mul_(w)  # w ⊙ (1 - F_t), 1 - F = σ(-k_f)
            torch.neg(k_a[0], out=d_h).sigmoid_()  # 1 - I_t, in a slot not yet used
            w.mul_(d_h).neg_()
        lam.addcmul_(lam, a, value=-1)  # λ ⊙ (1 - A_t)
        torch.addcmul(h_tilde, h_tilde, h_tilde, value=-1, out=d_h)  # σ' = H~ (1 - H~), k < 0
        d_h.masked_fill_(k_h >= 0, 1.0).mul_(lam)  # g'(k) = 1 for k >= 0
        return grad, grad_h0, None


GATES = {"mingru": 2, "minlstm": 3}


def _gate_matrix(x: Tensor, w_ih: Tensor, b_ih: Optional[Tensor]) -> Tensor:
    gates = F.linear(x, w_ih, b_ih)  # (T, B, G*H): one GEMM over all steps
    return gates.float() if gates.dtype in LOW else gates


def mingru_parallel(x: Tensor, h0: Tensor, w_ih, w_hh=None, b_ih=None, b_hh=None) -> Steps:
    """``A_t = 1 - Z_t``, ``B_t = Z_t ⊙ H~_t`` for all steps, then the scan."""
    _no_recurrent_weights(w_hh, b_hh)
    gates = _gate_matrix(x, w_ih, b_ih)  # (T, B, 2H)
    return _MinScan.apply(gates, h0.to(gates.dtype).contiguous(), "mingru"), None


def _minlstm_log_gates(x_i: Tensor, x_f: Tensor) -> Tuple[Tensor, Tensor]:
    """``log F'_t`` and ``log I'_t``, the normalised gates in log space (no ``0/0`` however far
    the pre-activations go): with ``δ = log I_t - log F_t = softplus(-x_f) - softplus(-x_i)``,
    ``F'_t = 1 / (1 + e^δ) = σ(-δ)`` and ``I'_t = σ(δ)``."""
    delta = F.softplus(-x_f) - F.softplus(-x_i)  # (T, B, H)
    return -F.softplus(delta), -F.softplus(-delta)


def minlstm_parallel(x: Tensor, h0: Tensor, w_ih, w_hh=None, b_ih=None, b_hh=None) -> Steps:
    """``A_t = F'_t``, ``B_t = I'_t ⊙ H~_t`` for all steps, then the scan."""
    _no_recurrent_weights(w_hh, b_hh)
    gates = _gate_matrix(x, w_ih, b_ih)  # (T, B, 3H)
    return _MinScan.apply(gates, h0.to(gates.dtype).contiguous(), "minlstm"), None


# -- logspace: the paper's algorithm -------------------------------------------------------------
def mingru_logspace(x: Tensor, h0: Tensor, w_ih, w_hh=None, b_ih=None, b_hh=None) -> Steps:
    """``log A_t = log(1 - Z_t) = -softplus(k)``, ``log B_t = log Z_t + log H~_t``."""
    _no_recurrent_weights(w_hh, b_hh)
    x_z, x_h = _gates(x, w_ih, b_ih, 2)  # (T, B, H) each
    log_b = -F.softplus(-x_z) + log_g(x_h)  # (T, B, H)
    return log_space_scan(-F.softplus(x_z), log_b, h0.to(log_b.dtype)), None


def minlstm_logspace(x: Tensor, h0: Tensor, w_ih, w_hh=None, b_ih=None, b_hh=None) -> Steps:
    """``log A_t = log F'_t``, ``log B_t = log I'_t + log H~_t``."""
    _no_recurrent_weights(w_hh, b_hh)
    x_i, x_f, x_h = _gates(x, w_ih, b_ih, 3)  # (T, B, H) each
    log_f, log_i = _minlstm_log_gates(x_i, x_f)
    return log_space_scan(log_f, log_i + log_g(x_h), h0.to(log_f.dtype)), None
