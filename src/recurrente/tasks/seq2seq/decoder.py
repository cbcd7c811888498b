"""The decoder: one target token per step, reading the source through attention.

At step ``t`` the decoder reads the previous target token ``y_{t-1}`` (``<bos>`` at first) and,
with input feeding (Luong et al. 2015), its own attentional vector of the step before::

    x_t      = [E y_{t-1} ; h~_{t-1}]                 h~_0 = 0
    s_t^1    = cell_1(x_t, s_{t-1}^1)                 s_t^l = cell_l(drop(s_t^{l-1}), s_{t-1}^l)
    c_t, a_t = attention(s_t^L, (k_1 … k_S), mask)    a_tj = 0 on source padding
    h~_t     = tanh(W_c [c_t ; s_t^L])                without attention: h~_t = s_t^L
    P(y_t | y_<t, x) = softmax(W_o drop(h~_t) + b_o)

Input feeding tells the decoder where it attended before, so it can move on; without it (or
without attention) ``x_t = E y_{t-1}``. Tied embeddings use ``E`` (V, E) as ``W_o``, so ``h~_t``
then has size E. The cells are the single-step :mod:`recurrente.layers.cell_modules` (same
parameters as torch.nn's, every implementation) and, for minGRU/minLSTM,
:mod:`recurrente.layers.min_cell_modules` (sLSTM/mLSTM: :mod:`recurrente.layers.
xlstm_cell_modules`, whose states are tuples of four with ``h`` first, as ``LSTMState``).

The state is a dict, so :func:`recurrente.tasks.seq2seq.search.reorder_batch` reorders it
for beam search without help: ``hidden`` (one state per layer, ``(N, H)`` or an
``LSTMState``), ``feed`` ``(N, O)``, ``memory`` (the attention's :class:`PreparedKeys`, tensors
``(S, N, ·)``) and ``mask`` ``(N, S)``; the mLSTM's memory ``(N, H, H)`` is the one tensor
whose batch dimension the rank does not tell, so :meth:`Seq2Seq.generate` names it
(``make_reorder(hidden=0)``). Every row is computed on its own: a sentence's output never
depends on the other rows of its batch.
"""

from typing import List, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from recurrente.layers.cell_modules import GRUCell, LSTMCell, RNNCell
from recurrente.layers.min_cell_modules import MinGRUCell, MinLSTMCell
from recurrente.layers.xlstm_cell_modules import MLSTMCell, SLSTMCell
from recurrente.layers.registry import DEFAULT
from recurrente.tasks.seq2seq.attention import Attention
from recurrente.train.teacher_forcing import mix

CELLS = {"rnn": RNNCell, "lstm": LSTMCell, "gru": GRUCell, "mingru": MinGRUCell,
         "minlstm": MinLSTMCell, "slstm": SLSTMCell, "mlstm": MLSTMCell}


def init_embedding(embedding: nn.Embedding, std: float = 1.0) -> None:
    """``N(0, std²)`` with the padding row at zero. torch's ``N(0, 1)`` (not the language
    model's ``U(-0.1, 0.1)``): with small embeddings every source looks alike to a fresh
    encoder, and an encoder-decoder learned ten times slower in its first hundreds of steps
    (valid BLEU 0.3 against 5.9 after 300 steps on ``benchmarks/translate.py``'s data). Tied
    output weights take ``std = E^-1/2``, so that the first logits are of order 1."""
    with torch.no_grad():
        embedding.weight.normal_(0.0, std)
        if embedding.padding_idx is not None:
            embedding.weight[embedding.padding_idx].zero_()


