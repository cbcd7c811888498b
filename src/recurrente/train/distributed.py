"""Data-parallel training with ``torch.distributed``: one process per device, launched by torchrun.

``torchrun --nproc_per_node N -m recurrente train ...`` (or ``recurrente train --nproc N``)
starts N copies of the same command; :func:`join` sees torchrun's environment (``WORLD_SIZE`` >
1) and returns a :class:`DataParallel` world, otherwise a :class:`Local` one whose every hook is
the identity, so a single process trains exactly as it always has. The trainer calls the world
at a few points; everything the processes must agree on goes through one of them:

=====================  ======================================================================
what                   how (collective)
=====================  ======================================================================
initial weights        DistributedDataParallel broadcasts rank 0's when it wraps the task
data                   each rank takes its share of every global batch (:mod:`.shards`)
gradient               the task's loss runs inside DDP, whose reducer all-reduces (averages)
                       the gradients during backward. Each rank's loss is scaled as
                       ``loss_sum_r * world / sum_r count_r`` (the counts all-reduced first),
                       so the average is the gradient of ``sum_r loss_sum_r / sum_r count_r``:
                       exactly one process's gradient of the mean over the global batch
logged loss, count     all-reduced as sums (loss sum, count), then divided: never a mean of
                       means; the token count and tokens/s are the whole job's
evaluation             on rank 0 alone (the task's own metrics: F1 and BLEU are not sums),
                       its result broadcast, so best checkpoint, plateau schedule and early
                       stopping are decided on the same numbers everywhere
stopping               Ctrl-C/SIGTERM on any rank and the elapsed time (the maximum over
                       ranks) are all-reduced after every step: all ranks stop at the same
                       step, and the cosine schedule, which follows the time budget, gives
                       every rank the same learning rate
checkpoints            written by rank 0 alone (atomically, :mod:`.checkpoint`); every rank's
                       RNG state and carried recurrent state are gathered into it
=====================  ======================================================================

Backend: NCCL when the run trains on CUDA (each process on GPU ``LOCAL_RANK``), gloo on CPU.
Collectives time out after ``RECURRENTE_DIST_TIMEOUT`` seconds (default 600: rank 0's
evaluation must fit in it, since the others wait for its result). A rank that dies, or a
collective that fails or times out, stops the others with one sentence
(:class:`ProcessLost`); the last good checkpoint stays as it was. With gloo a dead peer is
noticed at once (its sockets close); NCCL is set to blocking waits
(``TORCH_NCCL_BLOCKING_WAIT=1`` unless set) so that its errors and timeouts reach Python as
exceptions rather than aborting the process. torchrun itself also stops the other workers
(SIGTERM, handled here as Ctrl-C is) when one of them exits.

Resuming: a checkpoint holds the world size it was written by. The same world size continues
exactly (every rank gets its own RNG and carried state back). Another world size is well defined
and accepted: the data position is global, the carried states of the streams are concatenated
and re-split, and rank ``r`` keeps old rank ``r``'s random state (new ranks get a fresh one), so
the run continues on the same global batches and state; it is not bit-identical to an
uninterrupted run only where randomness is drawn per rank (dropout masks).
"""

import datetime
import os
import re
import signal
from typing import Callable, List, Optional

import numpy as np
import torch

from recurrente.errors import UserError
from recurrente.train.callbacks import Checkpointer
from recurrente.train.shards import Padding, shard

TIMEOUT_ENV, DEFAULT_TIMEOUT = "RECURRENTE_DIST_TIMEOUT", 600.0
PER_RANK = ("rng", "carry")  # the parts of the trainer state each rank has its own of


