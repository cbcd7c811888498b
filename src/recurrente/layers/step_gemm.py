"""The GEMM a recurrent layer runs at every time step, ``X_t W^T``, with its weight packed once.

A fused layer multiplies the same weight ``W (N, K)`` at each of ``T`` steps: ``H_{t-1} W_h^T``
forward, ``dA_t W_h`` backward. A plain ``addmm`` re-packs ``W`` into the kernel's blocked layout
at every call; packing it once for the whole sequence is the main speed lever of the CPU path,
and which library packs best depends on the processor:

- ``onednn``: oneDNN's inner product (``torch.ops.mkldnn._reorder_linear_weight`` and
  ``_linear_pointwise``, as torch's own frozen linear layers on CPU use), JIT-compiled for the
  instructions this CPU has: AVX-512, AVX-512 BF16 and AMX included. On an AMD Zen 5 (AVX-512)
  it ran ``(64, 512) @ (512, 2048)`` in 0.77 ms against MKL's 1.5 to 1.8 ms (MKL does not use
  AVX-512 on AMD processors); ``python -m benchmarks.layers --gemm`` measures it here.
- ``mkl``: MKL's packed GEMM (``cblas_sgemm_pack`` through ``torch.ops.mkl``); on the 2-core
  AVX2 machine of the project's first measurements it was 1.2x (1 thread) to 1.7x (2 threads)
  faster than ``addmm``.
- ``addmm``: no packing; float64, CUDA, short sequences and small weights always use it.

``RECURRENTE_FUSED_GEMM=onednn|mkl|addmm`` picks one (default: the first that works here, in
that order). The packed copy lives as long as the :class:`StepWeight` object: one forward or one
backward. Every result is the same product up to float rounding, so the choice never changes
what a model learns beyond that.

Under ``--precision bf16`` on a CPU with bfloat16 instructions (:func:`bf16_available`), the
fused layers run their matrix products in bfloat16 (:func:`matmul_in`): ``W`` is packed in
bfloat16, ``X_t`` is rounded to bfloat16 at each step, oneDNN accumulates in float32 and the
product is added into the float32 pre-activations. The state, the gates and every sum stay in
float32, as autocast does for ``nn.Linear``. ``(64, 512) @ (512, 2048)`` on the Zen 5 above:
0.43 ms against 0.79 ms in float32.
"""

import contextlib
import contextvars
import functools
import os
from typing import Iterator, Optional

import torch
from torch import Tensor

BACKENDS = ("onednn", "mkl", "addmm")
PACK_MIN_STEPS = 16  # packing a weight costs a few steps' GEMMs: not worth it below this
PACK_MIN_NUMEL = 128 * 128  # nor for tiny weights, whose GEMMs are cheap to pack anyway
REQUESTED = os.environ.get("RECURRENTE_FUSED_GEMM", "")
_MATMUL_DTYPE = contextvars.ContextVar("recurrente_fused_matmul_dtype", default=None)


@contextlib.contextmanager
def matmul_in(dtype: Optional[torch.dtype]) -> Iterator[None]:
    """The fused layers' matrix products in ``dtype`` (``None``: their inputs' own) inside."""
    token = _MATMUL_DTYPE.set(dtype)
    try:
        yield
    finally:
        _MATMUL_DTYPE.reset(token)


def matmul_dtype() -> Optional[torch.dtype]:
    """The dtype :func:`matmul_in` set here, or ``None``."""
    return _MATMUL_DTYPE.get()


@functools.lru_cache(maxsize=None)
def bf16_available() -> bool:
    """Whether this CPU has bfloat16 instructions oneDNN uses (AVX-512 BF16, AMX) and its
    packed bfloat16 product works: only then are bfloat16 products faster than float32 ones."""
    try:
        native = bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False
    return native and _works("onednn", torch.bfloat16)


