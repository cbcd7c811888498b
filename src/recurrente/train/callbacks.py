"""Callbacks: what the training loop reports to, without knowing about any of it."""

import json
import math
import sys
import time
from pathlib import Path

from tqdm import tqdm

from recurrente.io import atomic_write_text
from recurrente.layers import autotune
from recurrente.train import checkpoint


class ProgressBar:
    """Progress on stderr: a tqdm bar in a terminal, and a plain line every ``every`` seconds
    elsewhere (CI, pipes, ``nohup``), rather than a bar redrawn thousands of times. Shows the
    loss, ``exp(loss)`` for tasks that report perplexity, the rate in the task's unit
    (tokens or sequences per second), and every metric of each evaluation."""

    def __init__(self, enabled: bool = True, every: float = 10.0, stream=None):
        self.enabled, self.every, self.stream, self.bar = enabled, every, stream, None

    def on_start(self, trainer):
        c, stream = trainer.config, self.stream or sys.stderr
        total = c.max_steps or (c.epochs * len(trainer.batches) if c.epochs else None)
        self.unit = getattr(trainer.task, "count_unit", "tok")
        self.perplexity = getattr(trainer.task, "reports_perplexity", False)
        self.plain = self.enabled and not _is_terminal(stream)
        self.bar = tqdm(total=total, initial=trainer.progress.step, unit="step",
                        disable=not self.enabled or self.plain, file=stream, dynamic_ncols=True,
                        desc=f"train [{getattr(trainer.task, 'describe', lambda: '')()}]")
        self._t0 = self._last = time.perf_counter()
        self._count = 0

    def _fields(self, record) -> dict:
        rate = self._count / max(1e-9, time.perf_counter() - self._t0)
        fields = {"loss": f"{record['loss']:.3f}"}
        if self.perplexity:
            fields["ppl"] = f"{math.exp(min(record['loss'], 50)):.2f}"
        fields[f"{self.unit}_s"] = f"{rate:,.0f}"
        return fields

    def on_step(self, trainer, record):
        self._count += record["tokens"]
        self.bar.update(1)
        self._say_kernel_choices()
        now = time.perf_counter()
        if self.plain and now - self._last >= self.every:
            self._last = now
            fields = " ".join(f"{k} {v}" for k, v in self._fields(record).items())
            self._write(f"step {record['step']} ({trainer.progress.elapsed:.0f} s): {fields}")
        elif not self.plain and record["step"] % 10 == 0:
            self.bar.set_postfix(**self._fields(record), refresh=False)

    def _say_kernel_choices(self) -> None:
        """What ``implementation="auto"`` measured and chose since the last step, once per
        case (the first training step and the first evaluation make the choices)."""
        for note in autotune.take_notes():
            self._write(note)

    def on_eval(self, trainer, record):
        self._say_kernel_choices()
        shown = [f"{k[len('valid_'):]} {_number(v)}" for k, v in record.items()
                 if k.startswith("valid_") and isinstance(v, (int, float))]
        self._write(f"step {record['step']}: valid " + ", ".join(shown)
                    + (" (best)" if record["improved"] else ""))

    def _write(self, line: str) -> None:
        if self.enabled:
            self.bar.write(line, file=self.stream or sys.stderr)

    def on_end(self, trainer):
        self.bar.close()


def _is_terminal(stream) -> bool:
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def _number(value) -> str:
    return f"{value:,}" if isinstance(value, int) else f"{value:.4f}"


class MetricsLog:
    """Append to ``metrics.jsonl``: every ``log_every`` steps a summary, and every evaluation.

    Step lines carry the mean loss, the mean and max gradient norm *before* clipping, and the
    fraction of clipped steps since the previous line.
    """

    def __init__(self, path: Path, log_every: int = 10):
        self.path, self.log_every, self.window = Path(path), log_every, []

    def on_start(self, trainer):
        step = trainer.progress.step
        if self.path.exists():  # a resumed run: forget lines from after the checkpoint
            kept = [line for line in self.path.read_text().splitlines()
                    if _step_of(line) is not None and _step_of(line) <= step]
            atomic_write_text(self.path, "".join(line + "\n" for line in kept))
        self._t = time.perf_counter()

    def on_step(self, trainer, record):
        self.window.append(record)
        if record["step"] % self.log_every == 0:
            self._flush(trainer)

    def _flush(self, trainer):
        if not self.window:
            return
        w, now = self.window, time.perf_counter()
        norms = [r["grad_norm"] for r in w]
        line = {"step": w[-1]["step"], "epoch": trainer.progress.epoch,
                "loss": sum(r["loss"] for r in w) / len(w), "lr": w[-1]["lr"],
                "grad_norm": sum(norms) / len(norms), "grad_norm_max": max(norms),
                "grad_norms": norms, "clipped_fraction": sum(r["clipped"] for r in w) / len(w),
                "items_per_s": sum(r["tokens"] for r in w) / max(1e-9, now - self._t),
                "elapsed": trainer.progress.elapsed}
        self._write(line)
        self.window, self._t = [], now

    def on_eval(self, trainer, record):
        self._write({**record, "kind": "eval", "elapsed": trainer.progress.elapsed})
        self._t = time.perf_counter()  # evaluation time is not training throughput

    def on_end(self, trainer):
        self._flush(trainer)

    def _write(self, line: dict):
        with self.path.open("a") as f:
            f.write(json.dumps(line) + "\n")


def _step_of(line: str):
    """The step of a metrics line, or None for a line torn by a crash mid-write."""
    try:
        return json.loads(line).get("step", 0)
    except (json.JSONDecodeError, AttributeError):
        return None


class Checkpointer:
    """Best weights to ``model.safetensors`` on improvement; the resume point ``last/`` at every
    evaluation, every ``every`` steps, and at the end (also after Ctrl-C). The best weights are
    the averaged ones once averaging is on; the resume point holds the raw weights, and the
    average in the trainer state."""

    def __init__(self, directory: Path, every: int = 0):
        self.directory, self.every = Path(directory), every

    def save_last(self, trainer):
        checkpoint.save_last(self.directory, trainer.task, trainer.state_dict())

    def on_step(self, trainer, record):
        if self.every and record["step"] % self.every == 0 and trainer.evaluate is None:
            self.save_last(trainer)

    def on_eval(self, trainer, record):
        if record["improved"]:
            self._save_best(trainer)
        self.save_last(trainer)

    def _save_best(self, trainer):
        with trainer.averaged():
            checkpoint.save_weights(trainer.task, self.directory / checkpoint.WEIGHTS)

    def on_end(self, trainer):
        if trainer.evaluate is None or not (self.directory / checkpoint.WEIGHTS).exists():
            self._save_best(trainer)
        self.save_last(trainer)