class Local:
    """One process: the data as it comes, the task's own loss, nothing to agree on."""

    rank, size, is_main, backend = 0, 1, True, None

    def __init__(self):
        self.notes: List[str] = []

    def shard(self, batches):
        return batches

    def seed(self, seed: int) -> None:
        pass

    def loss(self, task, batch, carry):
        return task.loss(batch, carry)

    def mean_loss(self, loss_sum, count):
        """``(loss to backpropagate, its value, items counted)``."""
        loss = loss_sum / count
        return loss, loss.detach(), count

    def agree(self, interrupted: bool, elapsed: float):
        return interrupted, elapsed

    def on_main(self, fn: Callable, *args):
        return fn(*args)

    def with_every_rank(self, state: dict) -> dict:
        return state

    def for_this_rank(self, state: dict) -> dict:
        return rank_state(state, 0, 1, self.notes)

    def callbacks(self, callbacks: list) -> list:
        return callbacks

    def fit(self, trainer):
        return trainer.fit()

    def describe(self) -> str:
        return ""

    def close(self) -> None:
        pass


def join(device: str = "auto"):
    """The world this process trains in: :class:`DataParallel` under torchrun with more than
    one process (``WORLD_SIZE`` > 1), else :class:`Local`."""
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1:
        return Local()
    return DataParallel(device)


