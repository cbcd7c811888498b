"""Recurrent layers by cell name, and the few words that describe one.

The tasks choose their layer with a string (``"rnn"``, ``"lstm"``, ``"gru"``, as in a config
file or on the command line); :func:`make_layer` is the one place that turns it into a class::

    >>> rnn = make_layer("lstm", 32, 64, num_layers=2, implementation="scratch", dropout=0.2)
    >>> describe_layer(rnn)
    '2x64 lstm (scratch)'
"""

from recurrente.layers.base import RecurrentLayer
from recurrente.layers.min_rnn import MinGRU, MinLSTM
from recurrente.layers.modules import GRU, LSTM, RNN
from recurrente.layers.xlstm import MLSTM, SLSTM

LAYERS = {"rnn": RNN, "lstm": LSTM, "gru": GRU, "mingru": MinGRU, "minlstm": MinLSTM,
          "slstm": SLSTM, "mlstm": MLSTM}
# What every task's ``--cell`` accepts: every layer above (export and the gate traces say in one
# sentence which cells they take).
TASK_CELLS = tuple(LAYERS)


def make_layer(cell: str, input_size: int, hidden_size: int, num_layers: int = 1,
               **kwargs) -> RecurrentLayer:
    """``RNN``, ``LSTM``, ``GRU``, ``MinGRU``, ``MinLSTM``, ``SLSTM`` or ``MLSTM`` by name;
    ``kwargs`` go to its constructor (``implementation``, ``dropout``, ``bidirectional``,
    ``forget_bias``, ...).

    Raises:
        ValueError: for an unknown ``cell`` (naming the valid ones), or any option the layer
            itself refuses (an unknown implementation, for one).
    """
    return LAYERS[check_cell(cell)](input_size, hidden_size, num_layers, **kwargs)


def check_cell(cell: str) -> str:
    """``cell`` if :func:`make_layer` knows it; ValueError naming the valid ones otherwise."""
    if cell not in LAYERS:
        raise ValueError(f"unknown cell {cell!r}; expected one of {', '.join(LAYERS)}")
    return cell


def describe_layer(layer: RecurrentLayer) -> str:
    """e.g. ``2x256 lstm (native)`` or ``2x512 gru (auto: fused)``: depth, width, cell and the
    implementation that runs on the layer's device (named so that no slow path is silent)."""
    device = next(layer.parameters()).device
    running = layer.implementation_for(device)
    name = running if running == layer.implementation else f"{layer.implementation}: {running}"
    return f"{layer.num_layers}x{layer.hidden_size} {layer.cell} ({name})"
