"""The dropouts of a regularised recurrent language model (AWD-LSTM: Merity, Keskar & Socher 2018,
"Regularizing and Optimizing LSTM Language Models"), as pure functions of a tensor and a rate.

Each keeps the expectation of its input, ``E[mask] = 1``, with ``mask ∈ {0, 1/(1-p)}``, and each
is the identity outside training. They differ in what one random draw covers:

============================  ===================================  ===========================
function                      one draw per                          mask shape
============================  ===================================  ===========================
``dropout`` (torch's)         element, time step and sequence       ``(T, B, D)``
:func:`locked_dropout`        feature and sequence, for all steps   ``(1, B, D)``
:func:`embedding_dropout`     vocabulary entry (whole words)        ``(V,)``, looked up
:func:`drop_connect`          recurrent weight, for all steps       ``(G*H, H)`` of ``W_hh``
============================  ===================================  ===========================

Locked (variational) dropout is Gal & Ghahramani (2016), "A Theoretically Grounded Application
of Dropout in Recurrent Neural Networks": the same units are dropped at every step of a sequence,
so the network cannot average a unit's absence out over time. Embedding dropout is their
word-level dropout: a dropped word is dropped wherever it occurs in the batch. DropConnect (Wan
et al. 2013) on the hidden-to-hidden matrix is Merity et al.'s weight drop: the mask is drawn once
per forward, so the recurrence stays one matrix and the fast kernels still run.
"""

import torch
from torch import Tensor


def _mask(shape, p: float, like: Tensor) -> Tensor:
    """``{0, 1/(1-p)}`` with ``P(0) = p``, of ``shape``, on ``like``'s device and dtype."""
    keep = torch.empty(shape, device=like.device, dtype=like.dtype).bernoulli_(1.0 - p)
    return keep.div_(1.0 - p)


def _check(p: float) -> None:
    if not 0.0 <= p < 1.0:
        raise ValueError(f"expected a dropout rate in [0, 1), got {p}")


def locked_dropout(x: Tensor, p: float, training: bool = True) -> Tensor:
    """Dropout with one mask per sequence, shared over time: ``x (T, B, D) * m (1, B, D)``."""
    _check(p)
    if not training or p == 0.0:
        return x
    return x * _mask((1, x.shape[1], x.shape[2]), p, x)  # (T, B, D)


def embedding_dropout(ids: Tensor, weight: Tensor, p: float, training: bool = True) -> Tensor:
    """Look ``ids (T, B)`` up in ``weight (V, E)`` with whole words dropped: one keep-or-drop
    draw per vocabulary entry, ``m (V,)``, so a dropped word is zero wherever it occurs in the
    batch: ``W[ids] * m[ids]``, the same as looking up in ``W * m`` (Gal & Ghahramani's form,
    as AWD-LSTM writes it) without touching the ``(V, E)`` matrix."""
    _check(p)
    emb = torch.nn.functional.embedding(ids, weight)  # (T, B, E)
    if not training or p == 0.0:
        return emb
    keep = _mask((weight.shape[0],), p, weight)  # (V,)
    return emb * keep[ids].unsqueeze(-1)  # (T, B, E)


def drop_connect(weight: Tensor, p: float, training: bool = True) -> Tensor:
    """DropConnect: ``W * m`` with one Bernoulli mask over the matrix's entries."""
    _check(p)
    if not training or p == 0.0:
        return weight
    return weight * _mask(weight.shape, p, weight)


class SharedMasks:
    """Locked dropout between layers whose masks outlive one call: the mask of layer ``k`` is
    drawn on first use and reused after, so a sequence run in several calls (in chunks, for
    randomised truncation) keeps one mask per layer. Called as ``between(k, y)`` by
    :meth:`recurrente.layers.base.RecurrentLayer.forward`."""

    def __init__(self, p: float):
        _check(p)
        self.p, self.masks = p, {}

    def __call__(self, k: int, y: Tensor) -> Tensor:
        if self.p == 0.0:
            return y
        if k not in self.masks:
            self.masks[k] = _mask((1, y.shape[1], y.shape[2]), self.p, y)  # (1, B, K*H)
        return y * self.masks[k]  # (T, B, K*H)
