"""Many-to-many, unaligned: an encoder reads the source, a decoder writes the target.

.. math::
    (k_1 … k_S), s_{enc} = \\mathrm{BiRNN}(\\mathrm{drop}(F x_1) … \\mathrm{drop}(F x_S))
    \\qquad k_j = [→h_j ; ←h_j] \\in \\mathbb{R}^{H}

    s_0^l = \\tanh(W_b [→h^l_S ; ←h^l_1] + b_b)        (the bridge, per layer; LSTM: also c;
                                                    sLSTM, mLSTM: their memory carried over)

    P(y \\mid x) = \\prod_{t=1}^{n+1} P(y_t \\mid y_{<t}, x)      y_{n+1} = \\mathrm{<eos>}

with the decoder of :mod:`recurrente.tasks.seq2seq.decoder` (attention, input feeding). A
bidirectional encoder has ``H/2`` units per direction, so its states ``k_j`` have the decoder's
size ``H`` (dot attention needs that). The encoder reads every sentence only up to its own
length and the attention is masked over padding, so padding changes nothing.

Training minimises the summed cross-entropy of the target tokens (``<eos>`` included, padding
masked, optionally label-smoothed) with teacher forcing: the decoder reads the gold previous
token. Scheduled sampling (Bengio et al. 2015) instead reads the gold token with probability
``ε_i`` and the model's own previous prediction otherwise, ``ε_i`` decaying with the training
step ``i`` (:mod:`recurrente.train.teacher_forcing`).
"""

from typing import List, Optional, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from recurrente.layers import make_layer
from recurrente.layers.pooling import step_mask
from recurrente.layers.registry import DEFAULT
from recurrente.layers.state import LSTMState
from recurrente.tasks.base import LossOutput, Task
from recurrente.tasks.seq2seq import search
from recurrente.tasks.seq2seq.decoder import Decoder, init_embedding
from recurrente.train.teacher_forcing import gold_probability, teacher_forcing_probability


class Bridge(nn.Module):
    """Encoder final states ``(L*K, B, H/K)`` -> the decoder's initial state, one per layer:
    ``s_0^l = tanh(W_b [→h^l ; ←h^l] + b_b)`` (an LSTM's memory cell gets its own ``W``).

    ``memory="slstm"`` or ``"mlstm"``: ``h`` goes through ``W_b`` and the rest of the state,
    the memory with its normaliser and stabiliser, is carried over as it is, the directions
    side by side: the sLSTM's ``c, n, m`` are per unit, so ``[→c ; ←c]`` is a memory of H
    units; the mLSTM's ``C`` of the two directions become the blocks of a block-diagonal
    ``(H, H)`` memory, both rescaled to the larger stabiliser ``m = max(→m, ←m)`` (a memory is
    stored as ``C̃ e^{-m}``), ``n`` likewise. A transform of them would have to keep ``n`` the
    normaliser of ``c``; carried over, the decoder's first read is the encoder's memory."""

    def __init__(self, hidden_size: int, num_layers: int, directions: int, lstm: bool,
                 memory: Optional[str] = None):
        super().__init__()
        self.L, self.K, self.memory = num_layers, directions, memory
        self.h = nn.Linear(hidden_size, hidden_size)
        self.c = nn.Linear(hidden_size, hidden_size) if lstm else None

    def _sides(self, t: Tensor) -> Tensor:
        """``(L*K, B, ·)`` -> ``(L, B, K·)``: each layer's directions side by side."""
        L, K = self.L, self.K
        return t.view(L, K, *t.shape[1:]).transpose(1, 2).reshape(L, t.shape[1], -1)

    def _carried(self, final) -> list:
        """The xLSTM states: ``h`` bridged, the memory carried over (class docstring)."""
        hs = self._per_layer(final.h, self.h)  # L × (B, H)
        if self.memory == "slstm":
            c, n, m = (self._sides(t).unbind(0) for t in final[1:])  # L × (B, H) each
            return [type(final)(*row) for row in zip(hs, c, n, m)]
        L, K = self.L, self.K
        B, Hk = final.n.shape[1:]
        m = final.m.view(L, K, B, 1)
        top = m.amax(1)  # (L, B, 1): the common stabiliser
        scale = torch.exp(m - top.unsqueeze(1))  # (L, K, B, 1), <= 1
        C = final.C.view(L, K, B, Hk, Hk) * scale.unsqueeze(-1)  # (L, K, B, Hk, Hk)
        C = torch.cat([F.pad(C[:, k], (k * Hk, (K - 1 - k) * Hk)) for k in range(K)],
                      dim=2)  # (L, B, H, H), block-diagonal
        n = self._sides(final.n * scale.view(L * K, B, 1))  # (L, B, H)
        return [type(final)(*row) for row in zip(hs, C.unbind(0), n.unbind(0), top.unbind(0))]

    def _per_layer(self, final: Tensor, linear: nn.Linear) -> List[Tensor]:
        L, K = self.L, self.K
        B, Hk = final.shape[1:]
        joined = final.view(L, K, B, Hk).permute(0, 2, 1, 3).reshape(L, B, K * Hk)  # (L, B, H)
        return list(torch.tanh(linear(joined)).unbind(0))  # L × (B, H)

    def forward(self, final) -> list:
        if self.memory is not None:
            return self._carried(final)
        if self.c is None:
            return self._per_layer(final, self.h)
        return [LSTMState(h, c) for h, c in zip(self._per_layer(final.h, self.h),
                                                self._per_layer(final.c, self.c))]


