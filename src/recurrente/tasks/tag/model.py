"""Many-to-many, aligned: one tag per word (the course's named-entity recognition).

.. math::
    x_t = [\\mathrm{Embed}(w_t) ; \\mathrm{chars}(w_t)],\\quad
    (H_1 … H_n) = \\mathrm{BiRNN}(x_1 … x_n),\\quad
    \\mathrm{emit}_t = \\mathrm{drop}(H_t) W + b \\in \\mathbb{R}^{N}

and then either ``softmax``: :math:`P(y_t \\mid x) = \\mathrm{softmax}(\\mathrm{emit}_t)`, each
tag on its own (cross-entropy summed over the words), or ``crf``: one score for the whole tag
sequence, :math:`P(y \\mid x) = \\exp(\\mathrm{score}(x, y)) / Z(x)`, transitions between tags
learned and those the scheme forbids masked (:mod:`recurrente.tasks.tag.crf`). The character
encoder (:mod:`recurrente.layers.char_encoder`) gives unseen and capitalised words a vector;
word dropout replaces words seen once in training by ``<unk>`` with probability ``p`` while
training (Lample et al. 2016), so ``<unk>`` is learned too.
"""

from typing import List

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from recurrente.layers import make_layer
from recurrente.layers.char_encoder import CharEncoder
from recurrente.layers.pooling import step_mask
from recurrente.layers.registry import DEFAULT
from recurrente.tasks.base import LossOutput, Task
from recurrente.tasks.tag.crf import CRF
from recurrente.tasks.tag.options import HEADS


