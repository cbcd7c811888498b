"""Language modelling as next-token classification.

.. math::
    E_t = \\mathrm{Embed}(x_t),   (H_t, state) = \\mathrm{RNN}(E_t, state),
    P(x_{t+1} \\mid x_{\\le t}) = \\mathrm{softmax}(H_t W_{hq} + b_q)

trained with the cross-entropy of the next token; ``perplexity = exp(mean cross-entropy)``.
"""

from pathlib import Path
from typing import List, Optional

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from recurrente.layers import make_layer
from recurrente.layers.registry import DEFAULT
from recurrente.tasks.base import LossOutput, Task


class LanguageModel(Task):
    """Embedding → stacked recurrent layer → linear head over the vocabulary.

    Args:
        vocab_size: V.  cell: ``"lstm"``, ``"gru"`` or ``"rnn"``.  hidden_size: H.
        num_layers: L.  embedding_size: E (default H).  dropout: on the embeddings, between
            layers and before the head (Zaremba et al. 2014).
        tie_weights: share the embedding matrix with the output layer (Press & Wolf 2017;
            Inan et al. 2017); needs ``E == H``.
        implementation: of the recurrent layer (``native``, ``scratch``, ...).

    Inputs ``ids (T, B)`` and optional state; outputs ``logits (T, B, V)`` and the state.
    """

    def __init__(self, vocab_size: int, cell: str = "lstm", hidden_size: int = 256,
                 num_layers: int = 2, embedding_size: Optional[int] = None, dropout: float = 0.0,
                 tie_weights: bool = False, implementation: str = DEFAULT):
        super().__init__()
        embedding_size = hidden_size if embedding_size is None else embedding_size
        if tie_weights and embedding_size != hidden_size:
            raise ValueError(f"tie_weights needs embedding_size == hidden_size, got "
                             f"{embedding_size} and {hidden_size}")
        self._config = dict(vocab_size=vocab_size, cell=cell, hidden_size=hidden_size,
                            num_layers=num_layers, embedding_size=embedding_size,
                            dropout=dropout, tie_weights=tie_weights, implementation=implementation)
        self.embedding = nn.Embedding(vocab_size, embedding_size)
        self.rnn = make_layer(cell, embedding_size, hidden_size, num_layers,
                              dropout=dropout if num_layers > 1 else 0.0,
                              implementation=implementation)
        self.drop = nn.Dropout(dropout)
        self.head = nn.Linear(hidden_size, vocab_size)
        if tie_weights:
            self.head.weight = self.embedding.weight

    @property
    def vocab_size(self) -> int:
        return self._config["vocab_size"]


    def forward(self, ids: Tensor, state=None):
        """``ids (T, B)`` → ``logits (T, B, V)``, final state."""
        emb = self.drop(self.embedding(ids))  # (T, B, E)
        out, state = self.rnn(emb, state)  # (T, B, H)
        return self.head(self.drop(out)), state  # (T, B, V)

    def loss(self, batch, state=None) -> LossOutput:
        """Summed next-token cross-entropy of ``batch = (x, y)``, each ``(T, B)``."""
        x, y = batch
        logits, state = self(x, state)  # (T, B, V)
        loss_sum = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1),
                                   reduction="sum")
        return loss_sum, y.numel(), state

    # -- evaluation and generation (implemented in recurrente.tasks.lm.inference) --------------
    def perplexity(self, ids, chunk: int = 512) -> dict:
        """Exact cross-entropy of a whole token sequence, scanned in order, state carried."""
        from recurrente.tasks.lm.inference import evaluate_stream
        return evaluate_stream(self, ids, chunk)

    def generate(self, prompt_ids: List[int], n: int, temperature: float = 1.0,
                 top_k: Optional[int] = None, top_p: Optional[float] = None,
                 seed: Optional[int] = None) -> List[int]:
        """The prompt's ids followed by ``n`` new ones sampled autoregressively."""
        from recurrente.tasks.lm.inference import generate_batch
        return generate_batch(self, [list(prompt_ids)], n, temperature, top_k, top_p, seed)[0]

    # -- files -------------------------------------------------------------------------------
    def save(self, directory) -> None:
        """Write ``config.json`` (model section) and ``model.safetensors`` into ``directory``."""
        from recurrente.train.checkpoint import save_model
        save_model(self, Path(directory))

    @classmethod
    def load(cls, directory, device="cpu", implementation: Optional[str] = None) -> "LanguageModel":
        """Rebuild a model saved by :meth:`save` or by training (a run directory)."""
        from recurrente.train.checkpoint import load_model
        return load_model(cls, Path(directory), device=device, implementation=implementation)
