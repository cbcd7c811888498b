"""Gradient clipping over a training run, read back from its ``metrics.jsonl``.

The trainer clips by global norm: with ``g`` all the gradients stacked in one vector and ``θ``
the threshold (``config.json`` → ``options.train.clip``),

.. math::
    g \\leftarrow g \\cdot \\min(1, θ / \\lVert g \\rVert)

and it logs ``‖g‖`` *before* clipping. Each step line of ``metrics.jsonl`` holds ``grad_norms``,
the pre-clip norm of every step of its window (the ``log_every`` steps ending at ``step``), so
the whole history of norms can be rebuilt step by step. A step counts as clipped when its norm
is above θ, exactly the trainer's rule. Old logs without ``grad_norms`` fall back to one point
per line, the window's mean ``grad_norm``.
"""

import json
from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional, Tuple

import numpy as np

from recurrente.diagnostics.plotting import pyplot, save
from recurrente.errors import UserError

METRICS = "metrics.jsonl"


def read_metrics(path) -> Tuple[List[dict], List[dict]]:
    """``(step_lines, eval_lines)`` of a ``metrics.jsonl`` (a run directory or the file)."""
    path = Path(path)
    if path.is_dir():
        path = path / METRICS
    if not path.is_file():
        raise UserError(f"{path} not found; expected the metrics log a training run writes")
    steps, evals = [], []
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            raise UserError(f"{path} line {number} is not JSON; the log is damaged") from None
        (evals if record.get("kind") == "eval" else steps).append(record)
    return steps, evals


def clip_threshold(config: dict) -> Optional[float]:
    """``options.train.clip`` of a run's config; ``None`` when clipping was off or not recorded."""
    clip = config.get("options", {}).get("train", {}).get("clip")
    return float(clip) if clip else None


@dataclass
class ClippingReport:
    """Pre-clip gradient norms, step by step, and how often they were clipped."""
    steps: np.ndarray  # (N,) optimizer step of each norm
    norms: np.ndarray  # (N,) global gradient norm before clipping
    clip: Optional[float]  # threshold θ; None = no clipping
    window_steps: np.ndarray  # (W,) last step of each logged window
    window_fraction: np.ndarray  # (W,) fraction of the window's steps that were clipped

    @property
    def clipped(self) -> np.ndarray:
        """``(N,)`` bool: the step's norm exceeded the threshold."""
        if self.clip is None:
            return np.zeros(len(self.norms), dtype=bool)
        return self.norms > self.clip

    @property
    def fraction(self) -> float:
        """Fraction of all logged steps that were clipped."""
        return float(self.clipped.mean()) if len(self.norms) else 0.0

    def as_dict(self) -> dict:
        norms = self.norms if len(self.norms) else np.zeros(1)
        return {"clip": self.clip, "steps": int(len(self.norms)),
                "clipped_steps": int(self.clipped.sum()), "clipped_fraction": self.fraction,
                "grad_norm_median": float(np.median(norms)), "grad_norm_max": float(norms.max())}


def clipping_report(run_dir, clip: Optional[float] = None) -> ClippingReport:
    """Rebuild the norm history of ``run_dir``; ``clip`` overrides the run's recorded threshold."""
    from recurrente.train.checkpoint import read_config
    run_dir = Path(run_dir)
    if clip is None:
        clip = clip_threshold(read_config(run_dir))
    lines, _ = read_metrics(run_dir)
    by_step = {}
    for line in lines:  # a resumed run never repeats a step, but keep the last line if it did
        if "step" in line and ("grad_norms" in line or "grad_norm" in line):
            by_step[int(line["step"])] = line
    steps, norms, window_steps, window_fraction = [], [], [], []
    for end in sorted(by_step):
        window = by_step[end].get("grad_norms") or [by_step[end]["grad_norm"]]
        first = end - len(window) + 1
        steps.extend(range(first, end + 1))
        norms.extend(float(n) for n in window)
        window_steps.append(end)
        window_fraction.append(float(np.mean(np.asarray(window) > clip)) if clip else 0.0)
    return ClippingReport(np.asarray(steps, dtype=np.int64), np.asarray(norms, dtype=np.float64),
                          clip, np.asarray(window_steps, dtype=np.int64),
                          np.asarray(window_fraction, dtype=np.float64))


def plot_clipping(report: ClippingReport, path, title: str = "") -> Path:
    """Top: pre-clip norm per step (log scale), the threshold θ, clipped steps marked.
    Bottom: fraction of clipped steps per logged window. A PNG."""
    if not len(report.norms):
        raise UserError("the metrics log has no step lines with gradient norms; nothing to plot")
    plt = pyplot()
    from matplotlib.ticker import FuncFormatter
    fig, (top, bottom) = plt.subplots(2, 1, sharex=True, dpi=80, figsize=(7.5, 4.6),
                                      gridspec_kw={"height_ratios": [3, 1.2]})
    top.plot(report.steps, report.norms, lw=0.7, color="#4c72b0", label="‖g‖ before clipping")
    if report.clip is not None:
        top.axhline(report.clip, color="#c44e52", lw=1.0, ls="--", label=f"θ = {report.clip:g}")
        hit = report.clipped
        top.scatter(report.steps[hit], report.norms[hit], s=6, color="#c44e52", zorder=3,
                    label=f"clipped ({report.fraction:.0%} of steps)")
    top.set_yscale("log")
    plain = FuncFormatter(lambda v, _: f"{v:g}")
    top.yaxis.set_major_formatter(plain)
    top.yaxis.set_minor_formatter(plain)
    top.set_ylabel("global gradient norm", fontsize=9)
    top.legend(fontsize=8, loc="upper right")
    bottom.step(report.window_steps, report.window_fraction, where="post", color="#c44e52", lw=1)
    bottom.set_ylim(-0.05, 1.05)
    bottom.set_ylabel("clipped", fontsize=9)
    bottom.set_xlabel("optimizer step", fontsize=9)
    for ax in (top, bottom):
        ax.tick_params(labelsize=8)
    if title:
        top.set_title(title, fontsize=10)
    fig.tight_layout()
    return save(fig, path)
