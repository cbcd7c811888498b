"""``recurrente check --speed``: what ``implementation="auto"`` picks on this machine, measured now.

For each cell and hidden size, a 2-layer stack (input size = hidden size) is timed in every
candidate implementation, for training (forward and backward) and for inference, exactly as
:mod:`recurrente.layers.autotune` times a new case; the winners go into the autotuning cache,
so later runs start with them. Prints tokens per second per implementation and the ratio.
"""

from dataclasses import dataclass
from typing import List, Sequence

import torch

from recurrente.layers import autotune, make_layer


@dataclass
class SpeedRow:
    cell: str
    hidden: int
    training: bool
    tokens_per_s: dict  # implementation -> tokens/s
    choice: str

    @property
    def ratio(self) -> float:
        """The winner's speed over the slowest candidate's."""
        return self.tokens_per_s[self.choice] / min(self.tokens_per_s.values())

    def as_dict(self) -> dict:
        return {"cell": self.cell, "hidden": self.hidden,
                "mode": "training" if self.training else "inference",
                "tokens_per_s": self.tokens_per_s, "choice": self.choice, "ratio": self.ratio}


def speed_table(cells: Sequence[str] = ("rnn", "lstm", "gru"), hidden: Sequence[int] = (128, 512),
                batch: int = 32, steps: int = autotune.MAX_STEPS, layers: int = 2,
                device: str = "cpu") -> List[SpeedRow]:
    rows = []
    for cell in cells:
        for H in hidden:
            with torch.random.fork_rng(devices=[]):
                layer = make_layer(cell, H, H, layers).to(device)
            for training in (True, False):
                decision = autotune.remeasure(layer, device, batch, steps, training)
                rate = {impl: steps * batch / s for impl, s in decision.seconds.items()}
                rows.append(SpeedRow(cell, H, training, rate, decision.choice))
    return rows


def print_table(rows: List[SpeedRow], batch: int, steps: int) -> None:
    from recurrente import machine
    print(f"speed on {machine.describe_line()}; 2 layers, B={batch}, T={steps}, tokens/s")
    print(f"{'cell':<6}{'H':>6}  {'mode':<10}{'native':>10}{'fused':>10}  auto picks")
    for r in rows:
        cols = "".join(f"{r.tokens_per_s.get(i, float('nan')):>10,.0f}" for i in ("native", "fused"))
        mode = "training" if r.training else "inference"
        print(f"{r.cell:<6}{r.hidden:>6}  {mode:<10}{cols}  {r.choice} ({r.ratio:.2f}x)")
    print(f"cached in {autotune.cache_path()}")
