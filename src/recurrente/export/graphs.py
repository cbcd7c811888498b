"""Graphs to export: each trained model rebuilt from torch.nn's layers, which ONNX knows.

Whatever implementation a run trained with, the exported graph runs torch.nn's ``RNN``/``LSTM``/
``GRU`` (ONNX's ``RNN``/``LSTM``/``GRU`` operators) with the same weights, one module per layer
and direction. Variable lengths are exact without packing (which ONNX cannot express): the
reverse direction reads each sequence reversed *within its own length*,

    rev(x)[t, b] = x[n_b - 1 - t, b]  for t < n_b,   x[t, b] otherwise

so a padded step never reaches a real one; a sequence's last state is its output at ``n_b - 1``,
and its outputs past ``n_b`` are zero, as the package's layers make them.
The recurrent state is an explicit input and output where a caller streams (the language model).
minGRU and minLSTM have no torch.nn layer nor ONNX operator: :class:`NativeStack` and
:class:`PackedLayer` run them as :class:`recurrente.export.min_graphs.MinStack` (their scan in
plain operators), so a task's graphs need nothing of their own for them.

A task's graphs (its folder's ``export.py``) are :class:`Graph` records: the module to trace, its
ONNX inputs and outputs with their dynamic axes, example inputs of any ``(T, B)`` and the torch
computation the graph must agree with, which the export's parity check runs beside onnxruntime.
"""

from dataclasses import dataclass
from typing import Callable, Dict, List, Optional

import numpy as np

import torch
from torch import Tensor, nn

from recurrente.errors import UserError
from recurrente.export.min_graphs import MIN_CELLS, MinStack
from recurrente.layers.pooling import step_mask

TORCH_LAYERS = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}


@dataclass
class Graph:
    """One ONNX file: ``module`` traced with ``inputs``/``outputs`` named and ``axes`` (input or
    output name -> axis -> its name) dynamic; ``example(T, B, rng)`` -> input tensors;
    ``reference(*inputs)`` -> the outputs computed by the trained model itself."""
    name: str
    module: nn.Module
    inputs: List[str]
    outputs: List[str]
    axes: Dict[str, Dict[int, str]]
    example: Callable  # (T, B, rng) -> tuple of input tensors
    reference: Callable  # (*inputs) -> tuple of output tensors


def random_lengths(T: int, B: int, rng: np.random.Generator) -> Tensor:
    """``(B,)`` lengths from 1 to ``T``, one of them ``T`` (the longest fills the batch)."""
    lengths = rng.integers(1, T + 1, size=B)
    lengths[rng.integers(0, B)] = T
    return torch.from_numpy(lengths)


def _refuse_course_gru(layer) -> None:
    if getattr(layer, "reset_after", True) is False:
        raise UserError("the course's GRU (reset_after=False) has no ONNX operator; export "
                        "needs torch.nn's GRU form (reset_after=True)")


def torch_layer(layer) -> nn.Module:
    """A native recurrent layer of the package as one torch.nn ``RNN``/``LSTM``/``GRU`` of all
    its layers and directions, with its weights (the same parameter names); on a packed sequence
    it exports as ONNX's recurrent operator with ``sequence_lens``: exact final states per
    length, ``(L*K, B, H)``."""
    _refuse_course_gru(layer)
    options = {"nonlinearity": layer.nonlinearity} if layer.cell == "rnn" else {}
    module = TORCH_LAYERS[layer.cell](layer.input_size, layer.hidden_size, layer.num_layers,
                                      bias=layer.bias, bidirectional=layer.num_directions == 2,
                                      **options)
    module.load_state_dict(dict(layer.named_parameters()))
    return module


def reverse_within(x: Tensor, lengths: Tensor) -> Tensor:
    """``x (T, B, ...)`` with each sequence's first ``lengths[b]`` steps in reverse order."""
    T = x.shape[0]
    t = torch.arange(T, device=x.device).unsqueeze(1)  # (T, 1)
    n = lengths.unsqueeze(0)  # (1, B)
    index = torch.where(t < n, n - 1 - t, t)  # (T, B)
    index = index.view(T, -1, *([1] * (x.dim() - 2))).expand_as(x)
    return x.gather(0, index)


def at_lengths(y: Tensor, lengths: Tensor) -> Tensor:
    """``y[lengths[b] - 1, b]`` for every b: ``(B, F)`` from ``y (T, B, F)``."""
    index = (lengths - 1).view(1, -1, 1).expand(1, y.shape[1], y.shape[2])  # (1, B, F)
    return y.gather(0, index).squeeze(0)


