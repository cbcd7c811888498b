"""Averaged SGD: a running mean of the weights, used for evaluation and saving once switched on.

.. math::
    \\bar θ_n = \\bar θ_{n-1} + (θ_n - \\bar θ_{n-1}) / n

over the ``n`` optimizer steps since averaging started (Polyak & Juditsky 1992). AWD-LSTM
(Merity, Keskar & Socher 2018) switches it on when the validation loss stops improving, the
"non-monotonically triggered" rule: at an evaluation that is worse than the best of all but the
last ``NONMONO`` evaluations. ``--average nt`` does that; ``--average 0.5`` switches it on half way
through the run (by the nearest of its limits: steps, epochs or time budget).

The optimizer keeps stepping the raw weights; :meth:`WeightAverage.applied` swaps the average in
for the length of an evaluation or a save, and the average travels in the trainer state, so a
resumed run goes on averaging where it stopped.
"""

from contextlib import contextmanager, nullcontext
from typing import List, Optional

import torch

from recurrente.errors import UserError

NONMONO = 5  # evaluations: Merity et al.'s non-monotone interval


def check_average(value: Optional[str]) -> Optional[str]:
    """``None``/``"none"`` (off), ``"nt"`` or a fraction of the run in [0, 1)."""
    if value in (None, "none", "nt"):
        return value
    try:
        fraction = float(value)
    except (TypeError, ValueError):
        fraction = -1.0
    if not 0.0 <= fraction < 1.0:
        raise UserError(f"expected --average nt or a fraction of the run in [0, 1), got {value!r}")
    return value


class WeightAverage:
    """The running mean of ``params`` (a list of tensors updated in place by an optimizer)."""

    def __init__(self, params, when: Optional[str] = None):
        self.params: List[torch.Tensor] = list(params)
        self.when = None if when in (None, "none") else check_average(when)
        self.mean: Optional[List[torch.Tensor]] = None
        self.n = 0

    @property
    def active(self) -> bool:
        return self.mean is not None

    def maybe_start(self, fraction_done: float, history: list, monitor: str, mode: str) -> bool:
        """Switch averaging on if its rule says so now; whether it is on."""
        if self.active or self.when is None:
            return self.active
        if self.when == "nt":
            values = [r[f"valid_{monitor}"] for r in history if f"valid_{monitor}" in r]
            sign = 1.0 if mode == "min" else -1.0
            start = len(values) > NONMONO and \
                sign * values[-1] > min(sign * v for v in values[:-NONMONO])
        else:
            start = fraction_done >= float(self.when)
        if start:
            self.mean = [p.detach().clone() for p in self.params]
            self.n = 1
        return self.active

    @torch.no_grad()
    def update(self) -> None:
        """Fold the current weights into the mean (after each optimizer step)."""
        if not self.active:
            return
        self.n += 1
        for mean, p in zip(self.mean, self.params):
            mean.lerp_(p.detach(), 1.0 / self.n)

    @contextmanager
    def _swapped(self):
        saved = [p.detach().clone() for p in self.params]
        with torch.no_grad():
            for p, mean in zip(self.params, self.mean):
                p.copy_(mean)
        try:
            yield
        finally:
            with torch.no_grad():
                for p, raw in zip(self.params, saved):
                    p.copy_(raw)

    def applied(self):
        """A context in which the parameters hold the average (the raw weights after it); a
        no-op until averaging is on."""
        return self._swapped() if self.active else nullcontext()

    def state_dict(self) -> dict:
        return {"n": self.n, "mean": None if self.mean is None else [m.cpu() for m in self.mean]}

    def load_state_dict(self, state: Optional[dict]) -> None:
        if not state or state.get("mean") is None:
            self.mean, self.n = None, 0
            return
        self.n = state["n"]
        self.mean = [m.to(p.device, p.dtype) for m, p in zip(state["mean"], self.params)]
