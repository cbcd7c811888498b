"""Attention over the encoder's states: which source positions the decoder reads at each step.

With the decoder's state ``h_t`` (the query, ``(B, Hq)``) and the encoder's states ``s_j``
(the keys, ``(S, B, Hk)``, ``j = 1..S``), every kind computes a score per source position, turns
the scores into weights with a softmax over the *real* positions, and returns the weighted sum::

    e_tj = score(h_t, s_j)                       (S, B)
    a_tj = exp(e_tj) / Σ_{k real} exp(e_tk)      0 exactly on padding
    c_t  = Σ_j a_tj s_j                          (B, Hk)

The scores (Luong et al. 2015; Bahdanau et al. 2015)::

    dot       e_tj = h_t · s_j                         (needs Hq == Hk)
    general   e_tj = h_t W s_j                         W (Hq, Hk)
    additive  e_tj = v · tanh(W_q h_t + b + W_k s_j)   W_q (A, Hq), W_k (A, Hk), v (A,)
    none      no attention: c_t = 0 and a_tj = 0 (a decoder can keep one code path; a model
              should rather check ``attention.enabled`` and skip the context altogether)

``W s_j`` (general) and ``W_k s_j`` (additive) do not depend on the decoder step: :meth:`prepare`
computes them once per source, and every decoder step passes its result to ``forward``.
"""

from typing import NamedTuple, Optional, Tuple, Union

import torch
from torch import Tensor, nn

from recurrente.errors import check_choice

KINDS = ("none", "dot", "general", "additive")


class PreparedKeys(NamedTuple):
    """The keys and what the scores need from them, computed once per source sentence."""

    keys: Tensor  # (S, B, Hk): the encoder states s_j, which the context averages
    projected: Tensor  # (S, B, Hq) for general (W s_j), (S, B, A) for additive (W_k s_j),
    # the keys themselves for dot and none


class Attention(nn.Module):
    """Attention of one query over a padded batch of keys; the equations are in the module doc.

    Args:
        kind: ``"none"``, ``"dot"``, ``"general"`` or ``"additive"``.
        query_size: Hq, the decoder state's size.   key_size: Hk, the encoder state's size.
        attn_size: A, the additive kind's hidden size (default Hk); unused by the others.

    Inputs: ``query, keys, mask=None``
        query: ``(B, Hq)``.
        keys: ``(S, B, Hk)``, or what :meth:`prepare` returned for them (then nothing about the
            keys is recomputed).
        mask: ``(S, B)`` bool, True on real source positions (None: all real).

    Outputs: ``(context, weights)``
        context: ``(B, Hk)``.   weights: ``(S, B)``, each column sums to 1 over its real
        positions and is exactly 0 on padding (a column with no real position is all 0, and its
        context is 0).

    Example::

        >>> attention = Attention("additive", query_size=32, key_size=64)
        >>> memory = attention.prepare(encoder_states)            # once per source batch
        >>> context, weights = attention(h_t, memory, mask)       # every decoder step
    """

    def __init__(self, kind: str, query_size: int, key_size: int,
                 attn_size: Optional[int] = None):
        super().__init__()
        check_choice("attention kind", kind, KINDS)
        if kind == "dot" and query_size != key_size:
            raise ValueError(f"expected equal query and key sizes for dot attention, got "
                             f"query_size={query_size}, key_size={key_size} (use 'general')")
        self.kind, self.query_size, self.key_size = kind, query_size, key_size
        self.attn_size = attn_size or key_size
        if kind == "general":
            self.W = nn.Linear(key_size, query_size, bias=False)  # s_j -> W s_j  (Hq)
        elif kind == "additive":
            self.W_k = nn.Linear(key_size, self.attn_size, bias=False)
            self.W_q = nn.Linear(query_size, self.attn_size, bias=True)  # its bias is b
            self.v = nn.Linear(self.attn_size, 1, bias=False)

    @property
    def enabled(self) -> bool:
        """False for ``kind="none"``: the decoder has no context to read."""
        return self.kind != "none"

    def prepare(self, keys: Tensor) -> PreparedKeys:
        """The step-independent part of the scores, once per source: ``keys (S, B, Hk)``."""
        if keys.dim() != 3 or keys.shape[-1] != self.key_size:
            raise ValueError(f"expected keys of shape (S, B, {self.key_size}), "
                             f"got {tuple(keys.shape)}")
        if self.kind == "general":
            return PreparedKeys(keys, self.W(keys))  # (S, B, Hq)
        if self.kind == "additive":
            return PreparedKeys(keys, self.W_k(keys))  # (S, B, A)
        return PreparedKeys(keys, keys)

    def scores(self, query: Tensor, memory: PreparedKeys) -> Tensor:
        """``e_tj`` for every source position: ``(S, B)``."""
        if self.kind == "additive":
            hidden = torch.tanh(memory.projected + self.W_q(query).unsqueeze(0))  # (S, B, A)
            return self.v(hidden).squeeze(-1)  # (S, B)
        return torch.einsum("sbh,bh->sb", memory.projected, query)  # (S, B)

    def forward(self, query: Tensor, keys: Union[Tensor, PreparedKeys],
                mask: Optional[Tensor] = None) -> Tuple[Tensor, Tensor]:
        """See the class docstring. Returns ``(context (B, Hk), weights (S, B))``."""
        memory = keys if isinstance(keys, PreparedKeys) else self.prepare(keys)
        S, B = memory.keys.shape[:2]
        if query.dim() != 2 or query.shape != (B, self.query_size):
            raise ValueError(f"expected query of shape ({B}, {self.query_size}), "
                             f"got {tuple(query.shape)}")
        if mask is not None and (mask.shape != (S, B) or mask.dtype != torch.bool):
            raise ValueError(f"expected a bool mask of shape ({S}, {B}), got "
                             f"{tuple(mask.shape)} {mask.dtype}")
        if self.kind == "none":
            return query.new_zeros(B, self.key_size), query.new_zeros(S, B)
        weights = masked_softmax(self.scores(query, memory), mask)  # (S, B)
        context = torch.einsum("sb,sbh->bh", weights, memory.keys)  # (B, Hk)
        return context, weights

    def extra_repr(self) -> str:
        s = f"{self.kind!r}, query_size={self.query_size}, key_size={self.key_size}"
        return s + (f", attn_size={self.attn_size}" if self.kind == "additive" else "")


def masked_softmax(scores: Tensor, mask: Optional[Tensor]) -> Tensor:
    """Softmax over dim 0 of ``scores (S, B)`` restricted to ``mask`` (True = real).

    Padded positions get weight exactly 0. Their scores are replaced by the dtype's lowest finite
    value rather than ``-inf``, so that a column without any real position gives zeros, not NaN,
    in the forward and the backward pass.
    """
    if mask is None:
        return scores.softmax(0)
    low = torch.finfo(scores.dtype).min
    weights = scores.masked_fill(~mask, low).softmax(0)  # (S, B)
    return weights.masked_fill(~mask, 0.0)
