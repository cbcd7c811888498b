"""Callbacks: what the training loop reports to, without knowing about any of it."""

import json
import math
import sys
import time
from pathlib import Path

from tqdm import tqdm

from recurrente.io import atomic_write_text
from recurrente.train import checkpoint


class ProgressBar:
    """tqdm bar with tokens/s, loss and perplexity (on stderr; quiet when not wanted)."""

    def __init__(self, enabled: bool = True):
        self.enabled, self.bar = enabled, None

    def on_start(self, trainer):
        c = trainer.config
        total = c.max_steps or (c.epochs * len(trainer.batches) if c.epochs else None)
        self.bar = tqdm(total=total, initial=trainer.progress.step, unit="step",
                        disable=not self.enabled, file=sys.stderr, dynamic_ncols=True,
                        desc=f"train [{getattr(trainer.task, 'describe', lambda: '')()}]")
        self._t0, self._tokens = time.perf_counter(), 0

    def on_step(self, trainer, record):
        self._tokens += record["tokens"]
        self.bar.update(1)
        if record["step"] % 10 == 0:
            rate = self._tokens / max(1e-9, time.perf_counter() - self._t0)
            self.bar.set_postfix(loss=f"{record['loss']:.3f}",
                                 ppl=f"{math.exp(min(record['loss'], 50)):.2f}",
                                 tok_s=f"{rate:,.0f}", refresh=False)

    def on_eval(self, trainer, record):
        self.bar.write(f"step {record['step']}: valid loss {record['valid_loss']:.4f}, "
                       f"perplexity {math.exp(min(record['valid_loss'], 50)):.3f}"
                       + (" (best)" if record["improved"] else ""), file=sys.stderr)

    def on_end(self, trainer):
        self.bar.close()


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
                "tokens_per_s": sum(r["tokens"] for r in w) / max(1e-9, now - self._t),
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
    evaluation, every ``every`` steps, and at the end (also after Ctrl-C)."""

    def __init__(self, directory: Path, every: int = 0):
        self.directory, self.every = Path(directory), every

    def save_last(self, trainer):
        checkpoint.save_last(self.directory, trainer.task, trainer.state_dict())

    def on_step(self, trainer, record):
        if self.every and record["step"] % self.every == 0 and trainer.evaluate is None:
            self.save_last(trainer)

    def on_eval(self, trainer, record):
        if record["improved"]:
            checkpoint.save_weights(trainer.task, self.directory / checkpoint.WEIGHTS)
        self.save_last(trainer)

    def on_end(self, trainer):
        if trainer.evaluate is None or not (self.directory / checkpoint.WEIGHTS).exists():
            checkpoint.save_weights(trainer.task, self.directory / checkpoint.WEIGHTS)
        self.save_last(trainer)
