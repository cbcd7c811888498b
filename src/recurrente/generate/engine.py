"""A generation engine: one token at a time at batch 1 (or a few streams), without waste.

Stepping a framework RNN layer once per token pays its whole set-up per call (argument checks,
weight re-layout, output allocation) for a few matrix-vector products. The engine instead
arranges the weights once and then, per token and per layer, does one fused product and the gate
arithmetic in place on preallocated buffers, under ``torch.inference_mode``:

* layer 0 never multiplies by ``W_ih``: ``E W_ih^T + b`` is precomputed for every vocabulary
  entry (a ``(V, G*H)`` table), so the input part of layer 0 is a row lookup;
* layers above read ``[X_t ; H_{t-1}]`` from one buffer and multiply by ``[W_ih | W_hh]`` once
  (LSTM, Elman); the GRU keeps the two products apart because ``R_t`` multiplies only the
  hidden part of the candidate;
* the state lives in those buffers and is updated in place.

Per token each weight is read once. When the weights fit in the CPU's cache (a 2x512 LSTM's
12 MB do on the Zen 5 these figures come from), memory bandwidth no longer bounds the speed:
the per-call cost of each product does. So each product large enough to gain is measured once
(:class:`Product`) between ``addmv`` and oneDNN's inner product on a weight packed once for
this CPU's instructions; ``(2048, 1024)`` at batch 1: 0.10 ms packed against 0.18 ms.
``precision="bf16"`` packs the large weights in bfloat16 where the CPU has the instructions
(the state and the gates stay float32).

The xLSTM cells (``slstm``, ``mlstm``) are stepped by their own cell function instead
(:class:`XLSTMLayer`): their state is four tensors, the mLSTM's memory a matrix.
"""

import os
import time
from typing import Dict, List, Optional, Tuple

import torch
from torch import Tensor

TABLE_LIMIT = 1 << 25  # floats; above this, layer 0 multiplies the embedding row instead
PACK_MIN_NUMEL = 1 << 18  # below it addmv won every shape measured here (its call is cheaper)
PACK_RULE_NUMEL = 1 << 19  # without measuring (RECURRENTE_AUTOTUNE=0): pack from this size
_CHOICES: Dict[tuple, str] = {}  # (N, K, B, dtype) -> the kernel measured fastest here


def product(bias: Tensor, weight: Tensor, x: Tensor) -> Tensor:
    """``x W^T + b`` for ``x (B, K)``, ``W (N, K)`` row-major. At B = 1 a matrix-vector product
    over contiguous rows, which measured twice as fast as a GEMM with a transposed operand."""
    if x.shape[0] == 1:
        b = bias[0] if bias.dim() == 2 else bias
        return torch.addmv(b, weight, x[0]).unsqueeze(0)  # (1, N)
    return torch.addmm(bias, x, weight.t())  # (B, N)


class Product:
    """``x W^T + b`` ``(B, N)`` at every token for one weight ``W (N, K)``, through the faster
    kernel here: :func:`product` (``addmv``), or oneDNN on ``W`` packed once (in bfloat16 if
    ``low`` is ``torch.bfloat16``). ``b`` is the fixed ``bias`` or, per call, ``add (B, N)``."""

    def __init__(self, weight: Tensor, bias: Tensor, batch: int,
                 low: Optional[torch.dtype] = None):
        self.w, self.bias = weight.contiguous(), bias  # (N, K), (N,)
        self.low, self.packed = low, None
        kind = _packing_kind(self.w, batch, low)
        if kind == "plain":
            return
        self.packed = torch.ops.mkldnn._reorder_linear_weight(
            self.w if low is None else self.w.to(low), batch)
        if low is None and kind == "measure":
            key = (*self.w.shape, batch, str(self.w.dtype))
            if key not in _CHOICES:
                _CHOICES[key] = self._measure(batch)
            if _CHOICES[key] == "plain":
                self.packed = None

    def __call__(self, x: Tensor, add: Optional[Tensor] = None) -> Tensor:
        b = self.bias if add is None else add
        if self.packed is None:
            return product(b, self.w, x)
        x = x if x.is_contiguous() else x.contiguous()
        if self.low is not None:
            y = torch.ops.mkldnn._linear_pointwise(x.to(self.low), self.packed, None, "none",
                                                   [], "")
            return y.float().add_(b)  # (B, N)
        if add is None:
            return torch.ops.mkldnn._linear_pointwise(x, self.packed, b, "none", [], "")
        return torch.ops.mkldnn._linear_pointwise.binary(x, add, self.packed, None, "add")

    def _measure(self, batch: int, calls: int = 20) -> str:
        """The faster of ``plain`` and ``packed`` for this shape: median of 3 rounds each."""
        x = torch.randn(batch, self.w.shape[1], dtype=self.w.dtype)
        packed, times = self.packed, {"plain": [], "packed": []}
        for _ in range(4):  # the first round warms up both and is not counted
            for kind in times:
                self.packed = packed if kind == "packed" else None
                start = time.perf_counter()
                for _ in range(calls):
                    self(x)
                times[kind].append(time.perf_counter() - start)
        self.packed = packed
        return min(times, key=lambda k: sorted(times[k][1:])[1])


