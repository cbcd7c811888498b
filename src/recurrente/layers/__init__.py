"""Recurrent layers: a sequence in, every step's output and the final state out."""

from recurrente.layers.modules import GRU, LSTM, RNN
from recurrente.layers.state import LSTMState

__all__ = ["RNN", "LSTM", "GRU", "LSTMState"]