class StepWeight:
    """A weight ``W (N, K)`` multiplied at every step: ``X_t W^T`` for ``X_t (B, K)``."""

    def __init__(self, w: Tensor, batch: int, steps: int):
        self.low = matmul_dtype() if w.device.type == "cpu" else None  # e.g. torch.bfloat16
        self.w = w if self.low is None else w.to(self.low)  # (N, K)
        self.backend = "addmm"
        if steps >= PACK_MIN_STEPS and w.numel() >= PACK_MIN_NUMEL:
            self.backend = packing_backend(self.w)
        if self.backend == "onednn":
            self.packed = torch.ops.mkldnn._reorder_linear_weight(self.w.contiguous(), batch)
        elif self.backend == "mkl":
            self.packed = torch.ops.mkl._mkl_reorder_linear_weight(self.w.contiguous(), batch)
        else:
            self.packed = None

    def _low_product(self, x: Tensor) -> Tensor:
        """``X W^T`` in the low precision (``W`` already in it): a ``self.low`` tensor."""
        x = x.to(self.low)
        if self.packed is not None:  # only onednn packs a low-precision weight
            return torch.ops.mkldnn._linear_pointwise(x, self.packed, None, "none", [], "")
        return torch.mm(x, self.w.t())

    def _packed_product(self, x: Tensor, bias: Optional[Tensor],
                        add: Optional[Tensor] = None) -> Tensor:
        if x.stride(-1) != 1 or x.stride(0) < x.shape[1]:  # e.g. an expanded initial state
            x = x.contiguous()
        if self.backend == "onednn":
            if add is not None:  # the sum fused into the GEMM's epilogue
                return torch.ops.mkldnn._linear_pointwise.binary(x, add, self.packed, bias, "add")
            return torch.ops.mkldnn._linear_pointwise(x, self.packed, bias, "none", [], "")
        y = torch.ops.mkl._mkl_linear(x, self.packed, self.w, bias, x.shape[0])  # (B, N)
        return y if add is None else y.add_(add)

    def plus(self, base: Tensor, x: Tensor) -> Tensor:
        """``base + X W^T``: written into ``base`` (which may be a strided view), except on the
        ``onednn`` path, whose GEMM adds ``base`` in its epilogue into a new tensor. Use the
        returned tensor; write what follows from it with ``out=``."""
        if self.low is not None:
            return base.add_(self._low_product(x))
        if self.packed is None:
            return base.addmm_(x, self.w.t())
        if self.backend == "onednn":
            return self._packed_product(x, None, base)
        return base.add_(self._packed_product(x, None))

    def product(self, x: Tensor, add: Optional[Tensor] = None, bias: Optional[Tensor] = None,
                out: Optional[Tensor] = None) -> Tensor:
        """``add + X W^T + bias`` (each optional). Uses ``out`` on the ``addmm`` path; the
        packed paths return a new tensor: always use the returned one."""
        if self.low is not None:
            y = self._low_product(x).float()  # (B, N)
            y = y if add is None else y.add_(add)
            return y if bias is None else y.add_(bias)
        if self.packed is not None:
            return self._packed_product(x, bias, add)  # (B, N)
        c = add if bias is None else (bias if add is None else add + bias)
        if c is None:
            return torch.mm(x, self.w.t(), out=out)  # (B, N)
        return torch.addmm(c, x, self.w.t(), out=out)  # (B, N)


def packing_backend(w: Tensor) -> str:
    """The backend :class:`StepWeight` packs ``w`` with: the requested one if it works for
    ``w``'s device and dtype, else the first of :data:`BACKENDS` that does."""
    if w.device.type != "cpu" or w.dtype not in (torch.float32, torch.bfloat16):
        return "addmm"
    usable = [b for b in BACKENDS[:-1] if _works(b, w.dtype)] + ["addmm"]
    if REQUESTED in BACKENDS:
        return REQUESTED if REQUESTED in usable else "addmm"
    return usable[0]


@functools.lru_cache(maxsize=None)
def _works(backend: str, dtype: torch.dtype) -> bool:
    """Probe a backend's private ops once on a small problem; any failure rules it out."""
    if backend == "mkl" and dtype != torch.float32:
        return False
    try:
        w, x, b = (torch.randn(24, 16, dtype=dtype), torch.randn(8, 16, dtype=dtype),
                   torch.randn(24, dtype=dtype))
        if backend == "onednn":
            if not torch.backends.mkldnn.is_available():
                return False
            packed = torch.ops.mkldnn._reorder_linear_weight(w, 8)
            y = torch.ops.mkldnn._linear_pointwise.binary(x, b.expand(8, 24).contiguous(),
                                                          packed, None, "add")
        else:
            packed = torch.ops.mkl._mkl_reorder_linear_weight(w, 8)
            y = torch.ops.mkl._mkl_linear(x, packed, w, b, 8)
        tolerance = 1e-4 if dtype == torch.float32 else 0.1
        return bool(torch.allclose(y.float(), torch.addmm(b, x, w.t()).float(),
                                   atol=tolerance, rtol=tolerance))
    except (AttributeError, RuntimeError, NotImplementedError):
        return False


def linear(x: Tensor, w: Tensor, bias: Optional[Tensor] = None) -> Tensor:
    """``x W^T + bias`` for one large GEMM (all steps' input projection, or ``dX = dA W_x``),
    through oneDNN where :class:`StepWeight` would pack with it: 1.3x (input projection) and
    1.5x (``dX``) MKL's ``addmm`` on the Zen 5 above, ``(8192, 512) @ (512, 2048)``; in
    bfloat16 inside :func:`matmul_in` (a float32 result), 1.9x float32 there."""
    low = matmul_dtype() if w.device.type == "cpu" else None
    if low is not None:
        xl, wl = x.to(low).contiguous(), w.to(low).contiguous()
        if packing_backend(wl) == "onednn":
            y = torch.ops.mkldnn._linear_pointwise(xl, wl, None, "none", [], "").float()
        else:
            y = torch.mm(xl, wl.t()).float()
        return y if bias is None else y.add_(bias)
    if packing_backend(w) == "onednn":
        return torch.ops.mkldnn._linear_pointwise(x.contiguous(), w.contiguous(), bias,
                                                  "none", [], "")
    return torch.mm(x, w.t()) if bias is None else torch.addmm(bias, x, w.t())
