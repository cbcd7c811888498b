"""Many-to-one: one label for a whole sequence (the course's "sentiment analysis" shape).

.. math::
    E_t = \\mathrm{Embed}(x_t),\\quad (H_1 … H_n) = \\mathrm{RNN}(E_1 … E_n),\\quad
    c = \\mathrm{pool}(H_1 … H_n),\\quad P(y \\mid x) = \\mathrm{softmax}(\\mathrm{drop}(c) W + b)

trained with the cross-entropy of the gold label, summed over the batch. The pooling
(``last``, ``mean``, ``max``, ``attention``) is in :mod:`recurrente.layers.pooling`; every
sequence is read only up to its own length, so padding never changes a prediction.
"""

from typing import List, Optional

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from recurrente.layers import make_layer
from recurrente.layers.pooling import Pooling
from recurrente.layers.registry import DEFAULT
from recurrente.tasks.base import LossOutput, Task


class SequenceClassifier(Task):
    """Embedding → (bi)directional recurrent layer with lengths → pooling → dropout → linear.

    Args:
        vocab_size: V (``<pad>`` and ``<unk>`` included).  num_classes: C.
        cell: ``"lstm"``, ``"gru"`` or ``"rnn"``.  hidden_size: H per direction.
        num_layers: L.  embedding_size: E (default H).  bidirectional: K = 2 directions.
        pooling: ``"last"``, ``"mean"``, ``"max"`` or ``"attention"``.
        dropout: on the embeddings, between layers and on the pooled vector.
        implementation: of the recurrent layer.  pad_id: the id of ``<pad>``.

    Inputs ``ids (T, B)`` and ``lengths (B,)``; :meth:`forward` returns ``logits (B, C)``.
    """

    count_unit = "seq"

    def __init__(self, vocab_size: int, num_classes: int, cell: str = "lstm",
                 hidden_size: int = 128, num_layers: int = 1,
                 embedding_size: Optional[int] = None, bidirectional: bool = True,
                 pooling: str = "max", dropout: float = 0.2, implementation: str = DEFAULT,
                 pad_id: int = 0):
        super().__init__()
        embedding_size = embedding_size or hidden_size
        self._config = dict(vocab_size=vocab_size, num_classes=num_classes, cell=cell,
                            hidden_size=hidden_size, num_layers=num_layers,
                            embedding_size=embedding_size, bidirectional=bidirectional,
                            pooling=pooling, dropout=dropout, implementation=implementation,
                            pad_id=pad_id)
        K = 2 if bidirectional else 1
        self.embedding = nn.Embedding(vocab_size, embedding_size, padding_idx=pad_id)
        nn.init.uniform_(self.embedding.weight, -0.1, 0.1)  # see LanguageModel: N(0,1) is too large
        with torch.no_grad():
            self.embedding.weight[pad_id].zero_()
        self.rnn = make_layer(cell, embedding_size, hidden_size, num_layers,
                              bidirectional=bidirectional, implementation=implementation,
                              dropout=dropout if num_layers > 1 else 0.0)
        self.pool = Pooling(pooling, K * hidden_size, K)
        self.drop = nn.Dropout(dropout)
        self.head = nn.Linear(K * hidden_size, num_classes)

    @property
    def num_classes(self) -> int:
        return self._config["num_classes"]

    def forward(self, ids: Tensor, lengths: Tensor, return_weights: bool = False):
        """``ids (T, B)``, ``lengths (B,)`` → ``logits (B, C)`` (and attention ``(T, B)``)."""
        emb = self.drop(self.embedding(ids))  # (T, B, E)
        out, state = self.rnn(emb, lengths=lengths)  # (T, B, K*H)
        pooled, weights = self.pool(out, lengths, state)  # (B, K*H)
        logits = self.head(self.drop(pooled))  # (B, C)
        return (logits, weights) if return_weights else logits

    def loss(self, batch, state=None) -> LossOutput:
        """Summed cross-entropy of ``batch = (ids (T, B), lengths (B,), labels (B,))``."""
        ids, lengths, labels = batch
        logits = self(ids, lengths)  # (B, C)
        return F.cross_entropy(logits, labels, reduction="sum"), labels.numel(), None

    # -- prediction ------------------------------------------------------------------------
    @torch.inference_mode()
    def predict_ids(self, sequences: List[np.ndarray], batch_size: int = 64) -> np.ndarray:
        """Class probabilities ``(N, C)`` of id sequences, in their order (batched by length)."""
        from recurrente.tasks.classify.inference import probabilities
        return probabilities(self, sequences, batch_size)

    def predict(self, texts: List[str], top_k: int = 1, batch_size: int = 64,
                max_len: Optional[int] = None) -> list:
        """A :class:`~recurrente.tasks.classify.inference.Label` per text (``.label``,
        ``.probability``, ``.top``; ``.to_dict()`` for JSON); needs the vocabularies: a model
        from :meth:`load`. :meth:`predict_ids` gives the probabilities of id sequences."""
        from recurrente.tasks.classify.inference import predict_texts
        return predict_texts(self, texts, top_k, batch_size, max_len)
