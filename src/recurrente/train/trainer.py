"""One trainer for every task: a straight loop, extended by callbacks.

Per step: forward and loss (the task's ``(loss_sum, count, state)``), backward, clip by global
norm (the norm *before* clipping is logged), optimizer step, learning-rate schedule. The recurrent
state returned by the task is detached and carried into the next batch when the batches carry
state (sequential partitioning = truncated BPTT). Evaluation, checkpoints, early stopping,
logging and the progress bar are callbacks; the loop knows nothing about the model.

A batch is any structure of tensors (tuple, list, dict, nested) that the task's ``loss`` takes;
the trainer moves its tensors to the device. The best checkpoint, the plateau schedule and early
stopping follow one *monitored* metric of the evaluation, with its mode: ``("loss", "min")`` for
a language model, ``("accuracy", "max")`` for a classifier. The trainer never reseeds the global
random generator: the caller seeds before building the model, and a resumed run restores it.

Batches may scale a step's learning rate (``batches.lr_scale(batch)``: variable-length windows),
and ``average`` keeps a running mean of the weights that evaluation and the best checkpoint use
(:mod:`recurrente.train.averaging`).

``config.precision`` runs the forward under autocast (:mod:`recurrente.train.precision`), and
``world`` makes the trainer one process of a data-parallel run (:mod:`recurrente.train.distributed`:
sharded batches, the loss through DistributedDataParallel, losses reduced as sums and counts,
evaluation on rank 0, the stop decided by all); by default it is one process, and the loop is
the plain one.
"""

import math
import signal
import time
from dataclasses import asdict, dataclass, field
from typing import Callable, List, Optional

import torch

from recurrente.device import move_to, resolve_device
from recurrente.errors import UserError
from recurrente.layers.state import LSTMState, detach_state
from recurrente.train.averaging import WeightAverage
from recurrente.train.config import TrainConfig
from recurrente.train.distributed import Local
from recurrente.train.precision import Precision
from recurrente.train.optim import Plateau, cosine_factor, make_optimizer, wsd_factor


MODES = ("min", "max")


@dataclass
class Progress:
    """Where training stands; everything here is saved with a checkpoint."""
    step: int = 0
    epoch: int = 0
    batch: int = 0  # next batch index within the epoch
    tokens: int = 0
    elapsed: float = 0.0
    best: float = math.inf  # best monitored value (-inf start when higher is better)
    bad_evals: int = 0
    stop_reason: str = ""
    history: List[dict] = field(default_factory=list)


