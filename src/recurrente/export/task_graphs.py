"""Each task's graphs for export, with the torch computation they must agree with.

A :class:`Graph` names its ONNX inputs and outputs, their dynamic axes, example inputs of any
``(T, B)``, and a ``reference`` that computes the same outputs with the trained model itself:
the export's parity check runs both on random inputs of several lengths and batch sizes.

* language model: ``lm_sequence`` (``ids (T, B)`` and the state in; logits and the state out:
  scoring, or priming) and ``lm_step`` (one token per stream, ``ids (B,)``: generation);
* classifier: ``classifier`` (``ids (T, B)``, ``lengths (B,)`` → probabilities ``(B, C)``);
* tagger: ``tagger`` (words, lengths and each word's letters → emissions ``(T, B, N)``); the CRF's
  Viterbi runs beside it (:mod:`recurrente.export.viterbi`, NumPy).
"""

from dataclasses import dataclass
from typing import Callable, Dict, List

import numpy as np
import torch
from torch import Tensor, nn

from recurrente.export.graphs import NativeStack
from recurrente.layers.pooling import step_mask


@dataclass
class Graph:
    name: str
    module: nn.Module
    inputs: List[str]
    outputs: List[str]
    axes: Dict[str, Dict[int, str]]
    example: Callable  # (T, B, rng) -> tuple of input tensors
    reference: Callable  # (*inputs) -> tuple of output tensors


def _state_names(cell: str) -> List[str]:
    return ["h0", "c0"] if cell == "lstm" else ["h0"]


class LMGraph(nn.Module):
    """``ids (T, B)`` (or ``(B,)`` with ``step``), state → logits, state."""

    def __init__(self, model, step: bool):
        super().__init__()
        self.embedding, self.head, self.step = model.embedding, model.head, step
        self.stack, self.lstm = NativeStack(model.rnn), model.cell == "lstm"

    def forward(self, ids: Tensor, h0: Tensor, c0: Tensor = None):
        x = self.embedding(ids.unsqueeze(0) if self.step else ids)  # (T, B, E)
        y, final = self.stack(x, (h0, c0) if self.lstm else h0)
        logits = self.head(y[0] if self.step else y)  # (B, V) or (T, B, V)
        return (logits, *final) if self.lstm else (logits, final)


def lm_graphs(model) -> List[Graph]:
    L, K, H, V = model.rnn.num_layers, 1, model.rnn.hidden_size, model.vocab_size
    states = _state_names(model.cell)
    outs = [n[:-1] for n in states]  # h, c

    def example(T, B, rng, step):
        ids = torch.from_numpy(rng.integers(0, V, size=(B,) if step else (T, B)))
        return (ids, *[torch.from_numpy(rng.standard_normal((L * K, B, H)).astype(np.float32))
                       for _ in states])

    def reference(step):
        def run(ids, *state):
            s = state if model.cell == "lstm" else state[0]
            logits, final = model(ids.unsqueeze(0) if step else ids, s)
            final = tuple(final) if model.cell == "lstm" else (final,)
            return (logits[0] if step else logits, *final)
        return run

    graphs = []
    for step in (False, True):
        name = "lm_step" if step else "lm_sequence"
        axes = {"ids": {0: "B"} if step else {0: "T", 1: "B"},
                "logits": {0: "B"} if step else {0: "T", 1: "B"},
                **{n: {1: "B"} for n in states + outs}}
        graphs.append(Graph(name, LMGraph(model, step), ["ids", *states], ["logits", *outs], axes,
                            lambda T, B, rng, step=step: example(T, B, rng, step),
                            reference(step)))
    return graphs


class ClassifierGraph(nn.Module):
    """``ids (T, B)``, ``lengths (B,)`` → class probabilities ``(B, C)``."""

    def __init__(self, model):
        super().__init__()
        self.embedding, self.pool, self.head = model.embedding, model.pool, model.head
        self.stack = NativeStack(model.rnn)

    def forward(self, ids: Tensor, lengths: Tensor):
        out, last = self.stack(self.embedding(ids), None, lengths)  # (T, B, K*H), (K, B, H)
        pooled, _ = self.pool(out, lengths, last)  # (B, K*H)
        return torch.softmax(self.head(pooled), dim=-1)


def _lengths(T, B, rng):
    lengths = rng.integers(1, T + 1, size=B)
    lengths[rng.integers(0, B)] = T  # the longest fills the batch
    return torch.from_numpy(lengths)


