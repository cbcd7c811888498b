"""Cutting a long sequence of token ids into ``(x, y)`` minibatches: the course's two schemes.

Both give time-major int64 tensors ``x, y`` of shape ``(T, B)`` with ``y[t] = x[t + 1]`` along the
corpus (each target is the next token), and both start each epoch at a random offset in
``[0, T)``, so window boundaries move between epochs. Everything is drawn from
``numpy.random.default_rng([seed, epoch])``: an epoch is the same whenever it is replayed, which
lets a resumed run skip straight to batch ``k`` with ``batches.epoch(e, start=k)``.

Random partitioning (``carries_state = False``)::

    corpus   |o|  w0  |  w1  |  w2  |  w3  |  w4  |  w5  | ...      o = random offset < T
                 '------'------'------'------'------'-- windows of T inputs (+1 target)
    shuffle  ->  w4 w0 w5 | w2 w1 w3 | ...                batches of B windows
    batch k  x = [w4 w0 w5] as columns, shape (T, B)      every window starts from a fresh state

Sequential partitioning (``carries_state = True``, truncated BPTT)::

    corpus   |o| stream 0 ......... | stream 1 ......... | ... | stream B-1 ......... |
    streams  (B, S) -> time-major (S, B): column b is stream b
                 batch 0      batch 1      batch 2
    stream 0  [ t0 .. tT-1 ][ tT .. t2T-1 ][ ...
    stream 1  [ ...        ][ ...         ][ ...
    row b of batch k+1 continues exactly where row b of batch k stopped, so the trainer passes
    the final state of batch k (detached) as the initial state of batch k+1.

The number of batches per epoch is fixed (``len(batches)``); the offset is drawn only from the
values that leave room for all of them, and windows that do not fit a full batch are left out
of that epoch (a different random few each epoch).

With ``truncation="variable"`` or ``"random"`` (sequential only, :mod:`recurrente.data.windows`)
the windows along the streams have drawn lengths instead of ``T``: the streams are the same and
still read without a gap, a batch is ``(x, y)`` of shape ``(T_k, B)`` (and, for ``random``, the
gradient compensation as a third element), ``len(batches)`` is the epoch's nominal number of
``T``-step windows, and :meth:`Batches.lr_scale` says how much a batch's learning rate is scaled.
"""

from __future__ import annotations

from typing import Iterator

import numpy as np
import torch

from recurrente.data.windows import check_truncation, compensation, windows
from recurrente.errors import UserError

SCHEMES = ("random", "sequential")