class SequenceTagger(Task):
    """Word (+ character) embeddings → (bi)directional recurrent layer → a tag per word.

    Args:
        vocab_size, char_vocab_size: words and letters (``<pad>``, ``<unk>`` included, id 0
            and 1).  tags: the tag names, in id order.  scheme: ``BIO``, ``BIOES`` or ``IOB1``
            (the CRF masks what it forbids).  cell, hidden_size (per direction), num_layers,
            bidirectional, implementation: of the word-level layer.  embedding_size: words.
        chars: ``"lstm"``, ``"cnn"`` or ``"none"``.  char_embedding_size, char_hidden_size.
        head: ``"crf"`` or ``"softmax"``.  dropout: on the word vectors and the outputs.
        word_dropout: probability of reading a rare word as ``<unk>`` in training.

    Inputs: a batch dict (``words (T, B)``, ``lengths (B,)``, ``chars (W, N)`` and
    ``char_lengths (N,)`` for the N real words in time-major order, ``tags (T, B)``).
    """

    def __init__(self, vocab_size: int, char_vocab_size: int, tags: List[str], scheme: str = "BIO",
                 cell: str = "lstm", hidden_size: int = 128, num_layers: int = 1,
                 embedding_size: int = 100, bidirectional: bool = True, chars: str = "lstm",
                 char_embedding_size: int = 25, char_hidden_size: int = 25, head: str = "crf",
                 dropout: float = 0.5, word_dropout: float = 0.0,
                 implementation: str = DEFAULT):
        super().__init__()
        if head not in HEADS:
            raise ValueError(f"expected --head crf or softmax, got {head!r}")
        self._config = dict(vocab_size=vocab_size, char_vocab_size=char_vocab_size,
                            tags=list(tags), scheme=scheme, cell=cell, hidden_size=hidden_size,
                            num_layers=num_layers, embedding_size=embedding_size,
                            bidirectional=bidirectional, chars=chars,
                            char_embedding_size=char_embedding_size,
                            char_hidden_size=char_hidden_size, head=head, dropout=dropout,
                            word_dropout=word_dropout, implementation=implementation)
        self.embedding = nn.Embedding(vocab_size, embedding_size, padding_idx=0)
        nn.init.uniform_(self.embedding.weight, -0.1, 0.1)
        self.chars = None if chars == "none" else CharEncoder(
            chars, char_vocab_size, char_embedding_size, char_hidden_size)
        features = embedding_size + (self.chars.out_size if self.chars is not None else 0)
        K = 2 if bidirectional else 1
        self.rnn = make_layer(cell, features, hidden_size, num_layers, bidirectional=bidirectional,
                              implementation=implementation,
                              dropout=dropout if num_layers > 1 else 0.0)
        self.drop = nn.Dropout(dropout)
        self.emit = nn.Linear(K * hidden_size, len(tags))
        self.crf = CRF.for_scheme(list(tags), scheme) if head == "crf" else None
        self.register_buffer("rare", torch.zeros(vocab_size, dtype=torch.bool))

    @property
    def tags(self) -> List[str]:
        return self._config["tags"]

    def emissions(self, batch: dict) -> Tensor:
        """``emit (T, B, N)``: every word's score for every tag."""
        words, lengths = batch["words"], batch["lengths"]
        if self.training and self._config["word_dropout"] > 0:
            drop = self.rare[words] & (torch.rand(words.shape, device=words.device)
                                       < self._config["word_dropout"])
            words = words.masked_fill(drop, 1)  # <unk>
        x = self.embedding(words)  # (T, B, E)
        if self.chars is not None:
            mask = step_mask(lengths, words.shape[0])  # (T, B)
            per_word = self.chars(batch["chars"], batch["char_lengths"])  # (N, F)
            full = per_word.new_zeros(*words.shape, per_word.shape[-1])  # (T, B, F), its dtype
            full[mask] = per_word
            x = torch.cat([x, full], dim=-1)  # (T, B, E + F)
        out, _ = self.rnn(self.drop(x), lengths=lengths)  # (T, B, K*H)
        return self.emit(self.drop(out))  # (T, B, N)

    def loss(self, batch, state=None) -> LossOutput:
        """Summed negative log-likelihood of the gold tags (CRF: of each sentence's whole tag
        sequence; softmax: of each word's tag), counted in words."""
        emit, lengths, tags = self.emissions(batch), batch["lengths"], batch["tags"]
        words = int(lengths.sum())
        if self.crf is not None:
            return self.crf(emit, tags, lengths).sum(), words, None
        mask = step_mask(lengths, emit.shape[0])  # (T, B)
        return F.cross_entropy(emit[mask], tags[mask], reduction="sum"), words, None

    @torch.inference_mode()
    def decode(self, batch: dict, nbest: int = 1):
        """Tag ids of every sentence (``nbest > 1``, CRF only: the k best with scores) and each
        word's probability of its predicted tag (CRF: marginals; softmax: the softmax)."""
        emit, lengths = self.emissions(batch), batch["lengths"]
        if self.crf is not None:
            probs = self.crf.marginals(emit, lengths)  # (T, B, N)
            paths = (self.crf.nbest(emit, lengths, nbest) if nbest > 1
                     else self.crf.decode(emit, lengths))
        else:
            probs = torch.softmax(emit, dim=-1)  # (T, B, N)
            best = emit.argmax(-1).T.tolist()  # (B, T)
            paths = [row[:n] for row, n in zip(best, lengths.tolist())]
        return paths, probs

    # -- prediction ----------------------------------------------------------------------------
    def predict(self, sentences: List, nbest: int = 1, batch_size: int = 64) -> list:
        """For raw sentences (strings, tokenised here) or token lists: a
        :class:`~recurrente.tasks.tag.inference.Tagging` each (``.tokens``, ``.tags``,
        ``.entities``, each an :class:`~recurrente.tasks.tag.inference.Entity` with its type,
        word span, text, score and character offsets; ``.to_dict()`` for JSON); needs the
        vocabularies: a model from :meth:`load`. :meth:`decode` works on id batches."""
        from recurrente.tasks.tag.inference import predict_sentences
        return predict_sentences(self, sentences, nbest, batch_size)
