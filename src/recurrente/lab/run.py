"""``run_lab``: every (cell, T) trained under the same time budget, learning curves, a verdict.

The comparison is at equal compute: each run gets ``time_budget`` seconds of training (held-out
evaluations are not counted), AdamW, gradient clipping at global norm 1 and a cosine schedule
over the budget. Data are fresh at every step and the held-out set is shared by all cells at a
given T, so the curves of one panel differ only by the recurrent cell. Runs use the CPU: the
models are small and the time budgets are meant to be compared on one machine.
"""

import json
import sys
import time
from pathlib import Path
from typing import Callable, Iterable, List, Optional

import torch
from tqdm import tqdm

from recurrente.diagnostics.plotting import pyplot, save
from recurrente.errors import UserError
from recurrente.io import atomic_write_text
from recurrente.lab.model import build_model, check_cell, make_batches, make_evaluator
from recurrente.lab.tasks import LabTask, make_task
from recurrente.layers.registry import DEFAULT
from recurrente.train.config import TrainConfig
from recurrente.train.trainer import Trainer

CURVES_PNG, RESULTS_JSON = "learning_curves.png", "results.json"
FLOW_PNG, FLOW_JSON = "gradient_flow.png", "gradient_flow.json"
FLOW_DISTANCES = (10, 40)  # the table reports the gradient surviving these distances (and T-1)


class TimedEvaluation:
    """Evaluate at the start and ``evals`` times more, evenly over the training seconds (or over
    the steps when there is no time budget); keep the learning curve."""

    def __init__(self, metric: str, evals: int, time_budget=None, max_steps=None):
        self.metric, self.by_time = metric, bool(time_budget)
        self.interval = (time_budget if self.by_time else max_steps) / max(1, evals)
        self.next = self.interval
        self.curve: List[dict] = []

    def on_start(self, trainer):
        trainer.run_evaluation()  # the untrained point of the learning curve

    def on_step(self, trainer, record):
        done = trainer.progress.elapsed if self.by_time else trainer.progress.step
        if done >= self.next - 1e-9:
            self.next += self.interval
            trainer.run_evaluation()

    def on_eval(self, trainer, record):
        self.curve.append({"step": record["step"], "seconds": round(trainer.progress.elapsed, 3),
                           self.metric: record[f"valid_{self.metric}"]})


class BudgetBar:
    """A tqdm bar on stderr that fills with training seconds and shows the latest metric."""

    def __init__(self, label: str, budget: float, metric: str, enabled: bool,
                 by_steps: bool = False):
        self.label, self.budget, self.metric, self.enabled = label, budget, metric, enabled
        self.by_steps = by_steps

    def on_start(self, trainer):
        self.bar = tqdm(total=round(self.budget), desc=self.label, file=sys.stderr,
                        unit="step" if self.by_steps else "s", disable=not self.enabled,
                        leave=False, dynamic_ncols=True)

    def on_step(self, trainer, record):
        p = trainer.progress
        done = min(round(self.budget), int(p.step if self.by_steps else p.elapsed))
        if done > self.bar.n:
            self.bar.update(done - self.bar.n)
            self.bar.set_postfix(step=record["step"], loss=f"{record['loss']:.4f}", refresh=False)

    def on_eval(self, trainer, record):
        value = record[f"valid_{self.metric}"]
        self.bar.set_postfix(step=record["step"], **{self.metric: f"{value:.4f}"})

    def on_end(self, trainer):
        self.bar.close()


