"""Batches of variable-length examples: buckets of similar length, padding, lengths.

Examples of very different lengths in one batch waste most of its time steps on padding, so
each epoch (deterministic in ``(seed, epoch)``, like the language model's batches)::

    shuffle all examples                         7 2 9 4 1 8 3 6 5 0 ...
    cut into pools of ``pool`` batches            [7 2 9 4 1 8] [3 6 5 0 ...]
    sort each pool by length, cut into batches   [2 4 8] [1 7 9] | ...   similar lengths together
    shuffle the batches                          [1 7 9] [3 0 6] [2 4 8] ...

A batch is whatever ``collate(indices)`` makes of its examples; :func:`pad` is the usual part
of it: ids ``(T, B)`` right-padded with the pad id, and ``lengths (B,)``. The recurrent layers
take those lengths (``lengths=``), so padding never changes any sequence's result.
"""

from __future__ import annotations

from typing import Callable, Iterator, Sequence

import numpy as np
import torch

from recurrente.errors import UserError


class BucketBatches:
    """Batches of ``batch_size`` examples grouped by length; see the module docstring.

    Args:
        lengths: ``(N,)`` length of each example (only used to group them).
        collate: ``indices -> batch`` (any structure the task's ``loss`` takes).
        batch_size: examples per batch; the last batch of an epoch may be smaller.
        seed: with the epoch number, fixes the order.
        shuffle: ``False`` keeps the file order (for evaluation and prediction).
        pool: batches per sorting pool (larger: less padding, less randomness).

    Has what the trainer asks of batches: ``epoch(e, start=k)``, ``len()``, ``carries_state``.
    """

    carries_state = False

    def __init__(self, lengths: Sequence[int], collate: Callable, batch_size: int,
                 seed: int = 0, shuffle: bool = True, pool: int = 50):
        if batch_size < 1:
            raise UserError(f"expected --batch-size >= 1, got {batch_size}")
        self.lengths = np.asarray(lengths, dtype=np.int64)
        if len(self.lengths) == 0:
            raise UserError("expected at least one example to batch, got none")
        self.collate, self.batch_size, self.seed = collate, batch_size, seed
        self.shuffle, self.pool = shuffle, pool

    def __len__(self) -> int:
        return -(-len(self.lengths) // self.batch_size)

    def __repr__(self) -> str:
        return (f"BucketBatches(examples={len(self.lengths)}, B={self.batch_size}, "
                f"batches_per_epoch={len(self)})")

    def order(self, epoch: int) -> list[np.ndarray]:
        """The index arrays of the batches of ``epoch``, in the order they are served."""
        n, B = len(self.lengths), self.batch_size
        if not self.shuffle:
            return [np.arange(s, min(s + B, n)) for s in range(0, n, B)]
        rng = np.random.default_rng([self.seed % (1 << 63), epoch])
        shuffled = rng.permutation(n)
        batches = []
        for start in range(0, n, B * self.pool):
            chunk = shuffled[start:start + B * self.pool]
            chunk = chunk[np.argsort(self.lengths[chunk], kind="stable")]
            batches += [chunk[s:s + B] for s in range(0, len(chunk), B)]
        return [batches[i] for i in rng.permutation(len(batches))]

    def epoch(self, epoch: int, start: int = 0) -> Iterator:
        if not 0 <= start <= len(self):
            raise ValueError(f"expected start in [0, {len(self)}], got {start}")
        for indices in self.order(epoch)[start:]:
            yield self.collate(indices)


def pad(sequences: Sequence[np.ndarray], pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Right-pad 1-D id arrays into ``ids (T, B)`` (time-major) and ``lengths (B,)``.

    >>> ids, lengths = pad([np.array([5, 6, 7]), np.array([8])], pad_id=0)
    >>> ids.T.tolist(), lengths.tolist()
    ([[5, 6, 7], [8, 0, 0]], [3, 1])
    """
    lengths = np.fromiter((len(s) for s in sequences), dtype=np.int64, count=len(sequences))
    if len(lengths) and lengths.min() < 1:
        raise ValueError("expected every sequence to have at least one id")
    ids = np.full((int(lengths.max(initial=1)), len(sequences)), pad_id, dtype=np.int64)  # (T, B)
    for b, seq in enumerate(sequences):
        ids[:len(seq), b] = seq
    return torch.from_numpy(ids), torch.from_numpy(lengths)
