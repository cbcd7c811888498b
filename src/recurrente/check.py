"""Self-check: every implementation of every cell agrees with torch.nn, and BPTT is right.

:func:`run_checks` builds, on random weights in float64, a 2-layer bidirectional layer of each
cell in each implementation, runs it on padded sequences with an initial state, and compares the
output, the final state and the gradients of the input, the initial state and every parameter
with torch.nn's (on a ``PackedSequence``). The course's GRU (``reset_after=False``), which torch
lacks, and minGRU (each of its own implementations) are compared with the NumPy reference
instead; the reference itself is checked against central differences. On a machine with CUDA, each implementation on the GPU is compared with the
CPU (``native`` on CUDA is cuDNN).
"""

from dataclasses import dataclass
from typing import List, Optional

import numpy as np
import torch
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from recurrente import reference
from recurrente.layers import registry
from recurrente.layers.factory import LAYERS

CELLS = {  # name: (layer class, kwargs, torch.nn class or None, reference cell)
    "rnn-tanh": ("RNN", {"nonlinearity": "tanh"}, torch.nn.RNN, "rnn_tanh"),
    "rnn-relu": ("RNN", {"nonlinearity": "relu"}, torch.nn.RNN, "rnn_relu"),
    "lstm": ("LSTM", {}, torch.nn.LSTM, "lstm"),
    "gru": ("GRU", {}, torch.nn.GRU, "gru"),
    "gru-reset-before": ("GRU", {"reset_after": False}, None, "gru_reset_before"),
    "mingru": ("MinGRU", {}, None, "mingru"),
}
PARAMETER_NAMES = [("w_ih", "weight_ih_l0"), ("w_hh", "weight_hh_l0"),
                   ("b_ih", "bias_ih_l0"), ("b_hh", "bias_hh_l0")]
T, B, D, H, LAYERS_DEEP = 7, 3, 5, 4, 2


@dataclass
class CheckRow:
    cell: str
    implementation: str
    what: str
    max_abs_diff: float
    tolerance: float

    @property
    def ok(self) -> bool:
        return bool(np.isfinite(self.max_abs_diff) and self.max_abs_diff <= self.tolerance)


def _flat(state) -> list:
    return list(state) if isinstance(state, tuple) else [state]


def _run(layer, x, state, lengths, packed: bool):
    """Output, final state and gradients under a fixed random linear loss."""
    x = x.detach().clone().requires_grad_()
    state = tuple(s.detach().clone().requires_grad_() for s in _flat(state))
    arg = state if len(state) == 2 else state[0]
    if packed:
        y, final = layer(pack_padded_sequence(x, lengths, enforce_sorted=False), arg)
        y, _ = pad_packed_sequence(y, total_length=x.shape[0])
    else:
        y, final = layer(x, arg, lengths)
    outs = [y, *_flat(final)]
    gen = torch.Generator(device="cpu").manual_seed(1)
    loss = sum((torch.randn(o.shape, generator=gen, dtype=o.dtype).to(o.device) * o).sum()
               for o in outs)
    grads = torch.autograd.grad(loss, [x, *state, *layer.parameters()])
    return [o.detach().cpu().double() for o in outs], [g.cpu().double() for g in grads]


def _max_diff(a: list, b: list) -> float:
    return max(float((u - v).abs().max()) for u, v in zip(a, b))


def _inputs(cell: str, device="cpu"):
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(T, B, D, generator=gen, dtype=torch.float64)
    h0 = torch.randn(LAYERS_DEEP * 2, B, H, generator=gen, dtype=torch.float64)
    state = (h0, torch.randn(h0.shape, generator=gen, dtype=torch.float64)) if cell == "lstm" else h0
    return x, state, torch.tensor([T, 3, 5])


def check_against_torch(cell: str, impl: str) -> List[CheckRow]:
    """One implementation of one cell against torch.nn on CPU, float64."""
    cls, kwargs, torch_cls, _ = CELLS[cell]
    ours = LAYERS[cls.lower()](D, H, LAYERS_DEEP, bidirectional=True, implementation=impl,
                               **kwargs).double()
    theirs = torch_cls(D, H, LAYERS_DEEP, bidirectional=True, **kwargs).double()
    theirs.load_state_dict(ours.state_dict())
    x, state, lengths = _inputs(cell)
    (o1, g1), (o2, g2) = _run(ours, x, state, lengths, False), _run(theirs, x, state, lengths, True)
    return [CheckRow(cell, impl, "forward + final state vs torch.nn", _max_diff(o1, o2), 1e-8),
            CheckRow(cell, impl, "gradients vs torch.nn", _max_diff(g1, g2), 1e-8)]