class Seq2Seq(Task):
    """Encoder (any cell, implementation, depth, one or two directions) → bridge → attentive
    decoder. The equations are in the module docstring and the decoder's.

    Args:
        source_vocab_size, target_vocab_size: Vs, Vt (specials included).
        cell, num_layers, implementation: of both the encoder and the decoder.
        hidden_size: H, the decoder's size and the encoder states' (H/2 per direction).
        embedding_size: E of both sides (default H).   bidirectional: the encoder's.
        attention: ``"none"``, ``"dot"``, ``"general"`` or ``"additive"``.
        input_feeding, tie_embeddings: the decoder's (see there).   dropout.
        label_smoothing: of the training loss (evaluation scores the plain likelihood).
        teacher_forcing: probability of reading the gold previous token in training (1).
        scheduled_sampling: ``None``, ``"linear"``, ``"exponential"`` or ``"inverse_sigmoid"``:
            that ε schedule instead of a constant; ``sampling_k`` its parameter,
            ``sampling_steps`` the step at which ``linear`` reaches its floor (default: the end
            of the run).
        pad_id, unk_id, bos_id, eos_id: the target vocabulary's specials (pad also the source's).

    :meth:`loss` takes a batch dict: ``src (S, B)``, ``src_lengths (B,)``, ``tgt_in (T, B)``
    (``<bos> y``), ``tgt_out (T, B)`` (``y <eos>``), ``tgt_lengths (B,)`` (``n + 1``).
    """

    def __init__(self, source_vocab_size: int, target_vocab_size: int, cell: str = "lstm",
                 hidden_size: int = 128, num_layers: int = 1,
                 embedding_size: Optional[int] = None, bidirectional: bool = True,
                 attention: str = "general", input_feeding: bool = True, dropout: float = 0.2,
                 tie_embeddings: bool = False, label_smoothing: float = 0.0,
                 teacher_forcing: float = 1.0, scheduled_sampling: Optional[str] = None,
                 sampling_k: Optional[float] = None, sampling_steps: Optional[int] = None,
                 implementation: str = DEFAULT, pad_id: int = 0, unk_id: int = 1,
                 bos_id: int = 2, eos_id: int = 3):
        super().__init__()
        embedding_size = embedding_size or hidden_size
        K = 2 if bidirectional else 1
        if hidden_size % K:
            raise ValueError(f"expected an even --hidden for a bidirectional encoder (H/2 units "
                             f"per direction), got {hidden_size}")
        if scheduled_sampling is not None:  # a bad schedule fails here, not mid-training
            teacher_forcing_probability(scheduled_sampling, 0, sampling_steps or 1, sampling_k)
        self._config = dict(
            source_vocab_size=source_vocab_size, target_vocab_size=target_vocab_size, cell=cell,
            hidden_size=hidden_size, num_layers=num_layers, embedding_size=embedding_size,
            bidirectional=bidirectional, attention=attention, input_feeding=input_feeding,
            dropout=dropout, tie_embeddings=tie_embeddings, label_smoothing=label_smoothing,
            teacher_forcing=teacher_forcing, scheduled_sampling=scheduled_sampling,
            sampling_k=sampling_k, sampling_steps=sampling_steps, implementation=implementation,
            pad_id=pad_id, unk_id=unk_id, bos_id=bos_id, eos_id=eos_id)
        self.embedding = nn.Embedding(source_vocab_size, embedding_size, padding_idx=pad_id)
        init_embedding(self.embedding)
        self.rnn = make_layer(cell, embedding_size, hidden_size // K, num_layers,
                              bidirectional=bidirectional, implementation=implementation,
                              dropout=dropout if num_layers > 1 else 0.0)
        self.bridge = Bridge(hidden_size, num_layers, K, cell == "lstm",
                             memory=cell if cell in ("slstm", "mlstm") else None)
        self.decoder = Decoder(target_vocab_size, embedding_size, hidden_size, num_layers, cell,
                               attention, hidden_size, input_feeding, dropout, tie_embeddings,
                               implementation, pad_id)
        self.drop = nn.Dropout(dropout)
        self._progress = (0, 0.0)  # (step, fraction of the run): set by the trainer

    @property
    def bos_id(self) -> int:
        return self._config["bos_id"]

    @property
    def eos_id(self) -> int:
        return self._config["eos_id"]

    def describe(self) -> str:
        """e.g. ``encoder 1x128 bi-lstm (auto: native), decoder 1x256 lstm, general attention
        with input feeding``."""
        from recurrente.layers import describe_layer
        c = self._config
        layers, rest = describe_layer(self.rnn).split(" ", 1)
        encoder = f"{layers} {'bi-' if c['bidirectional'] else ''}{rest}"
        attention = ("no attention" if c["attention"] == "none" else f"{c['attention']} attention"
                     + (" with input feeding" if self.decoder.input_feeding else ""))
        return (f"encoder {encoder}, decoder {c['num_layers']}x{c['hidden_size']} {c['cell']}, "
                f"{attention}")

    # -- training -----------------------------------------------------------------------------
    def on_train_step(self, step: int, fraction: float) -> None:
        """The trainer's progress before each training step: drives scheduled sampling."""
        self._progress = (step, fraction)

    def gold_probability(self) -> float:
        """``ε``: the probability that the decoder reads the gold previous token now."""
        c = self._config
        return gold_probability(c["scheduled_sampling"], *self._progress, c["sampling_k"],
                                c["sampling_steps"], c["teacher_forcing"])

    def encode(self, src: Tensor, src_lengths: Tensor) -> dict:
        """``src (S, B)``, ``src_lengths (B,)`` -> the decoder's initial state (with the keys)."""
        embedded = self.drop(self.embedding(src))  # (S, B, E)
        keys, final = self.rnn(embedded, lengths=src_lengths)  # (S, B, H), (L*K, B, H/K)
        mask = step_mask(src_lengths, src.shape[0])  # (S, B)
        return self.decoder.init_state(self.bridge(final), keys, mask)

    def forward(self, src: Tensor, src_lengths: Tensor, tgt_in: Tensor, gold: float = 1.0,
                tgt_lengths: Optional[Tensor] = None) -> Tensor:
        """``logits (T, B, Vt)`` of every target step, reading the gold tokens with
        probability ``gold``; with ``tgt_lengths (B,)``, of the real steps only ``(N, Vt)``
        (in the order of ``step_mask(tgt_lengths, T)``)."""
        mask = None if tgt_lengths is None else step_mask(tgt_lengths, tgt_in.shape[0])
        return self.decoder(tgt_in, self.encode(src, src_lengths), gold, mask=mask)

    def loss(self, batch, state=None) -> LossOutput:
        """Summed (label-smoothed in training) cross-entropy over the real target tokens."""
        gold = self.gold_probability() if self.training else 1.0
        lengths = batch["tgt_lengths"]
        logits = self(batch["src"], batch["src_lengths"], batch["tgt_in"], gold,
                      lengths)  # (N, V)
        mask = step_mask(lengths, batch["tgt_out"].shape[0])  # (T, B)
        smoothing = self._config["label_smoothing"] if self.training else 0.0
        loss = F.cross_entropy(logits, batch["tgt_out"][mask], reduction="sum",
                               label_smoothing=smoothing)
        return loss, logits.shape[0], None

    # -- decoding -----------------------------------------------------------------------------
    @torch.inference_mode()
    def generate(self, src: Tensor, src_lengths: Tensor, max_len: Sequence[int],
                 beam: int = 1, nbest: int = 1, length_penalty: float = 1.0,
                 sample: bool = False, temperature: float = 1.0, top_k: Optional[int] = None,
                 top_p: Optional[float] = None, generator: Optional[torch.Generator] = None,
                 force_beam: bool = False) -> List[List[tuple]]:
        """Token ids for each sentence of a padded batch: ``nbest`` pairs ``(tokens, score)``
        each (score: the length-normalised log-probability with beam search, None otherwise).

        ``beam = 1`` is greedy search (``force_beam`` runs it through the beam search code,
        which gives the same tokens); ``sample`` draws with temperature, top-k and top-p.
        """
        state = self.encode(src, src_lengths)
        bos, eos = self.bos_id, self.eos_id
        pad = self._config["pad_id"]

        def step(tokens, state):
            log_probs, state = self.decoder.log_probs(tokens, state)  # (N, V)
            log_probs[:, pad] = log_probs[:, bos] = float("-inf")  # never in an output
            return log_probs, state
        if sample:
            found = search.sample(step, state, bos, eos, max_len, temperature, top_k, top_p,
                                  generator)
            return [[(tokens, None)] for tokens in found]
        if beam == 1 and nbest == 1 and not force_beam:
            return [[(tokens, None)] for tokens in search.greedy(step, state, bos, eos, max_len)]
        return search.beam_search(step, state, search.make_reorder(hidden=0), bos, eos,
                                  max_len, beam, nbest, length_penalty)  # (N, H, H) memories

    @torch.inference_mode()
    def attention(self, src: Tensor, src_lengths: Tensor, output: Tensor) -> Tensor:
        """The attention ``(T, S, B)`` over the source while writing ``output (T-1, B)``
        (the rows: each output token, then ``<eos>``)."""
        bos = output.new_full((1, output.shape[1]), self.bos_id)  # (1, B)
        return self.decoder.attention_weights(torch.cat([bos, output]),
                                              self.encode(src, src_lengths))

    def translate(self, sentences: List[str], beam: int = 1, nbest: int = 1, **options):
        """Translate raw sentences (needs the vocabularies: a model from :meth:`load`).

        Returns a :class:`~recurrente.tasks.seq2seq.inference.Translation` per sentence:
        ``.text``, ``.score``, and with ``nbest > 1`` ``.nbest``, the ``(text, score)`` pairs;
        ``.to_dict()`` for JSON. :meth:`generate` works on id batches. ``options``: ``length_penalty``, ``sample``, ``temperature``, ``top_k``,
        ``top_p``, ``seed``, ``max_len_a``, ``max_len_b``, ``batch_size``, ``max_len`` (the
        longest source accepted, default the run's).
        """
        from recurrente.tasks.seq2seq.inference import translate_texts
        return translate_texts(self, sentences, beam=beam, nbest=nbest, **options)
