"""The language model's ONNX graphs and manifest facts (:mod:`recurrente.export.onnx` asks).

* ``lm_sequence``: ``ids (T, B)`` and the state ``h0`` (and ``c0`` for an LSTM) ``(L, B, H)`` in;
  ``logits (T, B, V)`` and the final state ``h`` (``c``) out: scoring, or priming;
* ``lm_step``: one token per stream, ``ids (B,)`` → ``logits (B, V)`` and the next state:
  generation, one call per token.

The state is an explicit input and output, so a caller streams text of any length.
"""

from typing import List

import numpy as np
import torch
from torch import Tensor, nn

from recurrente.export.graphs import Graph, NativeStack


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


def graphs(run) -> List[Graph]:
    """``lm_sequence`` and ``lm_step`` of the run's model."""
    model = run.model
    L, K, H, V = model.rnn.num_layers, 1, model.rnn.hidden_size, model.vocab_size
    states = ["h0", "c0"] if model.cell == "lstm" else ["h0"]
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

    made = []
    for step in (False, True):
        name = "lm_step" if step else "lm_sequence"
        axes = {"ids": {0: "B"} if step else {0: "T", 1: "B"},
                "logits": {0: "B"} if step else {0: "T", 1: "B"},
                **{n: {1: "B"} for n in states + outs}}
        made.append(Graph(name, LMGraph(model, step), ["ids", *states], ["logits", *outs], axes,
                          lambda T, B, rng, step=step: example(T, B, rng, step),
                          reference(step)))
    return made


def facts(run, folder) -> dict:
    """The manifest's task entries: the tokenizer (kind, normalization, ``unk_id``) and the
    direction the model reads."""
    source = run.vocabs.get("source")
    return {"tokenizer": {"kind": source.kind, "normalization": source.normalization,
                          "unk_id": source.unk_id},
            "direction": run.model._config.get("direction", "forward")}
