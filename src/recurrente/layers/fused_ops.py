"""The ``fused`` implementation: hand-written BPTT, few and large matrix products.

Each cell (:mod:`~recurrente.layers.fused_rnn`, :mod:`~recurrente.layers.fused_lstm`,
:mod:`~recurrente.layers.fused_gru`) is one :class:`torch.autograd.Function` over a whole
sequence, one layer, one direction, built on the same plan (``A_t`` are the pre-activations of
step t, ``G`` gates, ``dA_t`` the loss gradient w.r.t. ``A_t``)::

  forward
    A = X W_x^T + b                (T*B, D) @ (D, G*H): ONE GEMM for the input part of all steps
    for t = 1..T:
        A_t += H_{t-1} W_h^T       (B, H) @ (H, G*H): one GEMM per step, in place in A
        gate nonlinearities in place in A_t; C_t, H_t into preallocated (T, B, H) outputs
  backward
    for each chunk of TIME_CHUNK steps, last chunk first:
        K = ∂(H_t, C_t)/∂A_t       for the chunk's steps at once, into the buffer that becomes dA
        for t in the chunk, backwards:
            dA_t = dH_t ⊙ K_t      (and dC_t for the LSTM): a few in-place products
            dH_{t-1} = gH_{t-1} + dA_t W_h        one GEMM per step (gH: gradient of output t-1)
    dX   = dA W_x                  (T*B, G*H) @ (G*H, D)
    dW_x = dA^T X                  (G*H, T*B) @ (T*B, D)
    dW_h = dA^T [H_0 .. H_{T-1}]   (G*H, T*B) @ (T*B, H)
    db   = Σ_{t,b} dA_t

Only ``K_t`` needs the forward's values, so it is computed a chunk at a time: a few large
pointwise operations per chunk instead of a dozen small ones per step, on data that is still in
cache (vectorising over all T steps at once was measured slower: each pass then streams the
whole ``(T, B, 4H)`` buffer through memory). The per-step loops touch only views of
preallocated buffers; the allocations left are one chunk-sized temporary per chunk and, on the
packed path below, the GEMM's output. Under ``torch.no_grad()`` or when nothing requires grad
the runners skip the Function and keep only what the forward itself needs.

The per-step GEMM packs its weight once per forward / backward instead of at every step, with
oneDNN or MKL on CPU (:mod:`recurrente.layers.step_gemm`, which also runs the large GEMMs).
Everything else is device-agnostic PyTorch (CPU or CUDA, float32 or float64).

This module holds what the three cells share; :mod:`recurrente.layers.fused` gathers their
runners for the registry.
"""

from typing import Optional, Sequence

import torch
from torch import Tensor

from recurrente.layers.step_gemm import linear, matmul_dtype

TIME_CHUNK = 8  # steps whose local derivatives are computed together in backward


def needs_autograd(*tensors: Optional[Tensor]) -> bool:
    """Whether a graph must be recorded: grad mode is on and some input requires grad."""
    if not torch.is_grad_enabled():
        return False
    return any(t is not None and t.requires_grad for t in tensors)


def add_biases(b_ih: Optional[Tensor], b_hh: Optional[Tensor]) -> Optional[Tensor]:
    """``b_ih + b_hh`` (they only ever appear summed in RNN and LSTM), or ``None``."""
    if b_ih is None:
        return b_hh
    return b_ih if b_hh is None else b_ih + b_hh  # (G*H,)


def project_inputs(x2d: Tensor, w_ih: Tensor, bias: Optional[Tensor], T: int, B: int) -> Tensor:
    """``X W_x^T + b`` for all steps in ONE GEMM, into a fresh buffer ``(T, B, G*H)``."""
    return linear(x2d, w_ih, bias).view(T, B, -1)  # (T, B, G*H)


def step_views(x: Optional[Tensor]) -> Optional[Sequence[Tensor]]:
    """``x (T, ...)`` as T views ``x[t]``, made in one call (``None`` stays ``None``)."""
    return None if x is None else x.unbind(0)


def first_grad(grads: Optional[Sequence[Tensor]], like: Tensor) -> Tensor:
    """The output gradient of the last step in a fresh ``(B, H)`` buffer (zeros if ``None``)."""
    if grads is None:
        return torch.zeros_like(like[-1])  # (B, H)
    return grads[-1].clone(memory_format=torch.contiguous_format)  # (B, H)


