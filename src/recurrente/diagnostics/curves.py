"""Learning curves of one or more runs: cross-entropy in bits per token, and perplexity.

A language model's loss is the mean cross-entropy of the next token in nats,
``ℓ = -(1/n) Σ_t log P(x_{t+1} | x_{≤t})``; the course reports it two other ways:

.. math::
    \\mathrm{perplexity} = e^{ℓ} = 2^{ℓ / \\ln 2},
    \\qquad \\mathrm{bits\\ per\\ token} = ℓ / \\ln 2

Perplexity is the number of equally likely choices that would be as uncertain as the model
(1 is a perfect model, V a uniform guess over the vocabulary); bits per character is what an
ideal coder driven by the model would spend per character. The plot draws bits on the left axis
and the matching perplexity on the right, so both read off the same curve.
"""

import math
from pathlib import Path
from typing import Dict

from recurrente.diagnostics.clipping import read_metrics
from recurrente.diagnostics.plotting import COLOURS, pyplot, save
from recurrente.errors import UserError

LN2 = math.log(2)


def learning_curves(run_dir) -> dict:
    """``{"train": [(step, loss)], "valid": [(step, loss)]}`` in nats, from ``metrics.jsonl``."""
    steps, evals = read_metrics(run_dir)
    train = [(int(r["step"]), float(r["loss"])) for r in steps if "loss" in r]
    valid = [(int(r["step"]), float(r["valid_loss"])) for r in evals if "valid_loss" in r]
    return {"train": train, "valid": valid}


def best_valid(curves: dict) -> dict:
    """The best validation loss as loss, perplexity and bits per token (``{}`` if none)."""
    if not curves["valid"]:
        return {}
    step, loss = min(curves["valid"], key=lambda p: p[1])
    return {"step": step, "valid_loss": loss, "valid_perplexity": math.exp(min(loss, 700)),
            "valid_bits_per_token": loss / LN2}


def plot_curves(runs: Dict[str, dict], path, title: str = "", unit: str = "token") -> Path:
    """Train (thin) and validation (thick, dots) curves of every run in ``runs`` (label ->
    :func:`learning_curves` output), in bits per ``unit`` with perplexity on the right axis."""
    if not any(c["train"] or c["valid"] for c in runs.values()):
        raise UserError("the metrics logs hold no losses yet; nothing to plot")
    plt = pyplot()
    fig, ax = plt.subplots(dpi=80, figsize=(7.0, 3.8))
    for k, (label, curves) in enumerate(runs.items()):
        colour = COLOURS[k % len(COLOURS)]
        if curves["train"]:
            s, l = zip(*curves["train"])
            ax.plot(s, [v / LN2 for v in l], lw=0.7, alpha=0.6, color=colour,
                    label=f"{label} train")
        if curves["valid"]:
            s, l = zip(*curves["valid"])
            ax.plot(s, [v / LN2 for v in l], lw=1.8, marker="o", ms=3, color=colour,
                    label=f"{label} valid")
    ax.set_xlabel("optimizer step", fontsize=9)
    ax.set_ylabel(f"cross-entropy (bits per {unit})", fontsize=9)
    fig.canvas.draw()  # fixes the left ticks, so the right ones can sit at the same heights
    right = ax.secondary_yaxis("right", functions=(lambda b: 2.0 ** b, _log2_positive))
    bits = [b for b in ax.get_yticks() if ax.get_ylim()[0] <= b <= ax.get_ylim()[1]]
    right.set_yticks([2.0 ** b for b in bits], labels=[f"{2.0 ** b:.3g}" for b in bits])
    right.set_ylabel("perplexity", fontsize=9)
    for a in (ax, right):
        a.tick_params(labelsize=8)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    if title:
        ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return save(fig, path)


def _log2_positive(p):
    import numpy as np
    return np.log2(np.maximum(p, 1e-12))