def classifier_graphs(model) -> List[Graph]:
    V = model._config["vocab_size"]

    def example(T, B, rng):
        return torch.from_numpy(rng.integers(2, V, size=(T, B))), _lengths(T, B, rng)

    def reference(ids, lengths):
        return (torch.softmax(model(ids, lengths), dim=-1),)

    return [Graph("classifier", ClassifierGraph(model), ["ids", "lengths"], ["probabilities"],
                  {"ids": {0: "T", 1: "B"}, "lengths": {0: "B"}, "probabilities": {0: "B"}},
                  example, reference)]


class TaggerGraph(nn.Module):
    """Words ``(T, B)``, ``lengths (B,)``, the real words' letters ``chars (W, N)`` with
    ``char_lengths (N,)``, and ``char_index (T, B)`` (which of the N words sits at each position;
    N for padding) → emissions ``(T, B, tags)``."""

    def __init__(self, model):
        super().__init__()
        self.embedding, self.emit, self.chars = model.embedding, model.emit, model.chars
        self.stack = NativeStack(model.rnn)
        self.char_stack = (NativeStack(model.chars.rnn) if model.chars is not None
                           and model.chars.kind == "lstm" else None)

    def forward(self, words, lengths, chars, char_lengths, char_index):
        x = self.embedding(words)  # (T, B, E)
        if self.chars is not None:
            per_word = self._letters(chars, char_lengths)  # (N, F)
            padded = torch.cat([per_word, per_word.new_zeros(1, per_word.shape[1])])  # (N+1, F)
            x = torch.cat([x, padded[char_index]], dim=-1)  # (T, B, E + F)
        out, _ = self.stack(x, None, lengths)  # (T, B, K*H)
        return self.emit(out)

    def _letters(self, chars, char_lengths):
        emb = self.chars.embedding(chars)  # (W, N, e)
        if self.char_stack is not None:
            _, last = self.char_stack(emb, None, char_lengths)  # (2, N, h)
            return torch.cat([last[0], last[1]], dim=-1)  # (N, 2h)
        feats = torch.relu(self.chars.conv(emb.permute(1, 2, 0)))  # (N, F, W)
        mask = step_mask(char_lengths, chars.shape[0]).T.unsqueeze(1)  # (N, 1, W)
        return feats.masked_fill(~mask, float("-inf")).amax(-1)  # (N, F)


def tagger_inputs(words: Tensor, lengths: Tensor, letters: List[np.ndarray]):
    """The tagger graph's inputs from padded words and the letters of the real words in
    time-major order (as the tagger's batches hold them)."""
    from recurrente.data.padded import pad
    chars, char_lengths = pad(letters, 0) if letters else (torch.zeros(1, 0, dtype=torch.long),
                                                           torch.zeros(0, dtype=torch.long))
    mask = step_mask(lengths, words.shape[0])  # (T, B)
    index = torch.full(words.shape, len(letters), dtype=torch.long)
    index[mask] = torch.arange(len(letters))
    return words, lengths, chars, char_lengths, index


def tagger_graphs(model) -> List[Graph]:
    V, C = model._config["vocab_size"], model._config["char_vocab_size"]

    def example(T, B, rng):
        words = torch.from_numpy(rng.integers(2, V, size=(T, B)))
        lengths = _lengths(T, B, rng)
        letters = [rng.integers(2, C, size=rng.integers(1, 9))
                   for t in range(T) for b in range(B) if t < lengths[b]]
        return tagger_inputs(words, lengths, letters)

    def reference(words, lengths, chars, char_lengths, char_index):
        batch = {"words": words, "lengths": lengths, "chars": chars,
                 "char_lengths": char_lengths}
        return (model.emissions(batch),)

    axes = {"words": {0: "T", 1: "B"}, "lengths": {0: "B"}, "chars": {0: "W", 1: "N"},
            "char_lengths": {0: "N"}, "char_index": {0: "T", 1: "B"},
            "emissions": {0: "T", 1: "B"}}
    return [Graph("tagger", TaggerGraph(model),
                  ["words", "lengths", "chars", "char_lengths", "char_index"], ["emissions"],
                  axes, example, reference)]


GRAPHS = {"lm": lm_graphs, "classify": classifier_graphs, "tag": tagger_graphs}