def output_grad(grads: Optional[Sequence[Tensor]], t: int) -> Optional[Tensor]:
    """The loss gradient w.r.t. output step ``t``: ``None`` if absent, and for ``t = -1``."""
    return grads[t] if grads is not None and t >= 0 else None


def sigmoid_grad_times(s: Tensor, k: Tensor, out: Tensor) -> Tensor:
    """``out = k ⊙ s ⊙ (1 - s)``: σ'(a) = s (1 - s) for ``s = σ(a)``; ``out`` may alias ``k``."""
    torch.mul(s, k, out=out)  # k s
    return out.addcmul_(out, s, value=-1.0)  # k s - k s s


def time_chunks(T: int):
    """``(t0, t1)`` ranges of ``TIME_CHUNK`` steps covering ``0..T-1``, the last one first."""
    size = TIME_CHUNK
    for t1 in range(T, 0, -size):
        yield max(t1 - size, 0), t1


def previous_steps(steps: Tensor, first: Tensor, t0: int, t1: int) -> Tensor:
    """``[S_{t0-1} .. S_{t1-2}]`` ``(t1-t0, B, H)`` from ``steps (T, B, H)``, ``S_{-1} = first``."""
    if t0 > 0:
        return steps[t0 - 1:t1 - 1]  # a view
    return torch.cat([first.unsqueeze(0), steps[:t1 - 1]])  # (t1, B, H)


def one_minus_square(y: Tensor, one: Tensor, out: Tensor) -> Tensor:
    """``out = 1 - y²``, tanh'(a) for ``y = tanh(a)``; ``one`` is a 0-dim tensor holding 1."""
    return torch.addcmul(one, y, y, value=-1.0, out=out)


def recurrent_weight_grad(dA: Tensor, H_all: Tensor, h0: Tensor) -> Tensor:
    """``dW_h = Σ_t dA_t^T H_{t-1}`` with ``H_{t-1}`` taken from ``[h0, H_1 .. H_{T-1}]``.

    dA ``(T, B, G*H)`` (any row stride), H_all ``(T, B, H)``, h0 ``(B, H)``; two GEMMs over
    views, no concatenated copy of the previous states.
    """
    T, B, GH = dA.shape
    H = H_all.shape[-1]
    low = matmul_dtype()
    if low is not None:  # bfloat16 products, each rounded to it, summed in float32
        out = torch.mm(dA[0].t().to(low), h0.to(low)).float()  # (G*H, H)
        if T > 1:
            out += torch.mm(dA[1:].reshape(-1, GH).t().to(low), H_all[:-1].reshape(-1, H).to(low))
        return out
    out = torch.mm(dA[0].t(), h0)  # (G*H, H)
    if T > 1:
        out.addmm_(dA[1:].reshape(-1, GH).t(), H_all[:-1].reshape(-1, H))
    return out


def weight_grad(dA2d: Tensor, x2d: Tensor) -> Tensor:
    """``dW = dA^T X`` ``(G*H, D)`` from ``dA (T*B, G*H)`` and ``X (T*B, D)``: one GEMM, in
    bfloat16 inside :func:`~recurrente.layers.step_gemm.matmul_in` (a float32 result)."""
    low = matmul_dtype()
    if low is not None:
        return torch.mm(dA2d.t().to(low), x2d.to(low)).float()
    return torch.mm(dA2d.t(), x2d)


def input_grads(need_x: bool, need_w: bool, dA: Tensor, x2d: Tensor, w_ih: Tensor):
    """``(dX (T, B, D), dW_x (G*H, D))`` from ``dA (T, B, G*H)``; ``None`` where not needed."""
    T, B, GH = dA.shape
    dA2d = dA.view(T * B, GH)  # (T*B, G*H)
    dx = linear(dA2d, w_ih.t()).view(T, B, -1) if need_x else None  # (T, B, D)
    dw_ih = weight_grad(dA2d, x2d) if need_w else None  # (G*H, D)
    return dx, dw_ih


def bias_grads(needs_ih: bool, needs_hh: bool, dA_ih: Tensor, dA_hh: Optional[Tensor] = None):
    """``(db_ih, db_hh)``: sums over time and batch; ``dA_hh`` defaults to ``dA_ih``."""
    db_ih = dA_ih.sum((0, 1)) if needs_ih else None  # (G*H,)
    if not needs_hh:
        return db_ih, None
    if dA_hh is None:  # the same sum; a separate tensor so the two .grad never share storage
        return db_ih, (db_ih.clone() if db_ih is not None else dA_ih.sum((0, 1)))
    return db_ih, dA_hh.sum((0, 1))