class Trainer:
    """Train ``task`` on ``batches``; ``evaluate(task) -> {"loss": ..., metric: ...}`` scores
    held-out data, and ``monitor`` (with ``mode`` ``"min"`` or ``"max"``) names the metric that
    decides the best checkpoint, the plateau schedule and early stopping.

    ``batches`` has ``epoch(e, start=k)`` (an iterable of batches, deterministic in ``e``),
    ``len()`` and ``carries_state``. Callbacks get ``on_start``, ``on_step``, ``on_eval``,
    ``on_end`` calls with the trainer and a record dict.
    """

    def __init__(self, task, batches, config: TrainConfig,
                 evaluate: Optional[Callable] = None, callbacks=(), monitor: str = "loss",
                 mode: str = "min", world=None):
        config.validate()
        if mode not in MODES:
            raise ValueError(f"expected mode 'min' or 'max', got {mode!r}")
        self.config, self.batches, self.evaluate = config, batches, evaluate
        self.monitor, self.mode = monitor, mode
        self.device = resolve_device(config.device)
        self.world = world or Local()  # one process, or data-parallel (train/distributed.py)
        self.precision = Precision(config.precision, self.device, task)
        self.task = task.to(self.device)
        self.optimizer = make_optimizer(config.optimizer, task.parameters(), config.lr,
                                        config.weight_decay, config.momentum)
        self.plateau = Plateau()
        self.progress = Progress(best=math.inf if mode == "min" else -math.inf)
        self.average = WeightAverage(self.task.parameters(), config.average)
        self.carry = None  # recurrent state carried between batches
        self.callbacks = list(callbacks)
        self._interrupted = False

    # -- the loop ---------------------------------------------------------------------------
    def fit(self) -> Progress:
        self.progress.stop_reason = ""  # a resumed run stops for its own reasons
        self._call("on_start")
        previous = self._catch_sigint()
        try:
            while not self._should_stop():
                self._run_epoch()
        except NonFiniteLoss:
            # The failed step was not applied: the weights are still the last good ones, so the
            # callbacks close the bar, flush the log and checkpoint them as usual.
            self.progress.stop_reason = "non-finite loss"
            self._call("on_end")
            raise
        finally:
            if previous is not None:
                signal.signal(signal.SIGINT, previous)
        p = self.progress
        interrupted = p.stop_reason == "interrupted"  # as every process agreed (_should_stop)
        if not interrupted and self.evaluate is not None and \
                (not p.history or p.history[-1]["step"] != p.step):
            self.run_evaluation()  # the best checkpoint must account for the final weights
        self._call("on_end")
        return self.progress

    def _run_epoch(self) -> None:
        p = self.progress
        for batch in self.batches.epoch(p.epoch, start=p.batch):
            started = time.perf_counter()
            record = self.train_step(batch)
            p.elapsed += time.perf_counter() - started
            p.batch += 1
            self._call("on_step", record)
            if self.evaluate is not None and p.step % self.config.eval_every == 0:
                self.run_evaluation()
            if self._should_stop():
                return
        p.epoch, p.batch, self.carry = p.epoch + 1, 0, None

    def train_step(self, batch) -> dict:
        """Forward, backward, clip, step. Returns what happened, for the callbacks."""
        p, config = self.progress, self.config
        self.task.train()
        lr = self._set_learning_rate(getattr(self.batches, "lr_scale", lambda b: 1.0)(batch))
        hook = getattr(self.task, "on_train_step", None)  # e.g. scheduled sampling's ε
        if hook is not None:
            hook(p.step, self.fraction_done())
        batch = move_to(batch, self.device)
        carry = self.carry if self.batches.carries_state else None
        with self.precision.autocast():
            loss_sum, count, carry = self.world.loss(self.task, batch, carry)
        loss, mean, count = self.world.mean_loss(loss_sum, count)  # all ranks' mean and count
        self.optimizer.zero_grad(set_to_none=True)
        self.precision.backward(loss, self.optimizer)
        max_norm = config.clip if config.clip else math.inf
        norm = float(torch.nn.utils.clip_grad_norm_(self.task.parameters(), max_norm))
        value = float(mean)
        if not (math.isfinite(value) and (math.isfinite(norm) or self.precision.skips_overflow)):
            raise NonFiniteLoss(p.step + 1, value, norm)
        self.precision.step(self.optimizer)
        self.carry = detach_state(carry) if carry is not None else None
        p.step += 1
        p.tokens += int(count)
        if self.average.active:
            self.average.update()
        else:  # the first average is these weights
            self.average.maybe_start(self.fraction_done(), p.history, self.monitor, self.mode)
        return {"step": p.step, "loss": value, "grad_norm": norm, "lr": lr, "tokens": int(count),
                "clipped": bool(config.clip) and norm > config.clip}

    def run_evaluation(self) -> dict:
        """Score held-out data, update best/plateau/early-stopping, tell the callbacks."""
        p = self.progress
        with self.averaged():
            result = dict(self.world.on_main(self.evaluate, self.task))  # rank 0's, for all
        if self.monitor not in result:
            raise KeyError(f"the evaluation gave {sorted(result)}, not the monitored "
                           f"{self.monitor!r}")
        value = float(result[self.monitor])
        sign = 1.0 if self.mode == "min" else -1.0  # compare as "lower is better"
        improved = sign * value < sign * p.best - 1e-9
        if improved:
            p.best, p.bad_evals = value, 0
        else:
            p.bad_evals += 1
        self.plateau.update(sign * value)
        record = {"step": p.step, "improved": improved, **{f"valid_{k}": v for k, v in result.items()}}
        if self.average.active:
            record["averaged"] = True
        p.history.append(record)
        self.average.maybe_start(self.fraction_done(), p.history, self.monitor, self.mode)
        self._call("on_eval", record)
        return record

    # -- stopping, schedule -------------------------------------------------------------------
    def _should_stop(self) -> bool:
        p, c = self.progress, self.config
        self._interrupted, p.elapsed = self.world.agree(self._interrupted, p.elapsed)
        reasons = [(self._interrupted, "interrupted"),
                   (c.max_steps is not None and p.step >= c.max_steps, "max steps"),
                   (c.time_budget is not None and p.elapsed >= c.time_budget, "time budget"),
                   (c.epochs is not None and p.epoch >= c.epochs, "epochs"),
                   (c.patience is not None and p.bad_evals >= c.patience, "early stopping")]
        for hit, reason in reasons:
            if hit:
                p.stop_reason = p.stop_reason or reason
                return True
        return False

    def fraction_done(self) -> float:
        """Progress in [0, 1] by whichever limit is nearest (drives the cosine schedule)."""
        p, c = self.progress, self.config
        fractions = []
        if c.max_steps:
            fractions.append(p.step / c.max_steps)
        if c.epochs:
            fractions.append((p.epoch + p.batch / max(1, len(self.batches))) / c.epochs)
        if c.time_budget:
            fractions.append(p.elapsed / c.time_budget)
        return min(1.0, max(fractions))

    def averaged(self):
        """A context in which the task holds the weights to evaluate and save: the averaged
        ones once averaging is on (:mod:`recurrente.train.averaging`), else the current ones."""
        return self.average.applied()

    def _set_learning_rate(self, scale: float = 1.0) -> float:
        """The schedule's rate times ``scale`` (the batch's window length over T, for variable
        windows: :meth:`recurrente.data.batching.Batches.lr_scale`)."""
        c = self.config
        if c.schedule == "cosine":
            lr = c.lr * cosine_factor(self.fraction_done(), c.warmup)
        elif c.schedule == "wsd":
            lr = c.lr * wsd_factor(self.fraction_done(), c.warmup)
        elif c.schedule == "plateau":
            lr = c.lr * self.plateau.scale
        else:
            lr = c.lr
        lr *= scale
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        return lr

    # -- state for checkpoints ------------------------------------------------------------------
    def state_dict(self) -> dict:
        p = self.progress
        rng = {"torch": torch.get_rng_state()}
        if torch.cuda.is_available():
            rng["cuda"] = torch.cuda.get_rng_state_all()
        carry = None  # saved as a plain list of tensors: weights_only loading allows no classes
        if self.carry is not None:
            carry = [s.cpu() for s in (self.carry if isinstance(self.carry, tuple) else [self.carry])]
        state = {"optimizer": self.optimizer.state_dict(), "plateau": self.plateau.state_dict(),
                 "progress": asdict(p), "rng": rng, "carry": carry,
                 "average": self.average.state_dict(), "config": asdict(self.config),
                 "scaler": self.precision.state_dict()}
        return self.world.with_every_rank(state)  # data-parallel: every rank's rng and carry

    def load_state_dict(self, state: dict) -> None:
        state = self.world.for_this_rank(state)  # this rank's rng and carry
        self.optimizer.load_state_dict(state["optimizer"])
        self.precision.load_state_dict(state.get("scaler"))
        self.plateau.load_state_dict(state["plateau"])
        self.average.load_state_dict(state.get("average"))
        self.progress = Progress(**state["progress"])
        torch.set_rng_state(state["rng"]["torch"])
        cuda_states = state["rng"].get("cuda")
        if cuda_states and torch.cuda.is_available() and len(cuda_states) == torch.cuda.device_count():
            torch.cuda.set_rng_state_all(cuda_states)
        carry = state["carry"]
        if carry is not None:
            carry = [s.to(self.device) for s in carry]
            # (h, c): the LSTM's; four tensors: an xLSTM state, which its layer takes as a tuple
            self.carry = LSTMState(*carry) if len(carry) == 2 else \
                carry[0] if len(carry) == 1 else tuple(carry)

    # -- plumbing ---------------------------------------------------------------------------
    def _call(self, hook: str, record: Optional[dict] = None) -> None:
        for callback in self.callbacks:
            method = getattr(callback, hook, None)
            if method is not None:
                method(self) if record is None else method(self, record)

    def _catch_sigint(self):
        """Ctrl-C finishes the current step, checkpoints, and stops (never a half-written file)."""
        def handler(signum, frame):
            self._interrupted = True
        try:
            return signal.signal(signal.SIGINT, handler)
        except ValueError:  # not in the main thread
            return None


class NonFiniteLoss(UserError):
    def __init__(self, step: int, loss: float, norm: float):
        super().__init__(f"training stopped at step {step}: the loss became {loss} (gradient norm "
                         f"{norm}); the last good checkpoint is kept; try a lower --lr or --clip")
        self.step = step