class DataParallel(Local):
    """Process ``rank`` of ``size``, in a process group made from torchrun's environment
    (``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``, ``MASTER_ADDR``, ``MASTER_PORT``)."""

    def __init__(self, device: str = "auto"):
        import torch.distributed as dist
        from recurrente.device import resolve_device
        super().__init__()
        self.dist, self.ddp = dist, None
        on_cuda = resolve_device(device).type == "cuda"
        if on_cuda:
            local = int(os.environ.get("LOCAL_RANK", "0"))
            if local >= torch.cuda.device_count():
                raise RankError(f"process {local} of this machine has no GPU of its own (torch "
                                f"sees {torch.cuda.device_count()}); start at most that many "
                                f"processes per machine")
            torch.cuda.set_device(local)
        self.backend = "nccl" if on_cuda else "gloo"
        self.comm = torch.device("cuda", torch.cuda.current_device()) if on_cuda else \
            torch.device("cpu")
        if on_cuda:  # NCCL then raises a failed or timed-out collective to the caller (us)
            os.environ.setdefault("TORCH_NCCL_BLOCKING_WAIT", "1")  # instead of aborting
        self.owns_group = not dist.is_initialized()
        if self.owns_group:
            timeout = float(os.environ.get(TIMEOUT_ENV, DEFAULT_TIMEOUT))
            try:
                dist.init_process_group(self.backend,
                                        timeout=datetime.timedelta(seconds=timeout))
            except (RuntimeError, ValueError) as e:
                raise RankError(f"could not join the other processes of the run "
                                f"({_first_sentence(e)})") from None
        self.rank, self.size = dist.get_rank(), dist.get_world_size()
        self.is_main = self.rank == 0

    # -- data and loss ---------------------------------------------------------------------
    def shard(self, batches):
        return shard(batches, self.rank, self.size)

    def seed(self, seed: int) -> None:
        """Ranks other than 0 draw from their own random stream (dropout masks differ between
        processes as they would between columns of one batch); rank 0 keeps the stream a single
        process would have."""
        if self.rank:
            torch.manual_seed(derived_seed(seed, self.rank))

    def loss(self, task, batch, carry):
        """The task's ``loss`` run through DistributedDataParallel, so that the backward that
        follows all-reduces the gradients; a :class:`~.shards.Padding` batch counts for nothing."""
        if self.ddp is None or self.ddp.module.task is not task:
            from torch.nn.parallel import DistributedDataParallel
            ids = [self.comm.index] if self.comm.type == "cuda" else None
            self.ddp = DistributedDataParallel(_Loss(task), device_ids=ids,
                                               forward_sync_buffers=False)
        padding = isinstance(batch, Padding)
        loss_sum, count, carry = self.ddp(batch[0] if padding else batch, carry)
        if padding:
            loss_sum, count = loss_sum * 0.0, 0
        return loss_sum, count, carry

    def mean_loss(self, loss_sum, count):
        """All-reduce ``(loss_sum, count)`` as sums; the rank's loss scaled by
        ``world / total count`` (see the module docstring), the global mean, the global count."""
        totals = torch.tensor([float(loss_sum.detach()), float(count)], dtype=torch.float64,
                              device=self.comm)
        self.dist.all_reduce(totals)
        total_sum, total_count = totals.tolist()
        return loss_sum * (self.size / total_count), total_sum / total_count, int(total_count)

    # -- agreement ------------------------------------------------------------------------
    def agree(self, interrupted: bool, elapsed: float):
        """Interrupted anywhere -> interrupted everywhere; the elapsed time is the maximum."""
        flags = torch.tensor([float(interrupted), elapsed], dtype=torch.float64, device=self.comm)
        self.dist.all_reduce(flags, op=self.dist.ReduceOp.MAX)
        return bool(flags[0].item()), float(flags[1].item())

    def on_main(self, fn: Callable, *args):
        """``fn(*args)`` on rank 0, its result (or its error, as one sentence) on every rank."""
        payload, error = [None], None
        if self.is_main:
            try:
                payload = [("ok", fn(*args))]
            except Exception as e:  # re-raised below, after the others heard of it
                error, payload = e, [("error", str(e) or type(e).__name__)]
        try:
            self.dist.broadcast_object_list(payload, src=0, device=self.comm)
        except Exception as e:
            if collective_failure(e):  # e.g. a process lost before training began
                raise ProcessLost(self, None, e) from None
            raise
        kind, value = payload[0]
        if kind == "error":
            if error is not None:
                raise error
            raise EchoError(value)
        return value

    # -- checkpoints ------------------------------------------------------------------------
    def with_every_rank(self, state: dict) -> dict:
        """``state`` (this rank's) with every rank's RNG and carried state gathered into it."""
        mine = {k: state[k] for k in PER_RANK}
        gathered = [None] * self.size
        self.dist.all_gather_object(gathered, mine)
        return {**state, "world_size": self.size, "ranks": gathered}

    def for_this_rank(self, state: dict) -> dict:
        return rank_state(state, self.rank, self.size, self.notes)

    def callbacks(self, callbacks: list) -> list:
        """Rank 0 reports and writes; the others only take part in gathering the checkpoint."""
        if self.is_main:
            return callbacks
        return [RankCheckpointer(c.directory, c.every) for c in callbacks
                if isinstance(c, Checkpointer)]

    # -- the run --------------------------------------------------------------------------
    def fit(self, trainer):
        """``trainer.fit()``, SIGTERM (what torchrun sends to stop its workers) handled as
        Ctrl-C, and a failed collective turned into one sentence.

        When one process stops early (Ctrl-C, an error) torchrun sends SIGTERM to the others
        while they are still saying why they stop; so SIGTERM stays a mere flag until this
        process exits, unless the run ended normally everywhere."""
        def stop(signum, frame):
            trainer._interrupted = True
        previous = signal.signal(signal.SIGTERM, stop)
        try:
            progress = trainer.fit()
        except Exception as e:
            if collective_failure(e):
                raise ProcessLost(self, trainer.progress.step, e) from None
            raise
        if progress.stop_reason != "interrupted":
            signal.signal(signal.SIGTERM, previous)
        return progress

    def describe(self) -> str:
        return f"{self.size} processes ({self.backend})"

    def close(self) -> None:
        if self.owns_group and self.dist.is_initialized():
            self.dist.destroy_process_group()


class _Loss(torch.nn.Module):
    """The task as DistributedDataParallel wraps it: ``forward`` is the task's ``loss``."""

    def __init__(self, task):
        super().__init__()
        self.task = task

    def forward(self, batch, state):
        return self.task.loss(batch, state)


class RankCheckpointer(Checkpointer):
    """The checkpointer of ranks other than 0: at each of rank 0's checkpoints it hands over its
    RNG and carried state (:meth:`DataParallel.with_every_rank`) and writes nothing."""

    def save_last(self, trainer):
        trainer.state_dict()

    def _save_best(self, trainer):
        pass


