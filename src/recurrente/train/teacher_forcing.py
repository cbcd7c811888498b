"""Teacher forcing and scheduled sampling (Bengio et al. 2015).

In training, the decoder's input at step t is the gold token ``y_{t-1}`` (teacher forcing); at
inference it is the model's own prediction, which training never showed it. Scheduled sampling
feeds the gold token with probability ``ε_i`` and the model's prediction otherwise, and lowers
``ε_i`` as training step ``i`` advances::

    constant          ε_i = k                                 k in [0, 1] (1: always gold)
    linear            ε_i = max(k, 1 - (1 - k) · i / total)   from 1 at i = 0 down to the
                                                              floor k at i = total (the
                                                              paper's max(ε, k - c·i))
    exponential       ε_i = k^i                               k < 1, e.g. 0.9999
    inverse_sigmoid   ε_i = k / (k + exp(i / k))              k >= 1, e.g. total / 10

The choice is made per token (:func:`mix`), as in the paper.
"""

import math
from dataclasses import dataclass
from typing import Optional

import torch
from torch import Tensor

from recurrente.errors import UserError, check_choice

KINDS = ("constant", "linear", "exponential", "inverse_sigmoid")
DEFAULT_K = {"constant": 1.0, "linear": 0.0}  # the others have no sensible default


def teacher_forcing_probability(kind: str, step: int, total: Optional[int] = None,
                                k: Optional[float] = None) -> float:
    """``ε_i``, the probability of feeding the gold token at training step ``i = step``.

    Args:
        kind: ``"constant"``, ``"linear"``, ``"exponential"`` or ``"inverse_sigmoid"``.
        step: the training step i >= 0.
        total: the step at which ``linear`` reaches its floor (only ``linear`` uses it).
        k: the schedule's parameter (module docstring): the ratio for ``constant`` (default 1),
            the floor for ``linear`` (default 0), the base for ``exponential`` and the
            steepness for ``inverse_sigmoid`` (both required).
    """
    check_choice("teacher forcing schedule", kind, KINDS)
    k = DEFAULT_K.get(kind) if k is None else float(k)
    if k is None:
        raise UserError(f"expected a value of k for the {kind} schedule, got none")
    if step < 0:
        raise UserError(f"expected a training step >= 0, got {step}")
    if kind in ("constant", "linear") and not 0.0 <= k <= 1.0:
        raise UserError(f"expected k in [0, 1] for the {kind} schedule, got {k}")
    if kind == "constant":
        return k
    if kind == "linear":
        if total is None or total < 1:
            raise UserError(f"expected total >= 1 steps for the linear schedule, got {total}")
        return max(k, 1.0 - (1.0 - k) * step / total)
    if kind == "exponential":
        if not 0.0 < k < 1.0:
            raise UserError(f"expected k in (0, 1) for the exponential schedule, got {k}")
        return k ** step
    if k < 1.0:
        raise UserError(f"expected k >= 1 for the inverse_sigmoid schedule, got {k}")
    # k / (k + exp(i/k)) = σ(ln k - i/k), computed without overflowing exp
    z = math.log(k) - step / k
    return 1.0 / (1.0 + math.exp(-z)) if z >= 0 else math.exp(z) / (1.0 + math.exp(z))


def mix(gold: Tensor, predicted: Tensor, p: float,
        generator: Optional[torch.Generator] = None) -> Tensor:
    """Per token, ``gold`` with probability ``p`` and ``predicted`` otherwise: ``(B,) -> (B,)``.

    ``p = 1`` is teacher forcing (exactly ``gold``), ``p = 0`` free running (exactly
    ``predicted``). Pass ``predicted`` detached (``argmax`` or a sample): the choice is not
    differentiated through.
    """
    if gold.shape != predicted.shape:
        raise ValueError(f"expected gold and predicted of the same shape, got "
                         f"{tuple(gold.shape)} and {tuple(predicted.shape)}")
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"expected a probability p in [0, 1], got {p}")
    if p >= 1.0:
        return gold
    if p <= 0.0:
        return predicted
    use_gold = torch.rand(gold.shape, generator=generator, device=gold.device) < p  # (B,)
    return torch.where(use_gold, gold, predicted)


@dataclass
class ScheduledSampling:
    """A schedule bound to its parameters: ``ε = schedule(step)``, ``schedule.mix(...)``.

    Example::

        >>> schedule = ScheduledSampling("inverse_sigmoid", k=500)
        >>> p = schedule(trainer_step)
        >>> next_input = schedule.mix(gold_t, logits_t.argmax(-1), p, generator)
    """

    kind: str = "constant"
    total: Optional[int] = None
    k: Optional[float] = None

    def __post_init__(self):
        teacher_forcing_probability(self.kind, 0, self.total, self.k)  # validate now

    def __call__(self, step: int) -> float:
        return teacher_forcing_probability(self.kind, step, self.total, self.k)

    mix = staticmethod(mix)


def gold_probability(kind, step: int, fraction: float, k=None, steps=None,
                     constant: float = 1.0) -> float:
    """``ε`` now, for a model trained ``step`` steps, ``fraction`` of its run: ``constant``
    without a schedule (``kind=None``); ``linear`` over ``steps`` steps, or over the whole run
    (by ``fraction``, whatever limit the run has) when ``steps`` is not given."""
    if kind is None:
        return float(constant)
    if kind == "linear" and not steps:
        return teacher_forcing_probability("linear", round(fraction * 10 ** 6), 10 ** 6, k)
    return teacher_forcing_probability(kind, step, steps, k)
