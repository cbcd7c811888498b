"""Language modelling as next-token classification.

.. math::
    E_t = \\mathrm{Embed}(x_t),   (H_t, state) = \\mathrm{RNN}(E_t, state),
    P(x_{t+1} \\mid x_{\\le t}) = \\mathrm{softmax}(H_t W_{hq} + b_q)

trained with the cross-entropy of the next token; ``perplexity = exp(mean cross-entropy)``.
A ``backward`` model reads the text from its end: it predicts ``x_t`` from ``x_{>t}``; by the
chain rule both directions factorise the same joint probability of the text.

The AWD-LSTM regularisers (Merity, Keskar & Socher 2018), each off at 0: whole-word
``dropout_embedding``; dropout on the embeddings (``dropout_input``), between layers
(``dropout_hidden``) and before the head (``dropout``), with a new mask per step or, with
``dropout_mask="sequence"``, one mask per sequence shared over time (Gal & Ghahramani 2016);
DropConnect on ``W_hh`` (``weight_dropout``); and the activation penalties added to the training
loss, ``ar · mean(m ⊙ H_t)^2`` and ``tar · mean(H_t - H_{t-1})^2`` on the last layer's output
(``m``: its dropout mask).
"""

from typing import List, Optional, Union

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from recurrente.errors import UserError
from recurrente.layers import make_layer
from recurrente.layers.dropout import SharedMasks, embedding_dropout, locked_dropout
from recurrente.layers.registry import DEFAULT
from recurrente.layers.state import scale_grad
from recurrente.tasks.base import LossOutput, Task
from recurrente.tasks.lm.softmax import SOFTMAXES, AdaptiveHead, summed_nll
from recurrente.train.teacher_forcing import gold_probability, mix, teacher_forcing_probability

INIT_RANGE = 0.1  # embedding and output weights ~ U(-0.1, 0.1): Zaremba et al. 2014
DIRECTIONS = ("forward", "backward")
DROPOUT_MASKS = ("step", "sequence")


