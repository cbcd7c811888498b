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

from recurrente.errors import UserError
from recurrente.export.graphs import TORCH_LAYERS, NativeStack
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


# ----------------------------------------------------------------------------- translator

class EncoderGraph(nn.Module):
    """``src (S, B)``, ``src_lengths (B,)`` → ``keys (S, B, H)``, ``memory`` (what the attention
    scores read: ``W s_j`` or ``W_k s_j``, else the keys), and the decoder's first state:
    ``hidden (L, B, H)`` (and ``cell`` for an LSTM). torch.nn's layer on a packed sequence
    exports as ONNX's recurrent operator with ``sequence_lens``: exact final states per length."""

    def __init__(self, model):
        super().__init__()
        layer = model.rnn
        if getattr(layer, "reset_after", True) is False:
            raise UserError("the course's GRU (reset_after=False) has no ONNX operator")
        options = {"nonlinearity": layer.nonlinearity} if layer.cell == "rnn" else {}
        self.rnn = TORCH_LAYERS[layer.cell](layer.input_size, layer.hidden_size,
                                            layer.num_layers, bias=layer.bias,
                                            bidirectional=layer.num_directions == 2, **options)
        self.rnn.load_state_dict(dict(layer.named_parameters()))
        self.embedding, self.bridge, self.model = model.embedding, model.bridge, model
        self.lstm = layer.cell == "lstm"

    def forward(self, src: Tensor, src_lengths: Tensor):
        from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence
        packed = pack_padded_sequence(self.embedding(src), src_lengths, enforce_sorted=False)
        out, final = self.rnn(packed)
        keys, _ = pad_packed_sequence(out, total_length=src.shape[0])  # (S, B, H)
        hidden = self.bridge(_lstm_state(final) if self.lstm else final)  # L × state
        attention = self.model.decoder.attention
        memory = attention.prepare(keys).projected if attention.enabled else keys
        if self.lstm:
            return (keys, memory, torch.stack([s.h for s in hidden]),
                    torch.stack([s.c for s in hidden]))
        return keys, memory, torch.stack(hidden)


def _lstm_state(final):
    from recurrente.layers.state import LSTMState
    return LSTMState(*final)


class DecoderStepGraph(nn.Module):
    """One target token per sentence: ``tokens (B,)``, the state (``hidden``/``cell (L, B, H)``,
    ``feed (B, O)`` with input feeding), the encoder's ``keys``/``memory (S, B, ·)`` and
    ``src_lengths (B,)`` → ``log_probs (B, V)``, the next state and the attention ``(S, B)``."""

    def __init__(self, model):
        super().__init__()
        self.decoder, self.lstm = model.decoder, model.cell == "lstm"
        self.feeding = model.decoder.input_feeding

    def forward(self, tokens, hidden, *rest):
        from recurrente.layers.state import LSTMState
        from recurrente.tasks.seq2seq.attention import PreparedKeys
        rest = list(rest)
        cell = rest.pop(0) if self.lstm else None
        feed = rest.pop(0) if self.feeding else None
        keys, memory, src_lengths = rest
        layers = [LSTMState(h, c) for h, c in zip(hidden, cell)] if self.lstm else list(hidden)
        mask = step_mask(src_lengths, keys.shape[0])  # (S, B)
        state = {"hidden": tuple(layers), "memory": PreparedKeys(keys, memory),
                 "mask": mask.T, **({"feed": feed} if self.feeding else {})}
        attentional, new, weights = self.decoder.step(self.decoder.embedding(tokens), state)
        log_probs = torch.log_softmax(self.decoder.logits(attentional), dim=-1)
        states = new["hidden"]
        out = [log_probs, torch.stack([s[0] if self.lstm else s for s in states])]
        if self.lstm:
            out.append(torch.stack([s[1] for s in states]))
        if self.feeding:
            out.append(new["feed"])
        return (*out, weights if weights is not None else keys.new_zeros(keys.shape[:2]))


def translator_graphs(model) -> List[Graph]:
    c = model._config
    Vs, Vt = c["source_vocab_size"], c["target_vocab_size"]
    lstm, feeding = c["cell"] == "lstm", model.decoder.input_feeding
    states = ["hidden"] + (["cell"] if lstm else [])

    def encoder_example(S, B, rng):
        return torch.from_numpy(rng.integers(4, Vs, size=(S, B))), _lengths(S, B, rng)

    def encoder_reference(src, src_lengths):
        state = model.encode(src, src_lengths)
        hidden = state["hidden"]
        memory = state["memory"]
        keys = memory.keys if memory is not None else model.rnn(
            model.embedding(src), lengths=src_lengths)[0]
        projected = memory.projected if memory is not None else keys
        out = [keys, projected, torch.stack([s[0] if lstm else s for s in hidden])]
        if lstm:
            out.append(torch.stack([s[1] for s in hidden]))
        return tuple(out)

    def step_example(S, B, rng):
        keys, memory, *first = encoder_reference(*encoder_example(S, B, rng))
        tokens = torch.from_numpy(rng.integers(4, Vt, size=B))
        noise = [s + torch.from_numpy(rng.standard_normal(s.shape).astype(np.float32)) * 0.1
                 for s in first]
        feed = [torch.from_numpy(rng.standard_normal((B, model.decoder.out_size))
                                 .astype(np.float32))] if feeding else []
        lengths = _lengths(S, B, rng)
        return (tokens, *noise, *feed, keys * step_mask(lengths, S).unsqueeze(-1),
                memory * step_mask(lengths, S).unsqueeze(-1), lengths)

    step_graph = DecoderStepGraph(model)
    inputs = ["tokens", *states, *(["feed"] if feeding else []), "keys", "memory",
              "src_lengths"]
    outputs = ["log_probs", *[f"next_{s}" for s in states], *(["next_feed"] if feeding else []),
               "attention"]
    step_axes = {"tokens": {0: "B"}, "keys": {0: "S", 1: "B"}, "memory": {0: "S", 1: "B"},
                 "src_lengths": {0: "B"}, "log_probs": {0: "B"}, "attention": {0: "S", 1: "B"},
                 **{n: {1: "B"} for n in states + [f"next_{s}" for s in states]},
                 **({"feed": {0: "B"}, "next_feed": {0: "B"}} if feeding else {})}
    enc_axes = {"src": {0: "S", 1: "B"}, "src_lengths": {0: "B"}, "keys": {0: "S", 1: "B"},
                "memory": {0: "S", 1: "B"}, **{n: {1: "B"} for n in states}}
    return [Graph("encoder", EncoderGraph(model), ["src", "src_lengths"],
                  ["keys", "memory", *states], enc_axes, encoder_example, encoder_reference),
            Graph("decoder_step", step_graph, inputs, outputs, step_axes, step_example,
                  lambda *a: step_graph(*a))]


GRAPHS["translate"] = translator_graphs
