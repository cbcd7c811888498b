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

# The tasks load on first use, so that ``import recurrente`` (and ``recurrente --help``) pulls in
# neither the trainer nor any task: name -> "module:attribute".
_LAZY = {
    "load": "recurrente.train.run:load_model",  # recurrente.load(RUN): the model of any task
    "LanguageModel": "recurrente.tasks.lm.model:LanguageModel",
    "LMOptions": "recurrente.tasks.lm.options:LMOptions",
    "train_language_model": "recurrente.tasks.lm.task:train_language_model",
    "SequenceClassifier": "recurrente.tasks.classify.model:SequenceClassifier",
    "ClassifierOptions": "recurrente.tasks.classify.options:ClassifierOptions",
    "train_classifier": "recurrente.tasks.classify.task:train_classifier",
    "SequenceTagger": "recurrente.tasks.tag.model:SequenceTagger",
    "TaggerOptions": "recurrente.tasks.tag.options:TaggerOptions",
    "train_tagger": "recurrente.tasks.tag.task:train_tagger",
    "Seq2Seq": "recurrente.tasks.seq2seq.model:Seq2Seq",
    "TranslatorOptions": "recurrente.tasks.seq2seq.options:TranslatorOptions",
    "train_translator": "recurrente.tasks.seq2seq.task:train_translator",
    "SequenceRegressor": "recurrente.tasks.regress.model:SequenceRegressor",
    "RegressorOptions": "recurrente.tasks.regress.options:RegressorOptions",
    "train_regressor": "recurrente.tasks.regress.task:train_regressor",
    "RNNCell": "recurrente.layers.cell_modules:RNNCell",
    "LSTMCell": "recurrente.layers.cell_modules:LSTMCell",
    "GRUCell": "recurrente.layers.cell_modules:GRUCell",
}


def __getattr__(name: str):
    if name not in _LAZY:
        raise AttributeError(f"module 'recurrente' has no attribute {name!r}")
    import importlib
    module, attribute = _LAZY[name].split(":")
    value = getattr(importlib.import_module(module), attribute)
    globals()[name] = value
    return value


__all__ = [
    "RNN", "LSTM", "GRU", "LSTMState",
    "init_state", "detach_state", "reorder_state",
    *_LAZY,
    "__version__",
]
