"""A run's training options (:class:`TrainConfig`), below the trainer and the tasks: a task's
options hold one, and the trainer reads it, without either importing the other."""

import math
from dataclasses import dataclass
from typing import Optional

from recurrente.errors import UserError
from recurrente.train.averaging import check_average
from recurrente.train.optim import OPTIMIZERS, SCHEDULES
from recurrente.train.precision import check_precision


@dataclass
class TrainConfig:
    optimizer: str = "adamw"
    lr: float = 3e-3
    weight_decay: float = 0.0
    momentum: float = 0.0
    clip: Optional[float] = 1.0  # max global gradient norm; None or 0 disables clipping
    schedule: str = "cosine"  # cosine | wsd | plateau | constant
    warmup: float = 0.02  # fraction of the run spent warming up (cosine, wsd)
    epochs: Optional[int] = None
    max_steps: Optional[int] = None
    time_budget: Optional[float] = None  # seconds of training, evaluation excluded
    eval_every: int = 200
    patience: Optional[int] = None  # early stop after this many evals without improvement
    log_every: int = 10
    seed: int = 0
    device: str = "auto"
    monitor: Optional[str] = None  # the evaluation metric the best checkpoint follows (task's)
    average: Optional[str] = None  # averaged weights from: "nt" or a fraction of the run
    precision: str = "fp32"  # fp32 | bf16 | fp16 (autocast; recurrente.train.precision)

    def validate(self) -> None:
        """One sentence for the first option out of range (NaN and infinities included), so
        that a refused run is refused before anything is read, built or written."""
        if self.optimizer not in OPTIMIZERS:
            raise UserError(f"unknown optimizer {self.optimizer!r}; expected one of "
                            f"{', '.join(OPTIMIZERS)}")
        check_average(self.average)
        check_precision(self.precision)
        if self.schedule not in SCHEDULES:
            raise UserError(f"unknown schedule {self.schedule!r}; expected {', '.join(SCHEDULES)}")
        if not (self.epochs or self.max_steps or self.time_budget):
            raise UserError("expected at least one of --epochs, --max-steps or --time-budget")
        for name in ("lr", "epochs", "max_steps", "time_budget", "eval_every", "log_every",
                     "patience"):
            value = getattr(self, name)
            if value is not None and not (_finite(value) and value > 0):
                raise UserError(f"expected --{name.replace('_', '-')} a finite number > 0, got "
                                f"{value}")
        for name in ("clip", "weight_decay", "momentum", "warmup"):
            value = getattr(self, name)
            if value is not None and not (_finite(value) and value >= 0):
                raise UserError(f"expected --{name.replace('_', '-')} a finite number >= 0, got "
                                f"{value}")


def _finite(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and \
        math.isfinite(value)


# Training options that ``--resume`` lets a user change (and records); every other option of a
# run (data, model, optimizer, seed, schedule shape) would make the resumed run another one.
CHANGEABLE_ON_RESUME = frozenset({"lr", "weight_decay", "momentum", "clip", "epochs", "max_steps",
                                  "time_budget", "eval_every", "patience", "log_every", "device"})
