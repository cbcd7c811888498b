"""Which implementations exist, and the per-direction runner each provides.

A runner has the signature ``runner(x (T, B, D), state0, w_ih, w_hh, b_ih, b_hh, **cell_options)
-> (H_all (T, B, H), C_all (T, B, H) or None)``; ``state0`` is ``(B, H)`` or, for the LSTM,
``(H_0, C_0)``. The layer stack (:mod:`recurrente.layers.base`) builds depth, directions, dropout
and variable lengths around it, so an implementation only ever writes one layer, one direction.
``native`` is the exception: torch runs the whole stack in one call.
"""

from typing import Callable, Dict

from recurrente.layers import scratch

RUNNERS: Dict[str, Dict[str, Callable]] = {"scratch": scratch.RUNNERS}
NATIVE = "native"
DEFAULT = "native"  # the fastest implementation measured on CPU (benchmarks/layers.py)


def register(implementation: str, runners: Dict[str, Callable]) -> None:
    """Make ``implementation`` available to every layer (used by the fused implementation)."""
    RUNNERS[implementation] = runners


def available() -> list:
    """Names accepted by ``implementation=``, the default first."""
    return [NATIVE] + sorted(RUNNERS)
