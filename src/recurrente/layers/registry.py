"""Which implementations exist, and the per-direction runner each provides.

A runner has the signature ``runner(x (T, B, D), state0, w_ih, w_hh, b_ih, b_hh, **cell_options)
-> (H_all (T, B, H), C_all (T, B, H) or None)``; ``state0`` is ``(B, H)`` or, for the LSTM,
``(H_0, C_0)``. The layer stack (:mod:`recurrente.layers.base`) builds depth, directions, dropout
and variable lengths around it, so an implementation only ever writes one layer, one direction.
``native`` is the exception: torch runs the whole stack in one call.
"""

import importlib
from typing import Callable, Dict

# implementation -> the module whose ``RUNNERS`` dict holds its per-cell runners, imported the
# first time a layer runs it (no module registers itself as a side effect of being imported).
MODULES: Dict[str, str] = {"fused": "recurrente.layers.fused",
                           "scratch": "recurrente.layers.scratch"}
NATIVE = "native"
AUTO = "auto"
DEFAULT = AUTO
FUSED_LSTM_MIN_HIDDEN = 512  # below it torch's LSTM kernel won in benchmarks/layers.py on CPU


def resolve(implementation: str, cell: str, hidden_size: int, device_type: str,
            reset_after: bool = True) -> str:
    """The concrete implementation ``auto`` stands for: the fastest measured for this case.

    benchmarks/layers.py (2 layers, T=128, B=64, 2 CPU cores) found ``fused`` ahead of
    torch.nn's kernels on CPU for the Elman RNN and the GRU at H = 128 and 512, and for the
    LSTM at H = 512 but not 128. On CUDA, cuDNN runs the whole stack in one call: ``native``.
    The course's GRU (``reset_after=False``) has no native kernel: ``fused``.
    """
    if implementation != AUTO:
        return implementation
    if cell == "gru" and not reset_after:
        return "fused"
    if device_type != "cpu":
        return NATIVE
    if cell == "lstm" and hidden_size < FUSED_LSTM_MIN_HIDDEN:
        return NATIVE
    return "fused"


def runner(implementation: str, cell: str) -> Callable:
    """The per-direction runner of ``cell`` in ``implementation`` (not ``native``)."""
    return importlib.import_module(MODULES[implementation]).RUNNERS[cell]


def available() -> list:
    """The concrete implementations, ``native`` first (``auto`` picks one of them)."""
    return [NATIVE] + sorted(MODULES)


def choices() -> list:
    """Every name ``implementation=`` accepts."""
    return [AUTO] + available()
