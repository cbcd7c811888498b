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


def make_template(layer, input_size=None, num_layers=None) -> nn.Module:
    """A meta-device torch.nn module with ``layer``'s hyper-parameters and no storage (or with
    another input size and depth: one layer of the stack)."""
    num_layers = layer.num_layers if num_layers is None else num_layers
    kwargs = dict(input_size=input_size or layer.input_size, hidden_size=layer.hidden_size,
                  num_layers=num_layers, bias=layer.bias, batch_first=False,
                  dropout=layer.dropout if num_layers > 1 else 0.0,
                  bidirectional=layer.bidirectional, device="meta")
    if layer.cell == "rnn":
        kwargs["nonlinearity"] = layer.nonlinearity
    return _TEMPLATES[layer.cell](**kwargs)


def native_forward(layer, template: nn.Module, x, state, lengths, params=None):
    """Run the stack with torch's kernels; ``x (T, B, D)`` time-major, ``lengths`` or ``None``;
    ``params``: name -> tensor to run with (default: the layer's parameters)."""
    template.train(layer.training)
    params = dict(layer.named_parameters()) if params is None else params
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


def native_layerwise(layer, x, state, lengths, params: dict, between):
    """The stack one layer per kernel call, with ``between(k, y)`` applied to the output of every
    layer ``k`` but the last (where torch's kernel would apply its own dropout)."""
    K, L = layer.num_directions, layer.num_layers
    templates = layer.__dict__.setdefault("_layer_templates", {})
    finals = []
    for k in range(L):
        size = layer.input_size if k == 0 else layer.hidden_size * K
        if size not in templates:
            templates[size] = make_template(layer, input_size=size, num_layers=1)
        renamed = {}
        for sfx in ("", "_reverse")[:K]:
            for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
                if f"{name}_l{k}{sfx}" in params:
                    renamed[f"{name}_l0{sfx}"] = params[f"{name}_l{k}{sfx}"]
        rows = slice(k * K, (k + 1) * K)
        state_k = type(state)(*(s[rows] for s in state)) if isinstance(state, tuple) \
            else state[rows]  # (K, B, H)
        templates[size].train(layer.training)
        x, final = native_forward(layer, templates[size], x, state_k, lengths, renamed)
        if k < L - 1:
            x = between(k, x)  # (T, B, K*H)
        finals.append(final)
    if isinstance(finals[0], tuple):
        return x, tuple(torch.cat(parts) for parts in zip(*finals))
    return x, torch.cat(finals)  # (L*K, B, H)
