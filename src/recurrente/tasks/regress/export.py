"""The regressor's ONNX graph and manifest facts (:mod:`recurrente.export.onnx` asks).

``regressor``: ``ids (T, B)``, ``lengths (B,)`` → ``value (B,)``, in the training data's units
(``μ + σ z``); the manifest gives what encoding a text needs (split, lowercase, the specials'
ids, the longest text the model read) and the target's column, ``μ`` and ``σ``.
"""

from typing import List

import torch
from torch import Tensor, nn

from recurrente.export.graphs import Graph, NativeStack, random_lengths


class RegressorGraph(nn.Module):
    """``ids (T, B)``, ``lengths (B,)`` → ``value (B,)``."""

    def __init__(self, model):
        super().__init__()
        self.embedding, self.pool, self.head = model.embedding, model.pool, model.head
        self.stack = NativeStack(model.rnn)
        self.mean, self.std = model.target_mean, model.target_std

    def forward(self, ids: Tensor, lengths: Tensor):
        out, last = self.stack(self.embedding(ids), None, lengths)  # (T, B, K*H), (K, B, H)
        pooled, _ = self.pool(out, lengths, last)  # (B, K*H)
        return self.head(pooled).squeeze(-1) * self.std + self.mean  # (B,)


def graphs(run) -> List[Graph]:
    """The one ``regressor`` graph of the run's model."""
    model = run.model
    V = model._config["vocab_size"]

    def example(T, B, rng):
        return torch.from_numpy(rng.integers(2, V, size=(T, B))), random_lengths(T, B, rng)

    def reference(ids, lengths):
        return (model.values(ids, lengths),)

    return [Graph("regressor", RegressorGraph(model), ["ids", "lengths"], ["value"],
                  {"ids": {0: "T", 1: "B"}, "lengths": {0: "B"}, "value": {0: "B"}},
                  example, reference)]


def facts(run, folder) -> dict:
    """The manifest's task entries: ``target`` (column, mean, std), ``pad_id``, ``unk_id``,
    ``split``, ``lowercase``, ``max_len``."""
    source = run.vocabs["source"]
    return {"target": {"column": run.config.get("data", {}).get("label_column"),
                       "mean": run.model.target_mean, "std": run.model.target_std},
            "pad_id": source.pad_id, "unk_id": source.unk_id, "split": source.split,
            "lowercase": source.lowercase, "max_len": run.options.max_len}