def train_one(task: LabTask, cell: str, time_budget: Optional[float], seed: int = 0,
              hidden: Optional[int] = None, implementation: str = DEFAULT,
              lr: Optional[float] = None, batch_size: Optional[int] = None, evals: int = 30,
              progress: bool = False,
              max_steps: Optional[int] = None, model=None,
              layers: Optional[int] = None) -> dict:
    """Train one cell on one task for ``time_budget`` seconds (or ``max_steps``, whichever comes
    first; ``time_budget=None`` for a step budget only, which makes a run exactly repeatable);
    return its result record. ``model``: train this one instead of a fresh one. ``layers``:
    stacked layers (default the task's, 1 for most)."""
    hidden = hidden or int(task.defaults["hidden"])
    layers = layers or int(task.defaults.get("layers", 1))
    lr = lr or float(task.defaults["lr"])
    batch_size = batch_size or int(task.defaults["batch_size"])
    if model is None:
        model = fresh_model(task, cell, hidden, implementation, seed, layers)
    config = TrainConfig(optimizer="adamw", lr=lr, clip=1.0, schedule="cosine",
                         time_budget=time_budget, max_steps=max_steps, eval_every=10 ** 9,
                         seed=seed, device="cpu")
    timed = TimedEvaluation(task.metric, evals, time_budget, max_steps)
    bar = BudgetBar(f"{task.name} {cell} T={task.T}", time_budget or max_steps, task.metric,
                    progress, by_steps=not time_budget)
    started = time.perf_counter()
    trainer = Trainer(model, make_batches(task, batch_size, seed), config,
                      evaluate=make_evaluator(task), callbacks=[bar, timed])
    p = trainer.fit()
    value = timed.curve[-1][task.metric]
    return {"task": task.name, "cell": cell, "T": task.T, "metric": task.metric,
            task.metric: value, "baseline": task.baseline, "baseline_theory": task.baseline_theory,
            "threshold": task.threshold, "rule": task.rule, "solved": task.solved(value),
            "steps": p.step, "train_seconds": round(p.elapsed, 2),
            "wall_seconds": round(time.perf_counter() - started, 2), "hidden": hidden,
            "layers": layers,
            "implementation": model.rnn.implementation, "lr": lr, "batch_size": batch_size,
            "seed": seed, "curve": timed.curve}


def fresh_model(task: LabTask, cell: str, hidden: int, implementation: str, seed: int,
                layers: int = 1):
    """The lab's model with the initial weights that ``seed`` gives (the same for every T)."""
    torch.manual_seed(seed)
    return build_model(task, cell, hidden, implementation, layers)


def run_lab(task: str, T_values: Iterable[int], cells: Iterable[str],
            time_budget: Optional[float], seed: int = 0, out_dir=None,
            hidden: Optional[int] = None, implementation: str = DEFAULT, permute: bool = False,
            lr: Optional[float] = None, batch_size: Optional[int] = None, evals: int = 30,
            progress: bool = False, max_steps: Optional[int] = None,
            on_result: Optional[Callable[[dict], None]] = None,
            layers: Optional[int] = None) -> List[dict]:
    """Train every cell at every T for ``time_budget`` seconds each; write results and a plot.

    Args:
        task: ``"adding"``, ``"copy"``, ``"selective-copy"``, ``"parity"`` or ``"digits"`` (see
            :mod:`recurrente.lab.tasks`).
        T_values: sequence lengths (digits: only 64).  cells: any cell the layers know.
        time_budget: training seconds per (cell, T).  seed: data, held-out set and weights.
        out_dir: if given, ``results.json`` and ``learning_curves.png`` are written there.
        hidden, lr, batch_size, layers: override the task's defaults (``tasks.DEFAULTS``).
        evals: held-out evaluations per run (points of the learning curve).
        max_steps: an optional step limit as well (alone, with ``time_budget=None``, it makes
            the runs exactly repeatable, whatever else the machine is doing).
        on_result: called with each result as soon as its run ends.

    Returns one dict per (cell, T): ``task, cell, T``, the metric under its name, ``baseline``
    (measured), ``baseline_theory``, ``threshold``, ``solved``, steps, seconds, ``curve``.
    """
    T_values, cells = [int(t) for t in T_values], [check_cell(c) for c in cells]
    if not T_values or not cells:
        raise UserError("expected at least one T and one cell")
    if time_budget is not None and time_budget <= 0:
        raise UserError(f"expected a time budget > 0 seconds, got {time_budget}")
    if max_steps is not None and max_steps < 1:
        raise UserError(f"expected max steps >= 1, got {max_steps}")
    if not (time_budget or max_steps):
        raise UserError("expected a time budget or a step budget")
    tasks = [make_task(task, T, seed, permute) for T in T_values]  # validate all before training
    results = []
    for lab_task in tasks:
        for cell in cells:
            result = train_one(lab_task, cell, time_budget, seed, hidden, implementation, lr,
                               batch_size, evals, progress, max_steps, layers=layers)
            results.append(result)
            if on_result is not None:
                on_result(result)
    if out_dir is not None:
        write_outputs(results, Path(out_dir))
    return results


