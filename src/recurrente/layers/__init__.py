"""Recurrent layers: a sequence in, every step's output and the final state out."""

from recurrente.layers.modules import GRU, LSTM, RNN
from recurrente.layers.factory import describe_layer, make_layer
from recurrente.layers.state import LSTMState

__all__ = ["RNN", "LSTM", "GRU", "LSTMState", "make_layer", "describe_layer"]
