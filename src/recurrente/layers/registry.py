"""Which implementations exist, and the per-direction runner each provides.

A runner has the signature ``runner(x (T, B, D), state0, w_ih, w_hh, b_ih, b_hh, **cell_options)
-> (H_all (T, B, H), C_all (T, B, H) or None)``; ``state0`` is ``(B, H)`` or, for the LSTM,
``(H_0, C_0)``. The layer stack (:mod:`recurrente.layers.base`) builds depth, directions, dropout
and variable lengths around it, so an implementation only ever writes one layer, one direction.
``native`` is the exception: torch runs the whole stack in one call. The xLSTM cells' runners
(``runner_finals`` layers, whose state is a tuple of four) also take ``lengths=`` and return
``(H_all, final state)`` (:mod:`recurrente.layers.xlstm_runners`).
"""

import importlib
from typing import Callable, Dict

# implementation -> the module whose ``RUNNERS`` dict holds its per-cell runners, imported the
# first time a layer runs it (no module registers itself as a side effect of being imported).
MODULES: Dict[str, str] = {"fused": "recurrente.layers.fused",
                           "scratch": "recurrente.layers.scratch"}
# The cells after the LSTM (issue 20) have no torch.nn kernel and implementations of their own:
# cell -> {implementation: "module:runner"}, imported on first use. The first entry is what
# ``auto`` picks (the layer's ``implementation_for``; benchmarks/min_rnn.py measured it fastest).
CELL_RUNNERS: Dict[str, Dict[str, str]] = {
    cell: {impl: f"recurrente.layers.min_rnn_runners:{cell}_{impl}"
           for impl in ("parallel", "logspace", "scratch")} for cell in ("mingru", "minlstm")}
# xLSTM (recurrente.layers.xlstm): the sLSTM is a loop by design; the mLSTM's auto is the faster
# of its two forms on the CPU at T = 256 (measured: see the MLSTM class).
CELL_RUNNERS.update({
    "slstm": {"scratch": "recurrente.layers.xlstm_runners:slstm_scratch"},
    "mlstm": {impl: f"recurrente.layers.xlstm_runners:mlstm_{impl}"
              for impl in ("parallel", "scratch")}})
NATIVE = "native"
LOW_PRECISION = ("torch.bfloat16", "torch.float16")  # autocast's dtypes, as str(dtype)
AUTO = "auto"
DEFAULT = AUTO


def resolve(implementation: str, cell: str, hidden_size: int, device_type: str,
            reset_after: bool = True, dtype=None) -> str:
    """The concrete implementation ``auto`` stands for when nothing was measured here.

    ``auto`` normally times the candidates on the machine it runs on (``layers/autotune.py``);
    this table is its fallback (``RECURRENTE_AUTOTUNE=0``, tests, or a failed measurement).
    benchmarks/layers.py (2 layers, T=128, B=64, fp32 training, 2 threads of an AMD EPYC Zen 5
    with AVX-512) found ``fused`` ahead of torch.nn's kernels for the Elman RNN (1.15x, 1.36x
    in two runs) and the GRU (1.39x, 1.20x) at H = 512, and level or ahead at H = 128; torch's
    LSTM kernel ahead of ``fused`` at both sizes (``fused`` 0.87x, 0.94x at H = 512; 0.73x,
    0.81x at 128), so the LSTM takes ``native``. (On the
    earlier AVX2 CPU ``fused`` had won the LSTM at H = 512: that is why ``auto`` measures.)
    Under bfloat16 autocast (``dtype``) torch's kernels led every cell there (``fused`` 0.87x
    at H = 512, ``benchmarks/layers.py --precision bf16``): ``native``. On CUDA, cuDNN runs the whole stack in one call: ``native``. The course's GRU
    (``reset_after=False``) has no native kernel: ``fused``.
    """
    if implementation != AUTO:
        return implementation
    if cell == "gru" and not reset_after:
        return "fused"
    if device_type != "cpu" or cell == "lstm" or dtype in LOW_PRECISION:
        return NATIVE
    return "fused"


def runner(implementation: str, cell: str) -> Callable:
    """The per-direction runner of ``cell`` in ``implementation`` (not ``native``)."""
    if cell in CELL_RUNNERS:
        module, name = CELL_RUNNERS[cell][implementation].split(":")
        return getattr(importlib.import_module(module), name)
    return importlib.import_module(MODULES[implementation]).RUNNERS[cell]


def available(cell: str = None) -> list:
    """The concrete implementations, ``native`` first (``auto`` picks one of them); for a cell
    of ``CELL_RUNNERS``, that cell's own, ``auto``'s pick first."""
    if cell in CELL_RUNNERS:
        return list(CELL_RUNNERS[cell])
    return [NATIVE] + sorted(MODULES)


def choices(cell: str = None) -> list:
    """Every name ``implementation=`` accepts (for ``cell``, if given)."""
    return [AUTO] + available(cell)