def run_gradient_flow(T: int = 100, cells: Iterable[str] = ("rnn", "lstm", "gru"),
                      time_budget: Optional[float] = 20.0, seed: int = 0, out_dir=None,
                      hidden: Optional[int] = None, implementation: str = DEFAULT,
                      batch: int = 128, max_steps: Optional[int] = None,
                      progress: bool = False) -> List[dict]:
    """``‖∂L/∂H_t‖`` and ``ρ(W_hh)`` of each cell on the adding problem, at initialisation and
    after ``time_budget`` seconds of training (the lab's settings: see :func:`train_one`).

    The loss is the model's own, on the last step only (the adding problem reads ``H_T``),
    summed over ``batch`` held-out sequences. Returns one record per cell with the two norm
    curves (index = distance to the loss), ``survival`` ratios ``norms[k] / norms[0]`` for
    ``k`` in 10, 40 and T-1, spectral radii, and the MSE reached; writes ``gradient_flow.json``
    and ``gradient_flow.png`` into ``out_dir`` if given.
    """
    from recurrente.lab.gradient_flow import decay_ratio, gradient_norms, layer_spectral_radii
    cells = [check_cell(c) for c in cells]
    task = make_task("adding", T, seed)
    hidden = hidden or int(task.defaults["hidden"])
    x = torch.from_numpy(task.heldout[0][:, :batch])  # (T, b, 2)
    y = torch.from_numpy(task.heldout[1][:batch])  # (b,)
    distances = sorted({*(k for k in FLOW_DISTANCES if k < T), T - 1})
    records = []
    for cell in cells:
        model = fresh_model(task, cell, hidden, implementation, seed)
        record = {"task": "adding", "cell": cell, "T": T, "hidden": hidden}
        for when in ("init", "trained"):
            if when == "trained":
                trained = train_one(task, cell, time_budget, seed, hidden, implementation,
                                    progress=progress, max_steps=max_steps, model=model)
                record.update(mse=trained["mse"], baseline=trained["baseline"],
                              solved=trained["solved"], steps=trained["steps"])
            norms = gradient_norms(model, x, y)
            record[f"norms_{when}"] = norms.tolist()
            record[f"survival_{when}"] = {str(k): decay_ratio(norms, k) for k in distances}
            record[f"spectral_radius_{when}"] = layer_spectral_radii(model)
        records.append(record)
    if out_dir is not None:
        out = Path(out_dir)
        atomic_write_text(out / FLOW_JSON, json.dumps(records, indent=1) + "\n")
        from recurrente.lab.gradient_flow import plot_gradient_norms
        plot_gradient_norms({f"at initialisation (adding, T = {T})":
                             {r["cell"]: r["norms_init"] for r in records},
                             f"after {_budget_words(time_budget, max_steps)} of training":
                             {r["cell"]: r["norms_trained"] for r in records}}, out / FLOW_PNG)
    return records


def _budget_words(time_budget, max_steps) -> str:
    return f"{time_budget:g} s" if time_budget else f"{max_steps} steps"


def write_outputs(results: List[dict], out_dir: Path) -> None:
    atomic_write_text(out_dir / RESULTS_JSON, json.dumps(results, indent=1) + "\n")
    plot_learning_curves(results, out_dir / CURVES_PNG)


def plot_learning_curves(results: List[dict], path, dpi: int = 90) -> None:
    """One panel per T, one line per cell (held-out metric against training seconds), the
    memoryless baseline dashed and the ``solved`` threshold dotted."""
    plt = pyplot()
    T_values = sorted({r["T"] for r in results})
    fig, axes = plt.subplots(1, len(T_values), figsize=(3.6 * len(T_values), 3.2),
                             squeeze=False, sharey=True)
    for ax, T in zip(axes[0], T_values):
        rows = [r for r in results if r["T"] == T]
        for r in rows:
            metric = r["metric"]
            ax.plot([p["seconds"] for p in r["curve"]], [p[metric] for p in r["curve"]],
                    label=r["cell"], lw=1.5)
        ax.axhline(rows[0]["baseline"], ls="--", c="k", lw=1, label="baseline")
        ax.axhline(rows[0]["threshold"], ls=":", c="grey", lw=1, label="solved")
        if metric != "accuracy":
            ax.set_yscale("log")
        ax.set_title(f"{rows[0]['task']}, T = {T}", fontsize=10)
        ax.set_xlabel("training seconds")
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel(f"held-out {metric}")
    axes[0][-1].legend(fontsize=8)
    fig.tight_layout()
    save(fig, path, dpi=dpi)
