"""Optimizers and learning-rate schedules, as plain functions of the step (easy to resume)."""

import math

import torch

from recurrente.errors import UserError

OPTIMIZERS = ("adamw", "adam", "sgd", "adadelta")
SCHEDULES = ("cosine", "wsd", "plateau", "constant")


def make_optimizer(name: str, params, lr: float, weight_decay: float = 0.0,
                   momentum: float = 0.0) -> torch.optim.Optimizer:
    """AdamW (default), Adam, SGD (optionally with momentum) or Adadelta (the course's choice)."""
    params = list(params)
    if name == "adamw":
        return torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay)
    if name == "adam":
        return torch.optim.Adam(params, lr=lr, weight_decay=weight_decay)
    if name == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=momentum, weight_decay=weight_decay)
    if name == "adadelta":
        return torch.optim.Adadelta(params, lr=lr, weight_decay=weight_decay)
    raise UserError(f"unknown optimizer {name!r}; expected one of {', '.join(OPTIMIZERS)}")


def cosine_factor(progress: float, warmup: float) -> float:
    """Linear warm-up over the first ``warmup`` fraction, then cosine decay to 10% of the peak.

    ``progress`` in [0, 1] is the fraction of the run done (by steps or by time budget).
    """
    if warmup > 0 and progress < warmup:
        return max(progress / warmup, 1e-3)
    span = max(1e-9, 1.0 - warmup)
    t = min(1.0, (progress - warmup) / span)
    return 0.1 + 0.9 * 0.5 * (1.0 + math.cos(math.pi * t))


def wsd_factor(progress: float, warmup: float, decay: float = 0.2) -> float:
    """Warm-up, stable, decay: linear warm-up over the first ``warmup`` fraction, the peak rate
    until the last ``decay`` fraction, then a linear fall to 0 at the end of the run.

    ``η(p) = η_max · min(p / w, 1, (1 − p) / d)`` for progress ``p``, warm-up ``w`` and decay
    ``d``. A run spends most of its time at the peak rate, where a short run still learns
    fastest, and still ends annealed; the schedule of Hu et al. (2024, "MiniCPM") and Hägele et
    al. (2024, "Scaling laws and compute-optimal training beyond fixed training durations"),
    who find it matches cosine at the end of long runs.
    """
    rise = progress / warmup if warmup > 0 else 1.0
    fall = (1.0 - progress) / decay if decay > 0 else 1.0
    return max(min(rise, 1.0, fall), 1e-3)


class Plateau:
    """Reduce-on-plateau: multiply the rate by ``factor`` after ``patience`` evals without a new
    best. Its whole state is three numbers, saved with the trainer state."""

    def __init__(self, factor: float = 0.5, patience: int = 2):
        self.factor, self.patience = factor, patience
        self.scale, self.best, self.bad = 1.0, math.inf, 0

    def update(self, value: float) -> None:
        if value < self.best - 1e-6:
            self.best, self.bad = value, 0
        else:
            self.bad += 1
            if self.bad >= self.patience:
                self.scale, self.bad = self.scale * self.factor, 0

    def state_dict(self) -> dict:
        return {"scale": self.scale, "best": self.best, "bad": self.bad}

    def load_state_dict(self, state: dict) -> None:
        self.scale, self.best, self.bad = state["scale"], state["best"], state["bad"]