def _packing_kind(w: Tensor, batch: int, low: Optional[torch.dtype]) -> str:
    """``plain`` (never pack), ``packed`` (always) or ``measure`` for weight ``w``."""
    from recurrente.layers import step_gemm
    if (w.device.type != "cpu" or w.dtype != torch.float32 or w.numel() < PACK_MIN_NUMEL
            or not step_gemm._works("onednn", torch.float32)):
        return "plain"
    if low is not None:
        return "packed" if step_gemm.bf16_available() else "plain"
    if os.environ.get("RECURRENTE_AUTOTUNE", "1") == "0":
        return "packed" if w.numel() >= PACK_RULE_NUMEL else "plain"
    return "measure"


MIN_CELLS = ("mingru", "minlstm")  # gates from X_t only: no W_hh, one product per step
XLSTM_CELLS = ("slstm", "mlstm")  # a state of four tensors: stepped by XLSTMLayer


class XLSTMLayer:
    """One sLSTM or mLSTM layer stepped by its cell function (:mod:`recurrente.cells.xlstm`, the
    step the layer's ``scratch`` runs), the state ``(h, c, n, m)`` or ``(h, C, n, m)`` held as
    tensors, not in one ``[X_t ; H_{t-1}]`` buffer: the mLSTM's is a ``(B, H, H)`` matrix, and
    the step is exactly the layer's own. No packed products, no bfloat16: its products run
    through the cell's ``x W^T + b``."""

    def __init__(self, rnn, index: int, batch: int, low: Optional[torch.dtype] = None):
        from recurrente.layers.xlstm import init_state
        w_ih, w_hh, b_ih, b_hh = (None if t is None else t.detach()
                                  for t in rnn.weights(index, 0))
        self.cell, self.H, self.D = rnn.cell, rnn.hidden_size, w_ih.shape[1]
        self.weights = (w_ih, w_hh, b_ih, b_hh) if self.cell == "slstm" else (w_ih, b_ih)
        self.state = tuple(init_state(self.cell, self.H, batch, device=w_ih.device,
                                      dtype=w_ih.dtype))
        self.products: Dict[str, Product] = {}

    def load(self, state: tuple) -> None:
        """This layer's row of the model's state, each tensor ``(B, ...)``."""
        self.state = tuple(s.clone() for s in state)

    def step(self, x_part: Tensor = None, x: Tensor = None) -> Tensor:
        """Advance one step on the input ``x (B, D)``; returns ``H_t (B, H)``."""
        from recurrente.cells.xlstm import mlstm_cell, slstm_cell
        cell = slstm_cell if self.cell == "slstm" else mlstm_cell
        self.state = cell(x, self.state, *self.weights)
        return self.state[0]