class EchoError(UserError):
    """Another rank's error, repeated so this rank stops too; rank 0 already printed it."""
    echo = True


class RankError(UserError):
    """An error of this process alone, which it says itself (:func:`recurrente.cli.main`
    leaves the errors every process meets to rank 0)."""
    every_rank = True


class ProcessLost(RankError):
    """A collective failed: another process died, hung past the timeout, or lost its network."""

    def __init__(self, world: DataParallel, step: Optional[int], error: Exception):
        reason = _first_sentence(error)
        where = "" if step is None else f" at step {step}"
        super().__init__(f"process {world.rank} of {world.size} stopped{where}: another "
                         f"process of the run stopped or could not be reached ({reason}); the "
                         f"last good checkpoint is kept, continue with --resume")


def _first_sentence(error: Exception) -> str:
    """``Read error [127.0.0.1]:9909: Connection reset by peer`` out of gloo's
    ``[.../pair.cc:537] Read error ...: Connection reset by peer. This is typically ...``."""
    text = re.sub(r"^\[[^\]]*\]\s*", "", " ".join(str(error).split()))
    text = text.split(". ")[0].rstrip(".")
    return text if len(text) <= 120 else text[:117] + "..."


def collective_failure(error: Exception) -> bool:
    """Whether ``error`` is a failed or timed-out collective (gloo and NCCL raise RuntimeError
    with their own messages; newer torch raises ``torch.distributed.DistError``)."""
    import torch.distributed as dist
    dist_error = getattr(dist, "DistError", ())
    if dist_error and isinstance(error, dist_error):
        return True
    text = str(error).lower()
    return isinstance(error, RuntimeError) and any(
        marker in text for marker in ("gloo", "nccl", "connection", "timed out", "timeout",
                                      "peer", "broken pipe", "socket"))


# ----------------------------------------------------------------------------- rank states

def derived_seed(seed: int, rank: int) -> int:
    """A seed for rank ``rank`` of a run seeded ``seed`` (independent streams, reproducible)."""
    return int(np.random.SeedSequence([seed % (1 << 63), rank]).generate_state(1)[0])


def rank_state(state: dict, rank: int, size: int, notes: Optional[list] = None) -> dict:
    """The trainer state ``rank`` of ``size`` resumes from: its own RNG and carried state, from
    a checkpoint written by any number of processes (see the module docstring)."""
    ranks = state.get("ranks")
    if ranks is None:  # a single process's checkpoint
        if size == 1:
            return state
        ranks = [{k: state[k] for k in PER_RANK}]
    if len(ranks) == size:
        return {**state, **ranks[rank]}
    if notes is not None:
        notes.append(f"resuming a run of {len(ranks)} process{'es' * (len(ranks) > 1)} with "
                     f"{size}: the same global batches and carried state, but dropout draws "
                     f"differ from an uninterrupted run")
    if rank < len(ranks):
        rng = ranks[rank]["rng"]
    else:
        seed = derived_seed(state["config"]["seed"], rank)
        rng = {"torch": torch.Generator().manual_seed(seed).get_state()}
    return {**state, "rng": rng, "carry": _resplit([r["carry"] for r in ranks], rank, size)}


def _resplit(carries: list, rank: int, size: int):
    """Rank ``rank``'s columns of the carried states of all old ranks, concatenated along the
    batch dimension: each carry is a list of ``(L*K, B_r, H)`` tensors (``[h]`` or ``[h, c]``)."""
    if any(c is None for c in carries):
        return None
    whole = [torch.cat(parts, dim=1) for parts in zip(*carries)]  # (L*K, B, H) each
    B = whole[0].shape[1]
    if B % size:
        raise UserError(f"the run's batch of {B} does not split evenly across {size} processes; "
                        f"expected a multiple of {size}")
    lo, hi = rank * B // size, (rank + 1) * B // size
    return [s[:, lo:hi].contiguous() for s in whole]