class NativeStack(nn.Module):
    """A recurrent layer of the package as single-layer, single-direction torch.nn modules.

    ``forward(x (T, B, D), state, lengths)`` returns ``(y (T, B, K*H), final)`` like the layer:
    ``final`` is ``(L*K, B, H)`` (an ``(h, c)`` pair for the LSTM) with ``lengths=None``; with
    lengths, ``final`` is the top layer's last ``H`` of each direction, ``(K, B, H)`` (what
    :func:`recurrente.layers.pooling.final_states` reads).
    A minGRU/minLSTM layer runs as :class:`~recurrente.export.min_graphs.MinStack`, with the
    same outputs.
    """

    def __init__(self, layer):
        super().__init__()
        _refuse_course_gru(layer)
        self.cell, self.L, self.K, self.H = (layer.cell, layer.num_layers, layer.num_directions,
                                             layer.hidden_size)
        self.min = MinStack(layer) if layer.cell in MIN_CELLS else None
        if self.min is not None:
            return
        options = {"nonlinearity": layer.nonlinearity} if layer.cell == "rnn" else {}
        self.parts = nn.ModuleList()
        for k in range(self.L):
            for d in range(self.K):
                w_ih, w_hh, b_ih, b_hh = layer.weights(k, d)
                part = TORCH_LAYERS[self.cell](w_ih.shape[1], self.H, bias=b_ih is not None,
                                               **options)
                with torch.no_grad():
                    part.weight_ih_l0.copy_(w_ih)
                    part.weight_hh_l0.copy_(w_hh)
                    if b_ih is not None:
                        part.bias_ih_l0.copy_(b_ih)
                        part.bias_hh_l0.copy_(b_hh)
                self.parts.append(part)

    def forward(self, x: Tensor, state=None, lengths: Optional[Tensor] = None):
        if self.min is not None:
            y, final = self.min(x, state, lengths)  # final (L*K, B, H)
            return y, final if lengths is None else final[-self.K:]
        finals: List = []
        for k in range(self.L):
            outs = []
            for d in range(self.K):
                part = self.parts[k * self.K + d]
                s0 = None if state is None else self._slice(state, k * self.K + d)
                inp = x if d == 0 else reverse_within(x, lengths) if lengths is not None \
                    else x.flip(0)
                y, s = part(inp, s0)  # (T, B, H)
                finals.append(s)
                outs.append(y if d == 0 else reverse_within(y, lengths) if lengths is not None
                            else y.flip(0))
            x = torch.cat(outs, dim=-1) if self.K == 2 else outs[0]  # (T, B, K*H)
        if lengths is not None:
            x = x * step_mask(lengths, x.shape[0]).unsqueeze(-1).to(x.dtype)  # padding: 0
            H = self.H
            last = [at_lengths(x[..., :H], lengths)]  # forward: at its own last step
            if self.K == 2:
                last.append(x[0, :, H:])  # reverse: after reading back to the first step
            return x, torch.stack(last)  # (K, B, H): the top layer's, as pooling reads it
        return x, self._join(finals)

    def _slice(self, state, i: int):
        if self.cell == "lstm":
            return state[0][i:i + 1], state[1][i:i + 1]
        return state[i:i + 1]

    def _join(self, finals):
        if self.cell == "lstm":
            return torch.cat([h for h, _ in finals]), torch.cat([c for _, c in finals])
        return torch.cat(finals)


class PackedLayer(nn.Module):
    """A recurrent layer of the package on right-padded sequences with lengths:
    ``forward(x (T, B, D), lengths (B,))`` -> ``(y (T, B, K*H), final)``, ``final`` the layer's
    ``(L*K, B, H)`` (an ``(h, c)`` pair for the LSTM), every state at its sequence's last step and
    ``y`` zero on padding. torch.nn's cells run :func:`torch_layer` on a packed sequence (ONNX's
    recurrent operators with ``sequence_lens``), minGRU/minLSTM their
    :class:`~recurrente.export.min_graphs.MinStack`."""

    def __init__(self, layer):
        super().__init__()
        self.rnn = MinStack(layer) if layer.cell in MIN_CELLS else torch_layer(layer)
        self.packed = layer.cell not in MIN_CELLS

    def forward(self, x: Tensor, lengths: Tensor):
        if not self.packed:
            return self.rnn(x, None, lengths)
        from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence
        out, final = self.rnn(pack_padded_sequence(x, lengths, enforce_sorted=False))
        y, _ = pad_packed_sequence(out, total_length=x.shape[0])  # (T, B, K*H)
        return y, final
