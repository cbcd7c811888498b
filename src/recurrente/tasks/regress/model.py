"""Many-to-one regression: one real number for a whole sequence.

.. math::
    E_t = \\mathrm{Embed}(x_t),\\quad (H_1 … H_n) = \\mathrm{RNN}(E_1 … E_n),\\quad
    c = \\mathrm{pool}(H_1 … H_n),\\quad z = \\mathrm{drop}(c)\\, w + b,\\quad
    \\hat y = \\mu + \\sigma z

The head predicts the standardised value ``z``; ``μ`` and ``σ`` are the training targets' mean
and standard deviation, kept as constructor arguments (so in ``config.json``), so that the
head's scale does not depend on the data's units and :meth:`SequenceRegressor.values` answers
in them. Trained with the squared error in standardised units, summed over the batch::

    loss = Σ_b (z_b - (y_b - μ) / σ)²  =  Σ_b (ŷ_b - y_b)² / σ²

Shapes: ``ids (T, B)``, ``lengths (B,)`` → ``z (B,)``. The pooling (``last``, ``mean``,
``max``, ``attention``) is :mod:`recurrente.layers.pooling`; every sequence is read only up to
its own length, so padding never changes a prediction.
"""

from typing import List, Optional

import numpy as np
import torch
from torch import Tensor, nn

from recurrente.layers import make_layer
from recurrente.layers.pooling import Pooling
from recurrente.layers.registry import DEFAULT
from recurrente.tasks.base import LossOutput, Task


class SequenceRegressor(Task):
    """Embedding → (bi)directional recurrent layer with lengths → pooling → dropout → linear
    to one value.

    Args:
        vocab_size: V (``<pad>`` and ``<unk>`` included).
        cell: any cell of :data:`recurrente.layers.factory.TASK_CELLS`.  hidden_size: H per
        direction.  num_layers: L.  embedding_size: E (default H).  bidirectional: K = 2.
        pooling: ``"last"``, ``"mean"``, ``"max"`` or ``"attention"``.
        dropout: on the embeddings, between layers and on the pooled vector.
        implementation: of the recurrent layer.  pad_id: the id of ``<pad>``.
        target_mean, target_std: μ and σ of the training targets (σ > 0).

    :meth:`forward` returns the standardised ``z (B,)``; :meth:`values` returns ``ŷ (B,)``.
    """

    count_unit = "seq"

    def __init__(self, vocab_size: int, cell: str = "lstm", hidden_size: int = 128,
                 num_layers: int = 1, embedding_size: Optional[int] = None,
                 bidirectional: bool = True, pooling: str = "max", dropout: float = 0.2,
                 implementation: str = DEFAULT, pad_id: int = 0, target_mean: float = 0.0,
                 target_std: float = 1.0):
        super().__init__()
        if not (np.isfinite(target_mean) and np.isfinite(target_std) and target_std > 0):
            raise ValueError(f"expected a finite target mean and a target std > 0, got "
                             f"{target_mean} and {target_std}")
        embedding_size = embedding_size or hidden_size
        self._config = dict(vocab_size=vocab_size, cell=cell, hidden_size=hidden_size,
                            num_layers=num_layers, embedding_size=embedding_size,
                            bidirectional=bidirectional, pooling=pooling, dropout=dropout,
                            implementation=implementation, pad_id=pad_id,
                            target_mean=float(target_mean), target_std=float(target_std))
        K = 2 if bidirectional else 1
        self.embedding = nn.Embedding(vocab_size, embedding_size, padding_idx=pad_id)
        nn.init.uniform_(self.embedding.weight, -0.1, 0.1)  # as the classifier's
        with torch.no_grad():
            self.embedding.weight[pad_id].zero_()
        self.rnn = make_layer(cell, embedding_size, hidden_size, num_layers,
                              bidirectional=bidirectional, implementation=implementation,
                              dropout=dropout if num_layers > 1 else 0.0)
        self.pool = Pooling(pooling, K * hidden_size, K)
        self.drop = nn.Dropout(dropout)
        self.head = nn.Linear(K * hidden_size, 1)

    @property
    def target_mean(self) -> float:
        return self._config["target_mean"]

    @property
    def target_std(self) -> float:
        return self._config["target_std"]

    def forward(self, ids: Tensor, lengths: Tensor) -> Tensor:
        """``ids (T, B)``, ``lengths (B,)`` → the standardised prediction ``z (B,)``."""
        emb = self.drop(self.embedding(ids))  # (T, B, E)
        out, state = self.rnn(emb, lengths=lengths)  # (T, B, K*H)
        pooled, _ = self.pool(out, lengths, state)  # (B, K*H)
        return self.head(self.drop(pooled)).squeeze(-1)  # (B,)

    def values(self, ids: Tensor, lengths: Tensor) -> Tensor:
        """``ŷ = μ + σ z (B,)``: the prediction in the data's units."""
        return self(ids, lengths).float() * self.target_std + self.target_mean

    def loss(self, batch, state=None) -> LossOutput:
        """Summed squared error in standardised units of ``batch = (ids (T, B), lengths (B,),
        targets (B,))``, the targets in the data's units."""
        ids, lengths, targets = batch
        z = self(ids, lengths).float()  # (B,)
        wanted = (targets.float() - self.target_mean) / self.target_std  # (B,)
        return ((z - wanted) ** 2).sum(), targets.numel(), None

    # -- prediction ------------------------------------------------------------------------
    def predict_ids(self, sequences: List[np.ndarray], batch_size: int = 64) -> np.ndarray:
        """Predictions ``(N,)`` in the data's units of id sequences, in their order."""
        from recurrente.tasks.regress.inference import predict_values
        return predict_values(self, sequences, batch_size)

    def predict(self, texts: List[str], batch_size: int = 64,
                max_len: Optional[int] = None) -> list:
        """An :class:`~recurrente.tasks.regress.inference.Estimate` per text (``.value``, in the
        data's units; ``.to_dict()`` for JSON); needs the vocabularies: a model from
        :meth:`load`."""
        from recurrente.tasks.regress.inference import predict_texts
        return predict_texts(self, texts, batch_size, max_len)
