"""recurrente: recurrent neural networks you can read, trust and train.

Dimension legend (used in every shape comment of the package)::

    T  time steps            B  batch size           D  input features
    H  hidden size           V  vocabulary size      L  stacked layers
    K  directions (1, or 2 when bidirectional)       G  gates per cell (RNN 1, LSTM 4, GRU 3)

Tensors are time-major inside the package, ``(T, B, ...)``; ``batch_first`` is handled only at
the public boundary of the layers.
"""

__version__ = "0.1.0"

from recurrente.layers import GRU, LSTM, RNN, LSTMState  # noqa: E402
from recurrente.layers.state import detach_state, init_state, reorder_state  # noqa: E402
from recurrente.tasks.language_model import LanguageModel  # noqa: E402
from recurrente.tasks.lm_training import LMOptions, train_language_model  # noqa: E402

__all__ = [
    "RNN", "LSTM", "GRU", "LSTMState",
    "init_state", "detach_state", "reorder_state",
    "LanguageModel", "LMOptions", "train_language_model",
    "__version__",
]
