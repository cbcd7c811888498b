"""The ``fused`` implementation's runners, one per cell: hand-written BPTT, few large GEMMs.

The plan they share, and the helpers, are in :mod:`recurrente.layers.fused_ops`; each cell is in
its own module (:mod:`~recurrente.layers.fused_rnn`, :mod:`~recurrente.layers.fused_lstm`,
:mod:`~recurrente.layers.fused_gru`). :mod:`recurrente.layers.registry` imports this module the
first time a layer asks for ``implementation="fused"``.
"""

import functools

import torch

from recurrente.layers.fused_gru import gru_runner
from recurrente.layers.fused_lstm import lstm_runner
from recurrente.layers.fused_rnn import rnn_runner


def full_precision(runner):
    """``runner`` run in float32 even inside ``torch.autocast`` (``--precision bf16/fp16``).

    The hand-written BPTT keeps its buffers, its saved tensors and its backward GEMMs in the
    input's dtype; autocast would turn some of its products into bfloat16 and leave the rest in
    float32, which the backward cannot mix. So autocast is switched off for the recurrence and
    low-precision inputs are cast up: the fused layers compute in float32 under any precision
    (what :mod:`recurrente.train.precision` says in the training log). Outside autocast this is
    the runner itself, unchanged."""
    @functools.wraps(runner)
    def run(x, state0, *weights, **options):
        if not torch.is_autocast_enabled(x.device.type):
            return runner(x, state0, *weights, **options)
        up = lambda t: t.float() if t is not None and t.dtype in LOW else t  # noqa: E731
        state0 = tuple(map(up, state0)) if isinstance(state0, tuple) else up(state0)
        with torch.autocast(x.device.type, enabled=False):
            return runner(up(x), state0, *map(up, weights), **options)
    return run


LOW = (torch.float16, torch.bfloat16)
RUNNERS = {"rnn": full_precision(rnn_runner), "lstm": full_precision(lstm_runner),
           "gru": full_precision(gru_runner)}
