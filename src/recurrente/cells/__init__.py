"""One time step of each recurrent cell, written as the course writes it.

Every cell function maps ``(X_t (B, D), state, weights) -> new state`` and holds torch.nn's
parameters: ``w_ih (G*H, D)``, ``w_hh (G*H, H)``, ``b_ih``, ``b_hh`` ``(G*H,)`` or ``None``.
The ``*_parts`` functions compute the same step and return every intermediate (gates included)
by short name; the ``*_cell`` functions return only the new state.
"""

from recurrente.cells.gru import gru_cell, gru_parts
from recurrente.cells.lstm import lstm_cell, lstm_parts
from recurrente.cells.rnn import rnn_cell, rnn_parts

GATE_NAMES = {"rnn": ("h",), "lstm": ("i", "f", "g", "o"), "gru": ("r", "z", "n")}
"""The ``G`` row blocks of ``w_ih``/``w_hh`` per cell, in torch.nn's order (``g`` is the LSTM's
candidate ``C~_t``, ``n`` the GRU's ``H~_t``; the Elman cell's single block is named ``h``)."""

__all__ = ["rnn_cell", "lstm_cell", "gru_cell", "rnn_parts", "lstm_parts", "gru_parts",
           "GATE_NAMES"]
