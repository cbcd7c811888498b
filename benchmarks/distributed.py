"""Data-parallel training and mixed precision: training tokens/s, end to end through the CLI.

Each configuration is ``recurrente train`` on the embedded default corpus with the default model
(2x128 LSTM, windows of 64, a global batch of 32) for ``--steps`` steps; tokens/s is the summary's
``items_per_s`` (every process's tokens over the training time, start-up and evaluation
excluded). The configurations alternate, ``--repeats`` times, and the median is reported:

- CPU: 1 process (all cores for its threads, then one thread) against ``--nproc 2`` (half the
  cores each, the same global batch), then ``--precision bf16`` against fp32 in one process of
  one thread, for the default implementation, ``fused`` (whose products run in bfloat16 on a
  CPU with bfloat16 instructions) and ``scratch`` (whose matrix products autocast turns into
  bfloat16);
- CUDA (only where torch sees a GPU): fp32, bf16 and fp16 on one GPU, and one process per GPU
  when there are several.

    python -m benchmarks.distributed [--steps 150] [--repeats 3] [--sections processes,precision]

Writes ``benchmarks/results/distributed.json`` (``distributed-<sections>.json`` for other
``--sections``).
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import torch

from benchmarks.common import write_json

DEFAULT_SECTIONS = "processes,precision"


def train(flags: list, steps: int, threads: int, folder: Path) -> dict:
    """One training run in a fresh process; its JSON summary."""
    out = Path(tempfile.mkdtemp(dir=folder))
    argv = [sys.executable, "-m", "recurrente", "train", "--out", str(out / "run"), "--json",
            "--max-steps", str(steps), "--eval-every", "1000000", "--seed", "0", *flags]
    env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=3600)
    if done.returncode:
        raise RuntimeError(f"{' '.join(argv)} failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def compare(configs: dict, steps: int, repeats: int, folder: Path) -> dict:
    """``{name: (flags, threads)}`` -> ``{name: {"tokens_per_s": median, "runs": [...]}}``."""
    runs = {name: [] for name in configs}
    for _ in range(repeats):
        for name, (flags, threads) in configs.items():
            summary = train(flags, steps, threads, folder)
            runs[name].append(summary["items_per_s"])
            print(f"  {name}: {summary['items_per_s']:,.0f} tokens/s "
                  f"[{summary['implementation']}]", flush=True)
    return {name: {"tokens_per_s": statistics.median(r), "runs": r} for name, r in runs.items()}


def load() -> str:
    """The load average (1, 5, 15 minutes), as ``uptime`` shows it."""
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def table(results: dict, baseline: str) -> None:
    base = results[baseline]["tokens_per_s"]
    for name, r in results.items():
        print(f"| {name} | {r['tokens_per_s']:,.0f} | {r['tokens_per_s'] / base:.2f}x |")


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=150)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--sections", default=DEFAULT_SECTIONS,
                        help="CPU sections to run: processes, precision (default both)")
    args = parser.parse_args()
    cores = os.cpu_count() or 1
    report = {"steps": args.steps, "repeats": args.repeats, "cores": cores,
              "load_before": load()}
    folder = Path(tempfile.mkdtemp(prefix="bench-dist-"))
    cpu = ["--device", "cpu"]
    sections = args.sections.split(",") if args.sections else []
    if sections:
        print(f"CPU, {cores} cores, load average {report['load_before']}")
    if "processes" in sections:
        report["processes"] = compare({
            f"1 process, {cores} threads": (cpu, cores),
            "1 process, 1 thread": (cpu, 1),
            f"2 processes (--nproc 2), {max(1, cores // 2)} thread each":
                (cpu + ["--nproc", "2"], max(1, cores // 2)),
        }, args.steps, args.repeats, folder)
        table(report["processes"], f"1 process, {cores} threads")
    if "precision" in sections:
        report["precision_cpu"] = compare({  # one thread: steadier on a shared machine
            "fp32": (cpu, 1), "bf16": (cpu + ["--precision", "bf16"], 1),
            "fp32 fused": (cpu + ["--implementation", "fused"], 1),
            "bf16 fused": (cpu + ["--implementation", "fused", "--precision", "bf16"], 1),
            "fp32 scratch": (cpu + ["--implementation", "scratch"], 1),
            "bf16 scratch": (cpu + ["--implementation", "scratch", "--precision", "bf16"], 1),
        }, args.steps, args.repeats, folder)
        table(report["precision_cpu"], "fp32")
    if torch.cuda.is_available():
        gpu = ["--device", "cuda"]
        print(f"CUDA: {torch.cuda.get_device_name()} x {torch.cuda.device_count()}")
        configs = {f"cuda {p}": (gpu + ["--precision", p], cores)
                   for p in ("fp32", "bf16", "fp16")}
        if torch.cuda.device_count() > 1:
            n = torch.cuda.device_count()
            configs[f"cuda fp32, {n} processes"] = (gpu + ["--nproc", str(n)], cores)
        report["cuda"] = compare(configs, args.steps, args.repeats, folder)
        table(report["cuda"], "cuda fp32")
    report["load_after"] = load()
    print(f"load average after: {report['load_after']}")
    name = "distributed" + ("" if args.sections == DEFAULT_SECTIONS else "-" + "-".join(sections))
    print(f"wrote {write_json(name, report)}")


if __name__ == "__main__":
    main()
