"""The translator's ONNX graphs and manifest facts (:mod:`recurrente.export.onnx` asks).

* ``encoder``: ``src (S, B)``, ``src_lengths (B,)`` → ``keys (S, B, H)``, ``memory`` (what the
  attention scores read) and the decoder's first state ``hidden (L, B, H)`` (and ``cell``);
* ``decoder_step``: one target token per sentence with the state and the encoder's outputs →
  ``log_probs (B, V)``, the next state and the attention weights ``(S, B)``.

Decoding runs the encoder once, then ``decoder_step`` from ``<bos>``, feeding back each argmax
(or a beam's choices) until ``<eos>``; the manifest gives the specials' ids.
"""

from typing import List

import numpy as np
import torch
from torch import Tensor, nn

from recurrente.export.graphs import Graph, PackedLayer, random_lengths
from recurrente.layers.pooling import step_mask
from recurrente.layers.state import LSTMState
from recurrente.tasks.seq2seq.attention import PreparedKeys


class EncoderGraph(nn.Module):
    """``src (S, B)``, ``src_lengths (B,)`` → ``keys (S, B, H)``, ``memory`` (what the attention
    scores read: ``W s_j`` or ``W_k s_j``, else the keys), and the decoder's first state:
    ``hidden (L, B, H)`` (and ``cell`` for an LSTM). The encoder is one torch.nn layer on a
    packed sequence, or a minGRU/minLSTM's scan (:class:`~recurrente.export.graphs.PackedLayer`):
    exact final states per length."""

    def __init__(self, model):
        super().__init__()
        self.rnn = PackedLayer(model.rnn)
        self.embedding, self.bridge, self.model = model.embedding, model.bridge, model
        self.lstm = model.rnn.cell == "lstm"

    def forward(self, src: Tensor, src_lengths: Tensor):
        keys, final = self.rnn(self.embedding(src), src_lengths)  # (S, B, H), (L*K, B, H/K)
        hidden = self.bridge(LSTMState(*final) if self.lstm else final)  # L × state
        attention = self.model.decoder.attention
        memory = attention.prepare(keys).projected if attention.enabled else keys
        if self.lstm:
            return (keys, memory, torch.stack([s.h for s in hidden]),
                    torch.stack([s.c for s in hidden]))
        return keys, memory, torch.stack(hidden)


class DecoderStepGraph(nn.Module):
    """One target token per sentence: ``tokens (B,)``, the state (``hidden``/``cell (L, B, H)``,
    ``feed (B, O)`` with input feeding), the encoder's ``keys``/``memory (S, B, ·)`` and
    ``src_lengths (B,)`` → ``log_probs (B, V)``, the next state and the attention ``(S, B)``."""

    def __init__(self, model):
        super().__init__()
        self.decoder, self.lstm = model.decoder, model.cell == "lstm"
        self.feeding = model.decoder.input_feeding

    def forward(self, tokens, hidden, *rest):
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


def graphs(run) -> List[Graph]:
    """``encoder`` and ``decoder_step`` of the run's model."""
    model = run.model
    c = model._config
    Vs, Vt = c["source_vocab_size"], c["target_vocab_size"]
    lstm, feeding = c["cell"] == "lstm", model.decoder.input_feeding
    states = ["hidden"] + (["cell"] if lstm else [])

    def encoder_example(S, B, rng):
        return torch.from_numpy(rng.integers(4, Vs, size=(S, B))), random_lengths(S, B, rng)

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
        lengths = random_lengths(S, B, rng)
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


def facts(run, folder) -> dict:
    """The manifest's task entries: how sources and targets split, ``lowercase``, the target's
    specials (``pad_id``, ``unk_id``, ``bos_id``, ``eos_id``) and how to decode."""
    source, target = run.vocabs["source"], run.vocabs["target"]
    return {"source_split": source.split, "target_split": target.split,
            "lowercase": source.lowercase, "pad_id": target.pad_id, "unk_id": target.unk_id,
            "bos_id": target.bos_id, "eos_id": target.eos_id,
            "decoding": "run encoder once, then decoder_step from <bos> feeding each argmax "
                        "(or a beam) until <eos>"}
