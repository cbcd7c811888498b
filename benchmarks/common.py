"""Shared helpers for the benchmarks: interleaved timing and result files.

Every benchmark reports ratios against a baseline measured in the same run, alternating the
contenders so that a noisy neighbour slows both alike.
"""

import json
import statistics
import time
from pathlib import Path

from recurrente import machine as recurrente_machine

RESULTS = Path(__file__).parent / "results"
# A language model's training before the recipes of issue 11 (AdamW at 3e-3, cosine, clipping at
# 1): benchmarks whose README figures were measured with it keep it, so they still reproduce.
EARLIER_LM_TRAINING = dict(lr=3e-3, schedule="cosine", clip=1.0)


def interleaved(contenders: dict, repeats: int) -> dict:
    """``{name: fn}`` where ``fn()`` does one timed unit of work; returns median seconds each."""
    times = {name: [] for name in contenders}
    for _ in range(repeats):
        for name, fn in contenders.items():
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(ts) for name, ts in times.items()}


def machine() -> dict:
    """Where a figure was measured: CPU model and ISA flags, cores, torch, threads, GPU."""
    return recurrente_machine.describe()


def write_json(name: str, data: dict) -> Path:
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{name}.json"
    info = machine()
    path.write_text(json.dumps({"machine": info, **data}, indent=2) + "\n")
    print(f"measured on {recurrente_machine.describe_line(info)}; wrote {path}")
    return path