class Layer:
    """One recurrent layer's arranged weights and its in-place state buffers."""

    def __init__(self, rnn, index: int, batch: int, low: Optional[torch.dtype] = None):
        w_ih, w_hh, b_ih, b_hh = (None if t is None else t.detach()
                                  for t in rnn.weights(index, 0))
        self.cell, self.H = rnn.cell, rnn.hidden_size
        self.D = w_ih.shape[1]
        if self.cell in MIN_CELLS:  # no W_hh: the weight of H_{t-1} is a zero block
            w_hh = torch.zeros(w_ih.shape[0], self.H, device=w_ih.device, dtype=w_ih.dtype)
        zeros = torch.zeros(w_hh.shape[0], device=w_hh.device, dtype=w_hh.dtype)
        b_ih = zeros if b_ih is None else b_ih
        b_hh = zeros if b_hh is None else b_hh
        self.gru_reset_after = getattr(rnn, "reset_after", True)
        self.relu = getattr(rnn, "nonlinearity", "tanh") == "relu"
        if self.cell == "gru":
            self.w_ih, self.w_hh = w_ih.contiguous(), w_hh.contiguous()  # (3H, D), (3H, H)
            self.w_hn = self.w_hh[2 * self.H:]  # (H, H) rows of the candidate, contiguous
            self.b_ih, self.b_hh = b_ih, b_hh
        elif self.cell in MIN_CELLS:
            self.w_ih, self.b_ih, self.bias = w_ih.contiguous(), b_ih, b_ih  # (G*H, D), (G*H,)
        else:
            self.w_cat = torch.cat([w_ih, w_hh], dim=1)  # (G*H, D+H), row-major
            self.w_hh = w_hh.contiguous()  # (G*H, H), for layer 0 (its input part is a table)
            self.bias = b_ih + b_hh  # (G*H,)
        self.xh = torch.zeros(batch, self.D + self.H, device=w_hh.device, dtype=w_hh.dtype)
        self.c = torch.zeros(batch, self.H, device=w_hh.device, dtype=w_hh.dtype)
        self.batch, self.low, self.products = batch, low, {}

    def product(self, name: str) -> Product:
        """The :class:`Product` of weight ``name`` (``cat``, ``hh``, ``ih``, ``hh_rz``, ``hn``),
        arranged the first time it is used (layer 0 with a table never multiplies ``cat``)."""
        if name not in self.products:
            H = self.H
            weight, bias = {
                "cat": lambda: (self.w_cat, self.bias), "ih": lambda: (self.w_ih, self.b_ih),
                "hh": lambda: (self.w_hh, self.b_hh if self.cell == "gru" else self.bias),
                "hh_rz": lambda: (self.w_hh[:2 * H], self.b_hh[:2 * H]),
                "hn": lambda: (self.w_hn, self.b_hh[2 * H:])}[name]()
            self.products[name] = Product(weight, bias, self.batch, self.low)
        return self.products[name]

    @property
    def h(self) -> Tensor:
        return self.xh[:, self.D:]  # (B, H): H_{t-1}, updated in place

    def step(self, x_part: Tensor = None, x: Tensor = None) -> Tensor:
        """Advance one step; ``x_part`` is the precomputed input product (layer 0) or ``x`` the
        input. Returns ``H_t`` (a view of this layer's buffer)."""
        if x is not None:
            self.xh[:, :self.D].copy_(x)
        if self.cell == "gru":
            return self._gru(x_part)
        if self.cell in MIN_CELLS:
            gates = x_part if x_part is not None else self.product("ih")(self.xh[:, :self.D])
            return self._min(gates)
        if x_part is not None:
            gates = self.product("hh")(self.h, add=x_part)  # (B, G*H)
        else:
            gates = self.product("cat")(self.xh)  # (B, G*H)
        return self._lstm(gates) if self.cell == "lstm" else self._elman(gates)

    def _lstm(self, gates: Tensor) -> Tensor:
        H = self.H
        i_f = gates[:, :2 * H].sigmoid_()  # I_t | F_t
        g = gates[:, 2 * H:3 * H].tanh_()  # C~_t
        o = gates[:, 3 * H:].sigmoid_()  # O_t
        self.c.mul_(i_f[:, H:]).addcmul_(i_f[:, :H], g)  # C_t = F_t ⊙ C_{t-1} + I_t ⊙ C~_t
        torch.tanh(self.c, out=gates[:, :H])
        torch.mul(o, gates[:, :H], out=self.h)  # H_t = O_t ⊙ tanh(C_t)
        return self.h

    def _min(self, gates: Tensor) -> Tensor:
        """minGRU: ``H_t = H_{t-1} + Z_t ⊙ (H~_t − H_{t-1})``; minLSTM: ``H_t = H_{t-1} +
        I'_t ⊙ (H~_t − H_{t-1})`` with ``I'_t = I_t / (F_t + I_t)`` (so ``F'_t = 1 − I'_t``):
        the equations of :mod:`recurrente.cells.min_rnn`, in place."""
        from recurrente.cells.min_rnn import g
        H, h = self.H, self.h
        if self.cell == "mingru":
            z, n = gates[:, :H].sigmoid_(), g(gates[:, H:])  # Z_t, H~_t
        else:
            i, f = gates[:, :H].sigmoid_(), gates[:, H:2 * H].sigmoid_()  # I_t, F_t
            z, n = i.div_(f.add_(i)), g(gates[:, 2 * H:])  # I'_t, H~_t
        h.addcmul_(z, n.sub_(h))
        return h

    def _elman(self, gates: Tensor) -> Tensor:
        (gates.relu_() if self.relu else gates.tanh_())
        self.h.copy_(gates)  # H_t = φ(...)
        return self.h

    def _gru(self, x_part: Tensor) -> Tensor:
        H = self.H
        gx = x_part if x_part is not None else self.product("ih")(self.xh[:, :self.D])
        h = self.h  # gx: (B, 3H)
        gh = self.product("hh" if self.gru_reset_after else "hh_rz")(h)  # (B, 3H) or (B, 2H)
        rz = gx[:, :2 * H].add_(gh[:, :2 * H]).sigmoid_()  # R_t | Z_t
        r, z = rz[:, :H], rz[:, H:]
        if self.gru_reset_after:
            n = gx[:, 2 * H:].addcmul_(r, gh[:, 2 * H:]).tanh_()  # H~_t
        else:
            rh = r * h
            n = gx[:, 2 * H:].add_(self.product("hn")(rh)).tanh_()
        h.sub_(n).mul_(z).add_(n)  # H_t = Z_t ⊙ H_{t-1} + (1 - Z_t) ⊙ H~_t
        return h


