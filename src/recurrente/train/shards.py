"""Each process's share of every global batch, for data-parallel training.

Every process builds the same global batches (they are deterministic in ``(seed, epoch)``) and
keeps its own share, so ``world`` processes together see exactly the batch one process would
see alone, and a resumed run needs only the global data position ``(epoch, batch)``.

**The language model** (:class:`recurrente.data.batching.Batches`, both partitions): the ``B``
columns of each ``(T, B)`` batch (streams for ``sequential``, windows for ``random``) are cut into
``world`` contiguous blocks of ``B / world``; process ``r`` takes block ``r``::

    global batch (T, B=8)     columns 0 1 2 3 | 4 5 6 7
    world = 2                 rank 0: 0 1 2 3   rank 1: 4 5 6 7

With the sequential partition a process always holds the same streams, so the state it carries
from batch to batch is the state of its own columns (truncated BPTT, as with one process). ``B``
must be a multiple of ``world``.

**Padded tasks** (:class:`recurrente.data.padded.BucketBatches`): every global batch (indices of
examples of similar length) is dealt round robin, ``indices[rank::world]``, so each process gets
examples of the same lengths and about ``B / world`` of them. When a batch has fewer examples
than processes (the last batch of an epoch can), a process left without one runs a copy of the
batch's first example marked :class:`Padding`: its loss is multiplied by zero and its count is
zero, so it takes part in the gradient all-reduce and changes nothing; the step equals one
process's step on that batch.
"""

from typing import Iterator

from recurrente.errors import UserError


class Padding(tuple):
    """``Padding((batch,))``: a stand-in batch whose loss must count for nothing (a tuple, so the
    trainer's ``move_to`` moves the batch inside it to the device and keeps the type)."""


def shard(batches, rank: int, world: int):
    """``batches`` as process ``rank`` of ``world`` sees them; see the module docstring."""
    from recurrente.data.batching import Batches
    from recurrente.data.padded import BucketBatches
    if isinstance(batches, Batches):
        return ColumnShards(batches, rank, world)
    if isinstance(batches, BucketBatches):
        return IndexShards(batches, rank, world)
    raise UserError(f"data-parallel training cannot split {type(batches).__name__} batches "
                    f"across processes; train this task with one process")


class _Shards:
    """What the trainer asks of batches, delegated to the global ones (``len``, ``lr_scale``,
    ``carries_state``, ...), with :meth:`epoch` giving this process's share."""

    def __init__(self, batches, rank: int, world: int):
        self.inner, self.rank, self.world = batches, rank, world

    def __len__(self) -> int:
        return len(self.inner)

    def __getattr__(self, name):
        if name == "inner":  # not set yet (copy, pickle): no recursion
            raise AttributeError(name)
        return getattr(self.inner, name)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.inner!r}, rank={self.rank}, world={self.world})"


class ColumnShards(_Shards):
    """Columns ``[rank * B/world, (rank+1) * B/world)`` of every ``(T, B)`` batch."""

    def __init__(self, batches, rank: int, world: int):
        super().__init__(batches, rank, world)
        B = batches.batch_size
        if B % world:
            raise UserError(f"--batch-size {B} does not split evenly across {world} processes; "
                            f"expected a multiple of {world}")
        self.lo, self.hi = rank * B // world, (rank + 1) * B // world

    def epoch(self, epoch: int, start: int = 0) -> Iterator:
        for batch in self.inner.epoch(epoch, start=start):
            x, y = batch[0], batch[1]  # (T, B) each
            yield (x[:, self.lo:self.hi].contiguous(), y[:, self.lo:self.hi].contiguous(),
                   *batch[2:])  # (T, B/world) each; a random truncation's compensation as is


class IndexShards(_Shards):
    """Examples ``indices[rank::world]`` of every global batch (a :class:`Padding` copy of the
    first example when that leaves none)."""

    def epoch(self, epoch: int, start: int = 0) -> Iterator:
        order = self.inner.order(epoch)
        if not 0 <= start <= len(order):
            raise ValueError(f"expected start in [0, {len(order)}], got {start}")
        collate = self.inner.collate
        for indices in order[start:]:
            mine = indices[self.rank::self.world]
            yield collate(mine) if len(mine) else Padding((collate(indices[:1]),))
