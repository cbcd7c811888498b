"""Prefix scans of the linear recurrence ``H_t = A_t ⊙ H_{t-1} + B_t`` over time.

When no gate reads ``H_{t-1}`` (minGRU, minLSTM), the gated update is this recurrence with
``A_t``, ``B_t`` known for every step before it starts. Unrolled,

.. math::
    H_t = (A_t ⋯ A_1) ⊙ H_0 + Σ_{s ≤ t} (A_t ⋯ A_{s+1}) ⊙ B_s,

and the pairs ``(A, B)`` compose associatively, ``(A_2, B_2) ∘ (A_1, B_1) = (A_2 A_1,
A_2 B_1 + B_2)``, which is what lets a scan regroup the steps (docs/parallel-scan.md). Three
ways to compute it, one result (tests/layers/test_min_rnn.py holds them to each other):

- :func:`sequential_scan`: the loop, ``T`` steps of ``B·H`` numbers each; autograd's backward.
- :func:`linear_scan`: a chunked (two-level) scan with a hand-written backward. Time is cut into
  ``N`` chunks of ``C ≈ √T`` steps; (1) every chunk runs from a zero state, all chunks at once,
  ``C`` steps of ``N·B·H`` numbers; (2) the state entering each chunk is carried chunk to chunk,
  ``N`` steps of ``B·H``; (3) every chunk reruns from its true entering state, ``C`` steps again.
  ``2C + N ≈ 3√T`` tensor operations instead of ``T``, ``O(T)`` work, only products and sums
  of the recurrence itself (no division, no logarithm: stable in float32 at any ``T``). The
  backward is the same scan run backwards in time (``λ_t = ∂L/∂H_t``):
  ``λ_t = G_t + A_{t+1} ⊙ λ_{t+1}``, then ``∂L/∂B_t = λ_t``, ``∂L/∂A_t = λ_t ⊙ H_{t-1}``,
  ``∂L/∂H_0 = A_1 ⊙ λ_1``.
- :func:`log_space_scan`: Heinsen (2023), "Efficient Parallelization of a Ubiquitous Sequential
  Computation", the scan of Feng et al. (2024): with ``a*_t = Σ_{s≤t} log A_s``,
  ``H_t = e^{a*_t} ⊙ (H_0 + Σ_{s≤t} e^{log B_s - a*_s})``, the sum taken as a cumulative
  log-sum-exp. It needs ``B_t > 0`` (hence the paper's ``g``); ``H_0`` enters linearly here, so
  it may have any sign (the paper takes ``log H_0``). Autograd does its backward.

Shapes: ``A, B (T, ...)`` (time first, any trailing shape, e.g. ``(T, B, H)``), ``H_0 (...)``;
the result is every ``H_t``, ``(T, ...)``.
"""

import math
from typing import Optional

import torch
from torch import Tensor


def chunk_size(steps: int) -> int:
    """``C``: about ``√T``, which makes ``2C + T/C`` (the operations of a scan) near minimal."""
    return max(1, int(math.ceil(math.sqrt(steps))))


def sequential_scan(a: Tensor, b: Tensor, h0: Tensor) -> Tensor:
    """``H_t = A_t ⊙ H_{t-1} + B_t`` for t = 1..T, one step at a time."""
    h, out = h0, []
    for a_t, b_t in zip(a.unbind(0), b.unbind(0)):
        h = a_t * h + b_t  # (...)
        out.append(h)
    return torch.stack(out)  # (T, ...)


def _run(a: Tensor, b: Tensor, h: Tensor, out: Tensor, steps) -> Tensor:
    """``out[k] = h = a[k] h + b[k]`` for ``k`` in ``steps`` (in that order); returns ``h``."""
    for k in steps:
        h = torch.addcmul(b[k], a[k], h, out=out[k])  # (...), written in place
    return h


