"""The classifier's ONNX graph and manifest facts (:mod:`recurrente.export.onnx` asks).

``classifier``: ``ids (T, B)``, ``lengths (B,)`` → class probabilities ``(B, C)``; the manifest
gives the labels in the order of ``C`` and what encoding a text needs (split, lowercase, the
specials' ids, the longest text the model read).
"""

from typing import List

import torch
from torch import Tensor, nn

from recurrente.export.graphs import Graph, NativeStack, random_lengths


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


def graphs(run) -> List[Graph]:
    """The one ``classifier`` graph of the run's model."""
    model = run.model
    V = model._config["vocab_size"]

    def example(T, B, rng):
        return torch.from_numpy(rng.integers(2, V, size=(T, B))), random_lengths(T, B, rng)

    def reference(ids, lengths):
        return (torch.softmax(model(ids, lengths), dim=-1),)

    return [Graph("classifier", ClassifierGraph(model), ["ids", "lengths"], ["probabilities"],
                  {"ids": {0: "T", 1: "B"}, "lengths": {0: "B"}, "probabilities": {0: "B"}},
                  example, reference)]


def facts(run, folder) -> dict:
    """The manifest's task entries: ``labels``, ``pad_id``, ``unk_id``, ``split``,
    ``lowercase``, ``max_len``."""
    source = run.vocabs["source"]
    return {"labels": run.vocabs["labels"].itos, "pad_id": source.pad_id,
            "unk_id": source.unk_id, "split": source.split, "lowercase": source.lowercase,
            "max_len": run.options.max_len}
