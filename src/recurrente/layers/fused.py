"""The ``fused`` implementation's runners, one per cell: hand-written BPTT, few large GEMMs.

The plan they share, and the helpers, are in :mod:`recurrente.layers.fused_ops`; each cell is in
its own module (:mod:`~recurrente.layers.fused_rnn`, :mod:`~recurrente.layers.fused_lstm`,
:mod:`~recurrente.layers.fused_gru`). :mod:`recurrente.layers.registry` imports this module the
first time a layer asks for ``implementation="fused"``.
"""

from recurrente.layers.fused_gru import gru_runner
from recurrente.layers.fused_lstm import lstm_runner
from recurrente.layers.fused_rnn import rnn_runner

RUNNERS = {"rnn": rnn_runner, "lstm": lstm_runner, "gru": gru_runner}