def check_against_reference(cell: str, impl: str) -> List[CheckRow]:
    """One layer, one direction, against the NumPy reference (forward and hand-written BPTT)."""
    cls, kwargs, _, ref_name = CELLS[cell]
    layer = LAYERS[cls.lower()](D, H, implementation=impl, **kwargs).double()
    x, state, _ = _inputs(cell)
    state = tuple(s[:1] for s in _flat(state))  # one layer, one direction: (1, B, H) each
    outs, grads = _run(layer, x, state, None, False)
    params = {k: getattr(layer, n).detach().numpy() for k, n in PARAMETER_NAMES
              if hasattr(layer, n)}  # minGRU: no w_hh, b_hh
    spec = reference.CELLS[ref_name]
    state0 = [s[0].numpy() for s in state]
    h_all, final, cache = spec.forward(x.numpy(), tuple(state0) if len(state0) == 2 else state0[0],
                                       params, **spec.kwargs)
    gen = torch.Generator().manual_seed(1)
    d_out = [torch.randn(o.shape, generator=gen, dtype=o.dtype).numpy() for o in outs]
    d_final = [d[0] for d in d_out[1:]]
    dx, d_state0, dp = spec.backward(d_out[0], tuple(d_final) if len(d_final) == 2 else d_final[0],
                                     cache)
    ref_outs = [torch.from_numpy(a) for a in [h_all, *(f[None] for f in _flat(final))]]
    ref_grads = [torch.from_numpy(a) for a in [dx, *(d[None] for d in _flat(d_state0)),
                                               *(dp[k] for k, n in PARAMETER_NAMES if k in dp)]]
    return [CheckRow(cell, impl, "forward vs NumPy reference", _max_diff(outs, ref_outs), 1e-8),
            CheckRow(cell, impl, "gradients vs NumPy reference", _max_diff(grads, ref_grads), 1e-8)]


def check_reference_gradients(cell: str) -> CheckRow:
    """The NumPy reference's hand-written BPTT against central differences (relative error)."""
    rng = np.random.default_rng(0)
    G = {"lstm": 4, "gru": 3, "mingru": 2}.get(cell.split("-")[0], 1)
    params = {"w_ih": rng.standard_normal((G * H, D)) * 0.5, "w_hh": rng.standard_normal((G * H, H)) * 0.5,
              "b_ih": rng.standard_normal(G * H) * 0.1, "b_hh": rng.standard_normal(G * H) * 0.1}
    if cell == "mingru":  # its gates read X_t only
        params = {"w_ih": params["w_ih"], "b_ih": params["b_ih"]}
    x = rng.standard_normal((T, B, D))
    h0 = rng.standard_normal((B, H))
    state0 = (h0, rng.standard_normal((B, H))) if cell == "lstm" else h0
    errors = reference.gradcheck(CELLS[cell][3], x, state0, params)
    return CheckRow(cell, "reference", "BPTT vs central differences (rel.)",
                    max(errors.values()), 1e-6)


def check_cuda(cell: str, impl: str) -> CheckRow:
    """The same layer on CUDA (float32) against CPU (float64)."""
    cls, kwargs, _, _ = CELLS[cell]
    layer = LAYERS[cls.lower()](D, H, LAYERS_DEEP, bidirectional=True, implementation=impl,
                                **kwargs)
    x, state, lengths = _inputs(cell)
    cpu = _run(layer.double(), x, state, lengths, False)
    gpu = _run(layer.float().cuda(), x.float().cuda(),
               tuple(s.float().cuda() for s in _flat(state)), lengths, False)
    return CheckRow(cell, impl + " (cuda)", "cuda float32 vs cpu float64",
                    _max_diff(cpu[0] + cpu[1], gpu[0] + gpu[1]), 1e-3)


def run_checks(cuda: Optional[bool] = None) -> List[CheckRow]:
    """All checks; ``cuda=None`` includes the GPU comparisons when CUDA is available."""
    rows: List[CheckRow] = []
    cuda = torch.cuda.is_available() if cuda is None else cuda
    for cell, (cls, kwargs, torch_cls, _) in CELLS.items():
        rows.append(check_reference_gradients(cell))
        for impl in registry.available(cls.lower()):
            if torch_cls is not None:
                rows += check_against_torch(cell, impl)
            elif impl != registry.NATIVE:
                rows += check_against_reference(cell, impl)
            if cuda and (torch_cls is not None or impl != registry.NATIVE):
                rows.append(check_cuda(cell, impl))
        if torch_cls is not None:
            rows += check_against_reference(cell, registry.available()[0])
    return rows