class Decoder(nn.Module):
    """Embedding → L single-step cells (input feeding) → attention → ``h~_t`` → logits.

    Args:
        vocab_size: V (target, specials included).   embedding_size: E.   hidden_size: H.
        num_layers: L.   cell: ``"lstm"``, ``"gru"``, ``"rnn"``, ``"mingru"``, ``"minlstm"``,
            ``"slstm"`` or ``"mlstm"``.
        attention: ``"none"``, ``"dot"``, ``"general"`` or ``"additive"``; key_size: the
            encoder states' size (dot needs it equal to H).
        input_feeding: feed ``h~_{t-1}`` back (with attention only).
        dropout: on the embeddings, between layers and before ``W_o``.
        tie_embeddings: ``W_o = E`` (``h~_t`` of size E).   implementation: of the cells.
        pad_id: the target ``<pad>`` (its embedding is kept at zero).

    Inputs of :meth:`forward`: ``inputs (T, B)`` (``<bos> y_1 … y_{n}``, padded), a state from
    :meth:`init_state`, ``gold`` the probability of reading the gold previous token (1:
    teacher forcing; below 1: scheduled sampling, the other tokens are the model's argmax).
    Output: ``logits (T, B, V)``.
    """

    def __init__(self, vocab_size: int, embedding_size: int, hidden_size: int,
                 num_layers: int = 1, cell: str = "lstm", attention: str = "general",
                 key_size: Optional[int] = None, input_feeding: bool = True,
                 dropout: float = 0.0, tie_embeddings: bool = False,
                 implementation: str = DEFAULT, pad_id: int = 0):
        super().__init__()
        if cell not in CELLS:
            raise ValueError(f"unknown cell {cell!r}; expected one of {', '.join(CELLS)}")
        self.attention = Attention(attention, hidden_size, key_size or hidden_size)
        self.input_feeding = input_feeding and self.attention.enabled
        out_size = embedding_size if tie_embeddings else hidden_size  # O
        if tie_embeddings and not self.attention.enabled and out_size != hidden_size:
            raise ValueError(f"expected --embedding equal to --hidden to tie the embeddings "
                             f"without attention, got {embedding_size} and {hidden_size}")
        self.hidden_size, self.num_layers, self.out_size = hidden_size, num_layers, out_size
        self.embedding = nn.Embedding(vocab_size, embedding_size, padding_idx=pad_id)
        init_embedding(self.embedding, embedding_size ** -0.5 if tie_embeddings else 1.0)
        first = embedding_size + (out_size if self.input_feeding else 0)
        self.cells = nn.ModuleList(
            CELLS[cell](first if l == 0 else hidden_size, hidden_size,
                        implementation=implementation) for l in range(num_layers))
        if self.attention.enabled:
            self.combine = nn.Linear(self.attention.key_size + hidden_size, out_size, bias=False)
        self.out = nn.Linear(out_size, vocab_size)
        if tie_embeddings:
            self.out.weight = self.embedding.weight
        self.drop = nn.Dropout(dropout)

    # -- state --------------------------------------------------------------------------------
    def init_state(self, hidden: Sequence, keys: Optional[Tensor] = None,
                   mask: Optional[Tensor] = None) -> dict:
        """The state before ``<bos>``: ``hidden`` one initial state per layer (``(B, H)`` or an
        ``LSTMState``), ``keys (S, B, Hk)`` the encoder states, ``mask (S, B)`` True on real
        source positions."""
        assert len(hidden) == self.num_layers, (len(hidden), self.num_layers)
        first = hidden[0][0] if isinstance(hidden[0], tuple) else hidden[0]  # (B, H)
        state = {"hidden": tuple(hidden), "memory": None, "mask": None}
        if self.attention.enabled:
            state["memory"] = self.attention.prepare(keys)  # (S, B, ·) once per source
            state["mask"] = mask.T.contiguous() if mask is not None else None  # (B, S)
        if self.input_feeding:
            state["feed"] = first.new_zeros(first.shape[0], self.out_size)  # h~_0 (B, O)
        return state

    # -- one step -----------------------------------------------------------------------------
    def step(self, embedded: Tensor, state: dict) -> Tuple[Tensor, dict, Optional[Tensor]]:
        """``E y_{t-1} (N, E)`` and the state -> ``h~_t (N, O)``, the next state, and the
        attention weights ``a_t (S, N)`` (None without attention)."""
        x = torch.cat([embedded, state["feed"]], -1) if self.input_feeding else embedded
        hidden = []  # (N, H) or LSTMState per layer
        for l, cell in enumerate(self.cells):
            h = cell(x if l == 0 else self.drop(x), state["hidden"][l])
            hidden.append(h)
            x = h[0] if isinstance(h, tuple) else h  # s_t^l (N, H)
        weights = None
        if self.attention.enabled:
            mask = state["mask"].T if state["mask"] is not None else None  # (S, N)
            context, weights = self.attention(x, state["memory"], mask)  # (N, Hk), (S, N)
            x = torch.tanh(self.combine(torch.cat([context, x], -1)))  # h~_t (N, O)
        new = {**state, "hidden": tuple(hidden)}
        if self.input_feeding:
            new["feed"] = x
        return x, new, weights

    def logits(self, attentional: Tensor) -> Tensor:
        """``h~ (..., O) -> logits (..., V)``."""
        return self.out(self.drop(attentional))

    def log_probs(self, tokens: Tensor, state: dict) -> Tuple[Tensor, dict]:
        """The search's ``step``: ``tokens (N,)`` -> ``(log P(y_t | ...) (N, V), state)``."""
        attentional, state, _ = self.step(self.embedding(tokens), state)
        return F.log_softmax(self.logits(attentional).float(), dim=-1), state

    # -- a whole target -----------------------------------------------------------------------
    def forward(self, inputs: Tensor, state: dict, gold: float = 1.0,
                generator: Optional[torch.Generator] = None,
                mask: Optional[Tensor] = None) -> Tensor:
        """Logits of every step ``(T, B, V)``, or with ``mask (T, B)`` of the real steps only
        ``(N, V)`` (the output product, the costliest of all, skips the padding); see the class
        docstring."""
        T = inputs.shape[0]
        embedded = self.drop(self.embedding(inputs))  # (T, B, E) all gold inputs at once
        if gold >= 1.0:  # teacher forcing: one output product for all steps
            outs = []  # each (B, O)
            for t in range(T):
                attentional, state, _ = self.step(embedded[t], state)
                outs.append(attentional)
            attentional = torch.stack(outs)  # (T, B, O)
            return self.logits(attentional if mask is None else attentional[mask])
        logits: List[Tensor] = []  # each (B, V)
        for t in range(T):
            x = embedded[t]  # (B, E)
            if t > 0:  # scheduled sampling: per token, the gold input or the model's own
                predicted = logits[-1].detach().argmax(-1)  # (B,)
                chosen = mix(inputs[t], predicted, gold, generator)  # (B,)
                x = torch.where((chosen == inputs[t]).unsqueeze(1), x,
                                self.drop(self.embedding(chosen)))  # (B, E)
            attentional, state, _ = self.step(x, state)
            logits.append(self.logits(attentional))
        stacked = torch.stack(logits)  # (T, B, V)
        return stacked if mask is None else stacked[mask]

    @torch.no_grad()
    def attention_weights(self, inputs: Tensor, state: dict) -> Tensor:
        """The weights ``(T, S, B)`` the decoder gives the source while reading ``inputs (T, B)``
        (``<bos>`` and an output): the attention of that output, whichever search made it."""
        rows = []
        for t in range(inputs.shape[0]):
            _, state, weights = self.step(self.embedding(inputs[t]), state)
            rows.append(weights)
        return torch.stack(rows)  # (T, S, B)
