"""The ``fused`` implementation's runners, one per cell: hand-written BPTT, few large GEMMs.

The plan they share, and the helpers, are in :mod:`recurrente.layers.fused_ops`; each cell is in
its own module (:mod:`~recurrente.layers.fused_rnn`, :mod:`~recurrente.layers.fused_lstm`,
:mod:`~recurrente.layers.fused_gru`). :mod:`recurrente.layers.registry` imports this module the
first time a layer asks for ``implementation="fused"``.
"""

import functools

import torch

from recurrente.layers import step_gemm
from recurrente.layers.fused_gru import gru_runner
from recurrente.layers.fused_lstm import lstm_runner
from recurrente.layers.fused_rnn import rnn_runner


def full_precision(runner):
    """``runner`` with float32 state inside ``torch.autocast`` (``--precision bf16/fp16``).

    The hand-written BPTT keeps its buffers, its saved tensors and its pointwise gate arithmetic
    in one dtype; autocast would turn some of its products into bfloat16 and leave the rest in
    float32, which the backward cannot mix. So autocast is switched off for the recurrence and
    low-precision inputs are cast up to float32. Under bfloat16 autocast on a CPU with bfloat16
    instructions the matrix products (each step's ``H_{t-1} W_h^T`` and ``dA_t W_h``, and the
    input projections) then run in bfloat16 with float32 accumulation
    (:func:`recurrente.layers.step_gemm.matmul_in`); elsewhere (fp16, CUDA, a CPU without them)
    the whole recurrence is float32. Outside autocast this is the runner itself, unchanged."""
    @functools.wraps(runner)
    def run(x, state0, *weights, **options):
        device = x.device.type
        if not torch.is_autocast_enabled(device):
            return runner(x, state0, *weights, **options)
        up = lambda t: t.float() if t is not None and t.dtype in LOW else t  # noqa: E731
        state0 = tuple(map(up, state0)) if isinstance(state0, tuple) else up(state0)
        with torch.autocast(device, enabled=False), step_gemm.matmul_in(matmul_dtype(device)):
            return runner(up(x), state0, *map(up, weights), **options)
    return run


def matmul_dtype(device: str):
    """bfloat16 for the fused products under CPU bfloat16 autocast where the CPU has the
    instructions (:func:`recurrente.layers.step_gemm.bf16_available`), else ``None``."""
    if (device == "cpu" and torch.get_autocast_dtype("cpu") == torch.bfloat16
            and step_gemm.bf16_available()):
        return torch.bfloat16
    return None


LOW = (torch.float16, torch.bfloat16)
RUNNERS = {"rnn": full_precision(rnn_runner), "lstm": full_precision(lstm_runner),
           "gru": full_precision(gru_runner)}