class Batches:
    """Minibatches of one token sequence under one partitioning scheme; see the module docstring.

    Args:
        ids: 1-D integer array of token ids, length ``N``.
        scheme: ``"random"`` or ``"sequential"``.
        batch_size: ``B``, windows (or streams) per batch.
        seq_len: ``T``, time steps per window.
        seed: with the epoch number, fixes everything random.
        truncation: ``"fixed"``, ``"variable"`` or ``"random"`` window lengths (sequential).

    Example::

        >>> b = Batches(np.arange(1000), "sequential", batch_size=4, seq_len=10, seed=0)
        >>> x, y = next(b.epoch(0))
        >>> x.shape, bool((x[1:] == y[:-1]).all())
        (torch.Size([10, 4]), True)
    """

    def __init__(self, ids, scheme: str, batch_size: int, seq_len: int, seed: int = 0,
                 truncation: str = "fixed"):
        if scheme not in SCHEMES:
            raise UserError(f"unknown batching scheme {scheme!r}; expected one of "
                            f"{', '.join(SCHEMES)}")
        if batch_size < 1 or seq_len < 1:
            raise UserError(f"batch size and sequence length must be at least 1; got "
                            f"batch size {batch_size} and sequence length {seq_len}")
        ids = np.asarray(ids)
        if ids.ndim != 1 or not np.issubdtype(ids.dtype, np.integer):
            raise ValueError(f"expected a 1-D integer array of token ids, got shape {ids.shape} "
                             f"and dtype {ids.dtype}")
        self.ids = ids.astype(np.int64, copy=False)
        self.scheme, self.batch_size, self.seq_len, self.seed = scheme, batch_size, seq_len, seed
        self.carries_state = scheme == "sequential"
        self.truncation = check_truncation(truncation)
        if truncation != "fixed" and not self.carries_state:
            raise UserError(f"--truncation {truncation} cuts the streams of the sequential "
                            f"partitioning; expected --partition sequential")
        self._n_batches, self._max_offset = self._plan(len(self.ids))

    def _plan(self, n: int) -> tuple[int, int]:
        """``(batches per epoch, largest offset that keeps them all)``; UserError if none fit."""
        B, T = self.batch_size, self.seq_len
        if self.carries_state:
            need = B * (T + 1)                 # B streams of T inputs plus one target
            n_batches = (n // B - 1) // T if n >= need else 0
            used = B * (n_batches * T + 1)
        else:
            need = B * T + 1                   # B disjoint windows plus the last target
            n_batches = ((n - 1) // T) // B if n >= need else 0
            used = n_batches * B * T + 1
        if n_batches == 0:
            raise UserError(f"the corpus has {n} tokens but one batch of {B} x {T} needs at least "
                            f"{need} ({self.scheme} scheme); reduce --seq-len or --batch-size")
        return n_batches, min(T - 1, n - used)

    def __len__(self) -> int:
        return self._n_batches

    def __repr__(self) -> str:
        return (f"Batches(scheme={self.scheme!r}, tokens={len(self.ids)}, B={self.batch_size}, "
                f"T={self.seq_len}, batches_per_epoch={len(self)})")

    def _rng(self, epoch: int) -> np.random.Generator:
        return np.random.default_rng([self.seed % (1 << 63), epoch])

    def epoch(self, epoch: int, start: int = 0) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """The batches of epoch ``epoch`` from batch index ``start`` on: ``(x, y)``, each an int64
        tensor of shape ``(T, B)``. Same ``(seed, epoch)`` -> same batches."""
        rng = self._rng(epoch)
        offset = int(rng.integers(0, self._max_offset + 1))
        cuts = windows(self.truncation, self.seq_len, len(self) * self.seq_len, rng) \
            if self.carries_state else None
        count = len(self) if cuts is None else len(cuts)
        if not 0 <= start <= count:
            raise ValueError(f"expected start in [0, {count}], got {start}")
        if self.carries_state:
            return self._sequential(offset, start, cuts)
        return self._random(offset, rng, start)

    def lr_scale(self, batch) -> float:
        """The factor on the learning rate of ``batch``: its window length over ``T`` (1 with
        fixed windows), as AWD-LSTM does for variable-length windows."""
        return 1.0 if self.truncation == "fixed" else batch[0].shape[0] / self.seq_len

    def _random(self, offset: int, rng: np.random.Generator, start: int):
        B, T = self.batch_size, self.seq_len
        n_windows = (len(self.ids) - 1 - offset) // T
        starts = offset + T * rng.permutation(n_windows)[:len(self) * B]  # (n_batches * B,)
        steps = np.arange(T + 1)                                          # (T+1,)
        for k in range(start, len(self)):
            rows = self.ids[starts[k * B:(k + 1) * B, None] + steps]       # (B, T+1)
            yield _pair(rows.T)

    def _sequential(self, offset: int, start: int, cuts):
        B, T = self.batch_size, self.seq_len
        S = len(self) * T + 1                                             # tokens per stream
        streams = self.ids[offset:offset + B * S].reshape(B, S).T         # (S, B), a view
        ends = np.cumsum([0] + [length for length, _ in cuts])            # window edges
        factor = compensation(T)
        for k in range(start, len(cuts)):
            x, y = _pair(streams[ends[k]:ends[k + 1] + 1])                # (T_k, B) each
            if self.truncation == "random":
                yield x, y, torch.full((cuts[k][1] - 1,), factor, dtype=torch.float64)
            else:
                yield x, y


def _pair(block: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
    """``(T+1, B)`` ids -> inputs ``(T, B)`` and targets shifted by one step ``(T, B)``."""
    block = torch.from_numpy(np.ascontiguousarray(block))                # (T+1, B)
    return block[:-1], block[1:]


def make_batches(ids, scheme: str, batch_size: int, seq_len: int, seed: int = 0,
                 truncation: str = "fixed") -> Batches:
    """Build :class:`Batches`; see the module docstring for the two schemes."""
    return Batches(ids, scheme, batch_size, seq_len, seed, truncation)


def split_contiguous(n_tokens: int, fractions=(0.9, 0.05, 0.05)) -> list[tuple[int, int]]:
    """Cut ``range(n_tokens)`` into contiguous ``(start, end)`` pieces in the given proportions.

    The pieces do not overlap and cover everything; each edge is rounded to the nearest token.
    Fractions must be non-negative and sum to 1; a piece with a positive fraction
    that would come out empty is a UserError (the corpus is too small).

    >>> split_contiguous(100)
    [(0, 90), (90, 95), (95, 100)]
    """
    fractions = [float(f) for f in fractions]
    if not fractions or min(fractions) < 0 or abs(sum(fractions) - 1.0) > 1e-6:
        raise UserError(f"split fractions must be non-negative and sum to 1; got {fractions}")
    edges = np.rint(np.cumsum([0.0] + fractions) * n_tokens).astype(np.int64)
    edges[-1] = n_tokens
    pieces = [(int(a), int(b)) for a, b in zip(edges[:-1], edges[1:])]
    if any(f > 0 and b <= a for f, (a, b) in zip(fractions, pieces)):
        raise UserError(f"a corpus of {n_tokens} tokens is too small to split in the proportions "
                        f"{fractions}; expected every part to get at least one token")
    return pieces