def chunked_scan(a: Tensor, b: Tensor, h0: Tensor, reverse: bool = False,
                 out: Optional[Tensor] = None) -> Tensor:
    """The chunked scan of :func:`linear_scan`, without autograd: every ``H_t``, forward in
    time or (``reverse``) backward, ``H_t = A_t ⊙ H_{t+1} + B_t`` from ``H_{T+1} = h0``.
    ``a, b (T, ...)`` contiguous; ``out``: where to write the ``(T, ...)`` result."""
    T = a.shape[0]
    out = torch.empty_like(b) if out is None else out  # (T, ...)
    C = chunk_size(T)
    N = T // C  # full chunks; the r = T - N*C steps left over run last, one by one
    r = T - N * C
    full = slice(r, T) if reverse else slice(0, N * C)
    a4 = a[full].view(N, C, *a.shape[1:]).transpose(0, 1)  # (C, N, ...): step k of every chunk
    b4 = b[full].view(N, C, *b.shape[1:]).transpose(0, 1)
    o4 = out[full].view(N, C, *b.shape[1:]).transpose(0, 1)  # views into out
    order = range(C - 1, -1, -1) if reverse else range(C)
    # (1) each chunk from a zero state, all chunks at once: the value it ends on, and its decay
    first, *rest = order
    end, decay = b4[first].clone(), a4[first].clone()  # (N, ...)
    for k in rest:
        torch.addcmul(b4[k], a4[k], end, out=end)  # (N, ...)
        decay.mul_(a4[k])
    # (2) the state entering each chunk, carried from chunk to chunk
    enter = torch.empty_like(end)  # (N, ...)
    h = h0
    for n in (range(N - 1, -1, -1) if reverse else range(N)):
        enter[n] = h
        h = torch.addcmul(end[n], decay[n], h)  # (...)
    # (3) every chunk again, now from its true entering state
    _run(a4, b4, enter, o4, order)
    # the steps left over, continuing from the full chunks' last state
    if r:
        _run(a, b, h, out, range(r - 1, -1, -1) if reverse else range(N * C, T))
    return out


def scan_adjoint(a: Tensor, grad_h: Tensor) -> Tensor:
    """``λ_t = ∂L/∂H_t`` through every later step, from the direct gradients ``G_t = grad_h``:
    ``λ_T = G_T``, ``λ_t = G_t + A_{t+1} ⊙ λ_{t+1}``, the scan run backwards in time. Then
    ``∂L/∂B_t = λ_t``, ``∂L/∂A_t = λ_t ⊙ H_{t-1}`` and ``∂L/∂H_0 = A_1 ⊙ λ_1``."""
    grad_h = grad_h.contiguous()  # (T, ...)
    lam = torch.empty_like(grad_h)  # (T, ...)
    lam[-1] = grad_h[-1]
    if a.shape[0] > 1:
        chunked_scan(a[1:], grad_h[:-1], grad_h[-1], reverse=True, out=lam[:-1])
    return lam


class _LinearScan(torch.autograd.Function):
    """:func:`linear_scan` with its hand-written backward (module docstring)."""

    @staticmethod
    def forward(ctx, a: Tensor, b: Tensor, h0: Tensor) -> Tensor:
        h = chunked_scan(a, b, h0)  # (T, ...)
        ctx.save_for_backward(a, h0, h)
        return h

    @staticmethod
    def backward(ctx, grad_h: Tensor):
        a, h0, h = ctx.saved_tensors
        lam = scan_adjoint(a, grad_h)  # (T, ...)
        grad_a = grad_h0 = None
        if ctx.needs_input_grad[0]:
            grad_a = torch.empty_like(lam)  # ∂L/∂A_t = λ_t ⊙ H_{t-1}
            torch.mul(lam[0], h0, out=grad_a[0])
            torch.mul(lam[1:], h[:-1], out=grad_a[1:])
        if ctx.needs_input_grad[2]:
            grad_h0 = a[0] * lam[0]  # ∂L/∂H_0 = A_1 ⊙ λ_1
        return grad_a, lam, grad_h0  # ∂L/∂B_t = λ_t


def linear_scan(a: Tensor, b: Tensor, h0: Tensor) -> Tensor:
    """Every ``H_t = A_t ⊙ H_{t-1} + B_t``, by the chunked scan (module docstring).

    Args:
        a, b: ``(T, ...)``, same shape and dtype.  h0: ``(...)``, the state before step 1.
    Returns:
        ``(T, ...)``, differentiable in ``a``, ``b`` and ``h0``.
    """
    if a.shape != b.shape or a.shape[1:] != h0.shape:
        raise ValueError(f"expected a and b of one shape (T, ...) and h0 of shape (...), got "
                         f"{tuple(a.shape)}, {tuple(b.shape)} and {tuple(h0.shape)}")
    if a.shape[0] == 0:
        return b.clone()
    a, b = a.contiguous(), b.contiguous()
    h0 = h0.to(b.dtype).expand_as(b[0]).contiguous()
    return _LinearScan.apply(a, b, h0)


def log_space_scan(log_a: Tensor, log_b: Tensor, h0: Optional[Tensor] = None) -> Tensor:
    """Every ``H_t = A_t ⊙ H_{t-1} + B_t`` from ``log A_t`` and ``log B_t`` (Heinsen 2023).

    Args:
        log_a, log_b: ``(T, ...)`` (so ``A_t, B_t > 0``).  h0: ``(...)`` of any sign, or
            ``None`` for zeros.
    """
    a_star = log_a.cumsum(0)  # (T, ...): log(A_t ⋯ A_1)
    h = torch.exp(a_star + torch.logcumsumexp(log_b - a_star, dim=0))  # (T, ...) the B terms
    return h if h0 is None else h + torch.exp(a_star) * h0  # (T, ...)