class LanguageModel(Task):
    """Embedding → stacked recurrent layer → linear head over the vocabulary.

    Args:
        vocab_size: V.  cell: ``"lstm"``, ``"gru"`` or ``"rnn"``.  hidden_size: H.
        num_layers: L.  embedding_size: E (default H).
        dropout: before the head (Zaremba et al. 2014), and on the embeddings and between
            layers unless ``dropout_input`` / ``dropout_hidden`` say otherwise.
        dropout_embedding: drop whole words: a dropped word is zero wherever it occurs in
            the batch.
        dropout_mask: ``"step"`` (a new mask per time step) or ``"sequence"`` (locked: one per
            sequence, for the input, between layers and before the head).
        weight_dropout: DropConnect on every ``W_hh``, one mask per forward.
        ar, tar: activation and temporal activation regularisation (Merity et al. 2018).
        tie_weights: share the embedding matrix with the output layer (Press & Wolf 2017;
            Inan et al. 2017); needs ``E == H``.
        implementation: of the recurrent layer (``native``, ``scratch``, ...).
        direction: ``"forward"`` or ``"backward"`` (reads the text reversed).
        softmax: ``"full"`` or ``"adaptive"`` (Grave et al. 2017; :mod:`~recurrente.tasks.lm.
            softmax`): the output layer; an adaptive one returns log-probabilities as its
            logits, and cannot be tied to the embedding.

    The embedding and the output weights start uniform in ±0.1 and the output bias at 0, as in
    Zaremba et al. (2014) and pytorch/examples' word_language_model: every logit starts near 0,
    so the first loss is within 0.002 of ``ln V``, the loss of the uniform guess (with
    ``nn.Embedding``'s N(0, 1) start, a tied model's first loss was 0.12 to 0.17 above it, and
    its embeddings ten times the size the recipes train from).

    Inputs ``ids (T, B)`` and optional state; outputs ``logits (T, B, V)`` and the state.
    """

    def __init__(self, vocab_size: int, cell: str = "lstm", hidden_size: int = 256,
                 num_layers: int = 2, embedding_size: Optional[int] = None, dropout: float = 0.0,
                 tie_weights: bool = False, implementation: str = DEFAULT,
                 dropout_input: Optional[float] = None, dropout_hidden: Optional[float] = None,
                 dropout_embedding: float = 0.0, dropout_mask: str = "step",
                 weight_dropout: float = 0.0, ar: float = 0.0, tar: float = 0.0,
                 direction: str = "forward", scheduled_sampling: Optional[str] = None,
                 sampling_k: Optional[float] = None, softmax: str = "full"):
        super().__init__()
        embedding_size = hidden_size if embedding_size is None else embedding_size
        if tie_weights and embedding_size != hidden_size:
            raise ValueError(f"tie_weights needs embedding_size == hidden_size, got "
                             f"{embedding_size} and {hidden_size}")
        _check_choice("dropout_mask", dropout_mask, DROPOUT_MASKS)
        _check_choice("direction", direction, DIRECTIONS)
        _check_choice("softmax", softmax, SOFTMAXES)
        if tie_weights and softmax == "adaptive":
            raise ValueError("tie_weights needs the full softmax; an adaptive softmax has no "
                             "matrix the size of the embedding's")
        rates = dict(dropout=dropout, dropout_input=dropout_input, dropout_hidden=dropout_hidden,
                     dropout_embedding=dropout_embedding, weight_dropout=weight_dropout)
        for name, rate in rates.items():
            if rate is not None and not 0.0 <= rate < 1.0:
                raise ValueError(f"expected {name} in [0, 1), got {rate}")
        if ar < 0 or tar < 0:
            raise ValueError(f"expected ar and tar >= 0, got {ar} and {tar}")
        self._config = dict(vocab_size=vocab_size, cell=cell, hidden_size=hidden_size,
                            num_layers=num_layers, embedding_size=embedding_size,
                            dropout=dropout, tie_weights=tie_weights, implementation=implementation,
                            dropout_input=dropout_input, dropout_hidden=dropout_hidden,
                            dropout_embedding=dropout_embedding, dropout_mask=dropout_mask,
                            weight_dropout=weight_dropout, ar=ar, tar=tar, direction=direction,
                            scheduled_sampling=scheduled_sampling, sampling_k=sampling_k,
                            softmax=softmax)
        if scheduled_sampling is not None:  # a bad schedule fails here, not mid-training
            teacher_forcing_probability(scheduled_sampling, 0, 1, sampling_k)
        self._progress = (0, 0.0)  # (step, fraction of the run): set by the trainer
        self.p_input = dropout if dropout_input is None else dropout_input
        self.p_hidden = dropout if dropout_hidden is None else dropout_hidden
        self.p_output, self.p_words, self.locked = dropout, dropout_embedding, \
            dropout_mask == "sequence"
        self.ar, self.tar, self.direction = ar, tar, direction
        self.embedding = nn.Embedding(vocab_size, embedding_size)
        self.rnn = make_layer(cell, embedding_size, hidden_size, num_layers,
                              dropout=0.0 if self.locked or num_layers == 1 else self.p_hidden,
                              weight_dropout=weight_dropout, implementation=implementation)
        self.head = nn.Linear(hidden_size, vocab_size) if softmax == "full" else \
            AdaptiveHead(hidden_size, vocab_size)
        self._init_weights()
        if tie_weights:
            self.head.weight = self.embedding.weight

    @torch.no_grad()
    def _init_weights(self) -> None:
        nn.init.uniform_(self.embedding.weight, -INIT_RANGE, INIT_RANGE)
        if isinstance(self.head, nn.Linear):  # an AdaptiveHead starts uniform by itself
            nn.init.uniform_(self.head.weight, -INIT_RANGE, INIT_RANGE)
            nn.init.zeros_(self.head.bias)

    @property
    def vocab_size(self) -> int:
        return self._config["vocab_size"]

    def _drop(self, x: Tensor, p: float) -> Tensor:
        if self.locked:
            return locked_dropout(x, p, self.training)
        return F.dropout(x, p, self.training)

    def features(self, ids: Tensor, state=None, compensation: Optional[Tensor] = None):
        """``(dropped (T, B, H), output (T, B, H), state)``: the last layer's output with and
        without the dropout before the head.

        ``compensation (K-1,)``: randomised truncation (:mod:`recurrente.data.windows`): the
        window is K equal chunks, and the gradient flowing back from chunk k to chunk k-1 is
        multiplied by ``compensation[k-1]``; the masks are drawn once for the whole window.
        """
        emb = embedding_dropout(ids, self.embedding.weight, self.p_words, self.training)
        emb = self._drop(emb, self.p_input)  # (T, B, E)
        params = self.rnn.forward_parameters()  # W_hh masked once for the whole window
        between = SharedMasks(self.p_hidden) if self.locked and self.training else None
        chunks = [emb] if compensation is None else emb.chunk(len(compensation) + 1)
        outs = []
        for k, chunk in enumerate(chunks):
            if k:
                state = scale_grad(state, compensation[k - 1])
            out, state = self.rnn(chunk, state, parameters=params, between=between)  # (t, B, H)
            outs.append(out)
        out = outs[0] if len(outs) == 1 else torch.cat(outs)  # (T, B, H)
        return self._drop(out, self.p_output), out, state

    def sampled_features(self, ids: Tensor, state, epsilon: float):
        """Scheduled sampling (Bengio et al. 2015) for a language model: the input at step
        ``t > 0`` is the true ``x_t`` with probability ``ε`` and otherwise the model's own most
        likely token after ``x_{<t}``, per token (:func:`recurrente.train.teacher_forcing.mix`);
        the targets stay the true next tokens. One step at a time, so the dropout masks are
        drawn per step here; returns what :meth:`features` returns."""
        params = self.rnn.forward_parameters()
        drops, outs = [], []
        token = ids[0]  # (B,)
        for t in range(ids.shape[0]):
            if t:
                predicted = self.head(drops[-1][0]).detach().argmax(-1)  # (B,)
                token = mix(ids[t], predicted, epsilon)
            emb = embedding_dropout(token.unsqueeze(0), self.embedding.weight, self.p_words,
                                    self.training)  # (1, B, E)
            out, state = self.rnn(F.dropout(emb, self.p_input, self.training), state,
                                  parameters=params)  # (1, B, H)
            outs.append(out)
            drops.append(F.dropout(out, self.p_output, self.training))
        return torch.cat(drops), torch.cat(outs), state

    def forward(self, ids: Tensor, state=None):
        """``ids (T, B)`` → ``logits (T, B, V)``, final state."""
        dropped, _, state = self.features(ids, state)
        return self.head(dropped), state  # (T, B, V)

    def on_train_step(self, step: int, fraction: float) -> None:
        """The trainer's progress before each training step: drives scheduled sampling."""
        self._progress = (step, fraction)

    def loss(self, batch, state=None) -> LossOutput:
        """Summed next-token cross-entropy of ``batch = (x, y)``, each ``(T, B)`` (or
        ``(x, y, compensation)``), plus, in training, ``count`` times the AR and TAR penalties.
        With scheduled sampling the window is read step by step (:meth:`sampled_features`)."""
        x, y = batch[0], batch[1]
        compensation = batch[2].tolist() if len(batch) > 2 else None
        c = self._config
        epsilon = gold_probability(c["scheduled_sampling"], *self._progress, c["sampling_k"])
        if self.training and epsilon < 1.0:
            if compensation is not None:
                raise ValueError("scheduled sampling reads a window step by step; it does not "
                                 "combine with randomised truncation")
            dropped, out, state = self.sampled_features(x, state, epsilon)
        else:
            dropped, out, state = self.features(x, state, compensation)
        loss_sum = summed_nll(self.head, dropped, y)  # through (T, B, V) logits, or adaptive
        if self.training and self.ar:
            loss_sum = loss_sum + self.ar * dropped.pow(2).mean() * y.numel()
        if self.training and self.tar and out.shape[0] > 1:
            loss_sum = loss_sum + self.tar * (out[1:] - out[:-1]).pow(2).mean() * y.numel()
        return loss_sum, y.numel(), state

    def in_model_order(self, ids):
        """A 1-D sequence (list, array or tensor) in the order the model reads it: reversed for a
        backward model, unchanged for a forward one. Its own inverse."""
        if self.direction == "forward":
            return ids
        if torch.is_tensor(ids):
            return ids.flip(0)
        return np.ascontiguousarray(ids[::-1]) if isinstance(ids, np.ndarray) else ids[::-1]

    # -- evaluation and generation (implemented in recurrente.tasks.lm.inference) --------------
    def perplexity(self, ids, chunk: int = 512) -> dict:
        """Exact cross-entropy of a whole token sequence, scanned in order, state carried."""
        from recurrente.tasks.lm.inference import evaluate_stream
        return evaluate_stream(self, ids, chunk)

    def generate(self, prompt: Union[str, List[int]], n: int, temperature: float = 1.0,
                 top_k: Optional[int] = None, top_p: Optional[float] = None,
                 seed: Optional[int] = None) -> Union[str, List[int]]:
        """The prompt followed by ``n`` new tokens sampled autoregressively; for a backward
        model, the ``n`` new ones come first: they precede the prompt in reading order.

        ``prompt`` a string: the text comes back as a string, through the run's tokenizer (a
        model from :meth:`load`), never sampling ``<unk>``; a list of ids: the ids come back.
        Example: ``LanguageModel.load("runs/quijote").generate("En un lugar", 400)``.
        """
        from recurrente.tasks.lm.inference import generate_batch
        if not isinstance(prompt, str):
            return generate_batch(self, [list(prompt)], n, temperature, top_k, top_p, seed)[0]
        tokenizer = self.vocabs.get("source")
        if tokenizer is None:
            raise UserError("this model has no tokenizer to read text with; load it with "
                            "LanguageModel.load(RUN), or pass token ids")
        ids = [int(i) for i in tokenizer.encode_strict(prompt)]
        out = generate_batch(self, [ids], n, temperature, top_k, top_p, seed,
                             exclude=[tokenizer.unk_id])[0]
        return tokenizer.decode(out)


def _check_choice(name: str, value: str, choices) -> None:
    if value not in choices:
        raise ValueError(f"expected {name} {' or '.join(choices)}, got {value!r}")
