"""How the gates of an LSTM or GRU behave on a text: histograms and saturation.

A gate is a vector of numbers in (0, 1) that multiplies something elementwise:
``C_t = F_t ⊙ C_{t-1} + I_t ⊙ C~_t`` keeps the old memory where ``F_t ≈ 1`` and writes the
candidate where ``I_t ≈ 1``; ``H_t = Z_t ⊙ H_{t-1} + (1 - Z_t) ⊙ H~_t`` copies the old state where
``Z_t ≈ 1``. A gate value near 0 or 1 is a *decision* (closed or open); a value near 0.5 is a
blend. Following Karpathy, Johnson & Fei-Fei (2015), a gate activation is

* **left-saturated** when it is below 0.1 and **right-saturated** when it is above 0.9;

for the candidates ``C~_t`` and ``H~_t`` (tanh, range (-1, 1)) the same idea uses -0.9 and 0.9.
The fractions are over all steps and all cells of a layer; :attr:`GateStats.cell_left` and
:attr:`GateStats.cell_right` give them per cell (the paper's scatter plot). Left + right <= 1.
"""

from dataclasses import dataclass
from pathlib import Path
from typing import List

import numpy as np

from recurrente.diagnostics.plotting import COLOURS, pyplot, save
from recurrente.diagnostics.traces import GATES, LABELS, SIGMOID, Trace
from recurrente.errors import UserError

THRESHOLDS = {"sigmoid": (0.1, 0.9), "tanh": (-0.9, 0.9)}


@dataclass
class GateStats:
    """Saturation and histogram of one gate in one layer (values over all T steps and H cells)."""
    layer: int
    gate: str  # short name: i f o g (LSTM), r z n (GRU)
    low: float  # left-saturation threshold
    high: float  # right-saturation threshold
    left: float  # fraction of values < low
    right: float  # fraction of values > high
    mean: float
    counts: np.ndarray  # (bins,)
    edges: np.ndarray  # (bins + 1,)
    cell_left: np.ndarray  # (H,) fraction of steps each cell is left-saturated
    cell_right: np.ndarray  # (H,)

    @property
    def label(self) -> str:
        return LABELS[self.gate]

    def as_dict(self) -> dict:
        return {"layer": self.layer, "gate": self.gate, "label": self.label, "low": self.low,
                "high": self.high, "left_saturated": self.left, "right_saturated": self.right,
                "mean": self.mean}


def gate_statistics(trace: Trace, bins: int = 50) -> List[GateStats]:
    """Statistics of every gate of every layer of ``trace`` (an LSTM or GRU trace)."""
    if trace.cell not in GATES:
        raise UserError(f"gate statistics need an LSTM or GRU; this model is an "
                        f"{trace.cell.upper()}, which has no gates")
    stats = []
    for layer in range(trace.num_layers):
        for gate in GATES[trace.cell]:
            values = trace.values(layer, gate)  # (T, H)
            low, high = THRESHOLDS["sigmoid" if gate in SIGMOID else "tanh"]
            span = (0.0, 1.0) if gate in SIGMOID else (-1.0, 1.0)
            counts, edges = np.histogram(values, bins=bins, range=span)
            stats.append(GateStats(
                layer=layer, gate=gate, low=low, high=high,
                left=float((values < low).mean()), right=float((values > high).mean()),
                mean=float(values.mean()), counts=counts, edges=edges,
                cell_left=(values < low).mean(axis=0), cell_right=(values > high).mean(axis=0)))
    return stats


def plot_gate_histograms(stats: List[GateStats], path, title: str = "") -> Path:
    """One histogram per gate (columns) and layer (rows), saturated regions shaded; a PNG."""
    plt = pyplot()
    layers = sorted({s.layer for s in stats})
    gates = list(dict.fromkeys(s.gate for s in stats))
    fig, axes = plt.subplots(len(layers), len(gates), squeeze=False, dpi=80,
                             figsize=(2.6 * len(gates), 2.1 * len(layers) + 0.5))
    for s in stats:
        ax = axes[layers.index(s.layer)][gates.index(s.gate)]
        widths = np.diff(s.edges)
        ax.bar(s.edges[:-1], s.counts / max(1, s.counts.sum()), width=widths, align="edge",
               color="#4c72b0")
        lo, hi = s.edges[0], s.edges[-1]
        ax.axvspan(lo, s.low, color="#dd8452", alpha=0.15, lw=0)
        ax.axvspan(s.high, hi, color="#c44e52", alpha=0.15, lw=0)
        ax.set_xlim(lo, hi)
        ax.set_title(f"layer {s.layer}  {s.label}\nleft {s.left:.2f}  right {s.right:.2f}",
                     fontsize=9)
        ax.tick_params(labelsize=7)
    for ax in axes[:, 0]:
        ax.set_ylabel("fraction", fontsize=8)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return save(fig, path)


def plot_saturation(stats: List[GateStats], path, title: str = "") -> Path:
    """Per cell: fraction of time left- vs right-saturated, one panel per gate, dots per cell
    (the layout of Karpathy et al. 2015, Fig. 3); colour = layer."""
    plt = pyplot()
    gates = list(dict.fromkeys(s.gate for s in stats))
    fig, axes = plt.subplots(1, len(gates), squeeze=False, dpi=80,
                             figsize=(2.6 * len(gates), 2.8))
    for s in stats:
        ax = axes[0][gates.index(s.gate)]
        ax.scatter(s.cell_left, s.cell_right, s=8, alpha=0.6,
                   color=COLOURS[s.layer % len(COLOURS)], label=f"layer {s.layer}")
        ax.plot([0, 1], [1, 0], color="#999999", lw=0.6)
        ax.set_xlim(-0.02, 1.02)
        ax.set_ylim(-0.02, 1.02)
        ax.set_title(s.label, fontsize=9)
        ax.set_xlabel("left-saturated", fontsize=8)
        ax.tick_params(labelsize=7)
    axes[0][0].set_ylabel("right-saturated", fontsize=8)
    if len({s.layer for s in stats}) > 1:
        axes[0][-1].legend(fontsize=7, loc="upper right")
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return save(fig, path)