class GenerationEngine:
    """Fast ``prime``/``step`` functions for a :class:`~recurrente.LanguageModel`.

    ``prime(ids (T, B), None) -> (logits (B, V), state)`` runs the prompt through the model's
    own forward (all steps at once), then loads the state into the engine's buffers;
    ``step(token (B,), state) -> (logits (B, V), state)`` advances every stream by one token.
    The ``state`` passed around is only a token; the real state lives in the buffers.
    """

    def __init__(self, model, batch: int = 1, precision: str = "fp32"):
        if precision not in ("fp32", "bf16"):
            raise ValueError(f"expected precision fp32 or bf16, got {precision!r}")
        self.model, self.batch, self.precision = model, batch, precision
        low = torch.bfloat16 if precision == "bf16" else None
        rnn = model.rnn
        if rnn.bidirectional:
            raise ValueError("a bidirectional model cannot generate left to right")
        kind = XLSTMLayer if rnn.cell in XLSTM_CELLS else Layer
        self.layers: List[Layer] = [kind(rnn, i, batch, low) for i in range(rnn.num_layers)]
        first = self.layers[0]
        emb = model.embedding.weight.detach()  # (V, E)
        w0 = rnn.weights(0, 0)
        self.table = None
        if kind is Layer and emb.shape[0] * w0[0].shape[0] <= TABLE_LIMIT:
            bias = (first.b_ih if first.cell in ("gru",) + MIN_CELLS else first.bias)
            self.table = torch.addmm(bias, emb, w0[0].detach().t())  # (V, G*H)
        self.emb = emb
        self.linear_head = isinstance(model.head, torch.nn.Linear)  # else adaptive: its own call
        if self.linear_head:
            self.head = Product(model.head.weight.detach(), model.head.bias.detach(), batch,
                                low)  # (V, H)

    def _load_state(self, state) -> None:
        if self.model.rnn.cell in XLSTM_CELLS:  # (h, c, n, m) or (h, C, n, m), rows (L, B, ...)
            for k, layer in enumerate(self.layers):
                layer.load(tuple(s[k] for s in state))
            return
        h = state[0] if isinstance(state, tuple) else state  # (L, B, H)
        for k, layer in enumerate(self.layers):
            layer.h.copy_(h[k])
            if isinstance(state, tuple):
                layer.c.copy_(state[1][k])

    @torch.inference_mode()
    def prime(self, ids: Tensor, state=None) -> Tuple[Tensor, None]:
        logits, state = self.model(ids, state)  # (T, B, V)
        self._load_state(state)
        return logits[-1], None

    @torch.inference_mode()
    def step(self, token: Tensor, state=None) -> Tuple[Tensor, None]:
        first = self.layers[0]
        if self.table is not None:
            h = first.step(x_part=self.table.index_select(0, token))  # (B, G*H), a fresh copy
        else:
            h = first.step(x=self.emb.index_select(0, token))
        for layer in self.layers[1:]:
            h = layer.step(x=h)
        if not self.linear_head:
            return self.model.head(h), None  # (B, V) log-probabilities
        return self.head(h), None  # (B, V)
