"""The ``native`` implementation: torch's own fused kernels (oneDNN on CPU, cuDNN on GPU).

Our layers hold torch.nn's parameters under torch.nn's names, so the whole stack can be handed
to a parameter-less ``torch.nn.RNN/LSTM/GRU`` template (built on the ``meta`` device) with
:func:`torch.func.functional_call`. Variable lengths go through a ``PackedSequence``, which is
exactly the behaviour the other implementations reproduce.
"""

import warnings

import torch
from torch import nn
from torch.func import functional_call
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

_TEMPLATES = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}


def make_template(layer) -> nn.Module:
    """A meta-device torch.nn module with ``layer``'s hyper-parameters and no storage."""
    kwargs = dict(input_size=layer.input_size, hidden_size=layer.hidden_size,
                  num_layers=layer.num_layers, bias=layer.bias, batch_first=False,
                  dropout=layer.dropout, bidirectional=layer.bidirectional, device="meta")
    if layer.cell == "rnn":
        kwargs["nonlinearity"] = layer.nonlinearity
    return _TEMPLATES[layer.cell](**kwargs)


def native_forward(layer, template: nn.Module, x, state, lengths):
    """Run the stack with torch's kernels; ``x (T, B, D)`` time-major, ``lengths`` or ``None``."""
    template.train(layer.training)
    params = dict(layer.named_parameters())
    steps = x.shape[0]
    if lengths is not None:
        x = pack_padded_sequence(x, lengths, enforce_sorted=False)
    hx = tuple(state) if isinstance(state, tuple) else state
    with warnings.catch_warnings():
        # cuDNN prefers one flat weight buffer; ours are separate tensors, which it copies.
        warnings.filterwarnings("ignore", message=".*contiguous chunk of memory.*")
        y, final = functional_call(template, params, (x, hx))
    if lengths is not None:
        y, _ = pad_packed_sequence(y, total_length=steps)  # (T, B, K*H), zero past each length
    return y, final
