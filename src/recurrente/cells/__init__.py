"""One time step of each recurrent cell, written as the course writes it.

Every cell function maps ``(X_t (B, D), state, weights) -> new state`` and holds torch.nn's
parameters: ``w_ih (G*H, D)``, ``w_hh (G*H, H)``, ``b_ih``, ``b_hh`` ``(G*H,)`` or ``None``.
"""

from recurrente.cells.gru import gru_cell
from recurrente.cells.lstm import lstm_cell
from recurrente.cells.rnn import rnn_cell

__all__ = ["rnn_cell", "lstm_cell", "gru_cell"]
