"""``implementation="auto"`` decided on the machine it runs on, by measuring.

Which implementation is fastest depends on the processor, its instruction sets, the threads
and the sizes: on a 2-core AVX2 CPU the fused LSTM beat torch's at H = 512, and on the AVX-512
Zen 5 that followed it ran at half of torch's speed. So the first time a layer of a new *case*
runs, each candidate implementation (``native`` and ``fused``, where the cell has both) runs a
few forward passes (and backward, in training) of the layer itself on random data, with the
call's own batch size and up to :data:`MAX_STEPS` steps, under the same autocast and grad mode
as the call; the fastest is kept. A case is what the choice depends on::

    (cell and its options, input size D, hidden size H, layers L, directions K,
     device, dtype, training or inference)

The winner is remembered in this process and in ``autotune.json`` in the platform cache
folder (``~/.cache/recurrente`` on Linux; ``RECURRENTE_CACHE_DIR`` to move it), under a key
naming the machine (:func:`recurrente.machine.fingerprint`: CPU model, ISA flags, threads or
the GPU's name, torch's and recurrente's versions), so later runs on the same machine start
with it and another machine measures afresh. Measuring never changes a result: every
implementation computes the same function (``recurrente check``), and it runs on copies of the
weights and inputs, with the random number generators restored afterwards.

``RECURRENTE_AUTOTUNE=0`` (the test suite sets it) turns measuring off: ``auto`` then takes the
table in :func:`recurrente.layers.registry.resolve`, measured once by ``benchmarks/layers.py``.
Every decision is said once, with its reason (:func:`take_notes`; the trainer logs them).
"""

import json
import os
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, List, Optional

import torch

from recurrente import machine

ENV = "RECURRENTE_AUTOTUNE"
CACHE_ENV = "RECURRENTE_CACHE_DIR"
FORMAT = 1
MAX_STEPS = 16  # steps timed: enough for the per-step GEMMs to dominate, short enough to be quick
MAX_ROUNDS = 5  # timed rounds, every candidate once per round (at least one)
BUDGET_S = 0.6  # no new round past this much timing (warm-up excluded)

_MEMO: Dict[tuple, "Decision"] = {}
_NOTES: List[str] = []
_WARNED: set = set()


@dataclass(frozen=True)
class Case:
    """What the fastest implementation depends on."""
    cell: str
    options: tuple  # the cell's options as sorted (name, value) pairs
    input_size: int
    hidden_size: int
    num_layers: int
    directions: int
    device: str  # "cpu", "cuda"
    dtype: str  # "float32", or the autocast dtype the call ran under
    training: bool

    def key(self) -> str:
        opts = "".join(f" {k}={v}" for k, v in self.options)
        return (f"{self.cell}{opts} D={self.input_size} H={self.hidden_size} "
                f"L={self.num_layers} K={self.directions} {self.device} {self.dtype} "
                f"{'training' if self.training else 'inference'}")

    def describe(self) -> str:
        bi = " bidirectional" if self.directions == 2 else ""
        return (f"{self.num_layers}x{self.hidden_size}{bi} {self.cell} "
                f"({'training' if self.training else 'inference'}, {self.device} {self.dtype})")


@dataclass
class Decision:
    choice: str
    source: str  # "measured", "cache" or "table"
    seconds: Dict[str, float] = field(default_factory=dict)  # median per candidate
    shape: Optional[tuple] = None  # (T, B) timed

    def reason(self) -> str:
        """e.g. ``native 1.85x fused, measured on this machine``."""
        if self.source == "table" or len(self.seconds) < 2:
            return ("the only implementation for this cell" if self.source != "table"
                    else "from the table measured by benchmarks/layers.py (measuring is off)")
        best = self.seconds[self.choice]
        other, slowest = max(self.seconds.items(), key=lambda kv: kv[1])
        where = "measured on this machine" + (" (cached)" if self.source == "cache" else "")
        return f"{self.choice} {slowest / best:.2f}x {other}, {where}"


def enabled() -> bool:
    return os.environ.get(ENV, "1").strip().lower() not in ("0", "false", "no", "off")


def cache_path() -> Path:
    folder = os.environ.get(CACHE_ENV)
    if not folder:
        import platformdirs
        folder = platformdirs.user_cache_dir("recurrente", appauthor=False)
    return Path(folder) / "autotune.json"


def call_dtype(layer, device: torch.device) -> torch.dtype:
    """The dtype a call computes in: autocast's, else the parameters'."""
    if torch.is_autocast_enabled(device.type):
        return torch.get_autocast_dtype(device.type)
    return next(layer.parameters()).dtype


def case_of(layer, device: torch.device, training: bool) -> Case:
    dtype = call_dtype(layer, device)
    return Case(layer.cell, tuple(sorted(layer.cell_options().items())), layer.input_size,
                layer.hidden_size, layer.num_layers, layer.num_directions, device.type,
                str(dtype).replace("torch.", ""), bool(training))


def decide(layer, device, candidates: List[str], table: str, batch: Optional[int] = None,
           steps: Optional[int] = None, training: Optional[bool] = None) -> Decision:
    """The implementation ``auto`` runs for ``layer`` on ``device``.

    ``candidates``: the implementations to choose between; ``table``: the choice when measuring
    is off or impossible. Without ``batch`` (a caller that only wants to *say* what will run),
    a case not decided yet is answered from the table without measuring."""
    device = torch.device(device)
    if training is None:
        training = layer.training
    case = case_of(layer, device, training)
    where = machine.fingerprint(device.type)
    memo_key = (where, case)
    if memo_key in _MEMO:
        return _MEMO[memo_key]
    if len(candidates) < 2 or not enabled():
        return Decision(candidates[0] if len(candidates) == 1 else table,
                        "measured" if len(candidates) == 1 else "table")
    decision = _from_cache(where, case, candidates)
    if decision is None:
        if batch is None:
            return Decision(table, "table")
        decision = measure(layer, device, case, candidates, batch, min(steps or MAX_STEPS,
                                                                        MAX_STEPS))
        _store(where, case, decision)
    _MEMO[memo_key] = decision
    _NOTES.append(f"auto: {decision.choice} for the {case.describe()}: {decision.reason()}")
    return decision


def remeasure(layer, device, batch: int, steps: int = MAX_STEPS,
              training: bool = True) -> Decision:
    """Measure ``layer``'s case now, whatever is cached, and remember the result (what
    ``recurrente check --speed`` does for each row of its table)."""
    device = torch.device(device)
    case = case_of(layer, device, training)
    decision = measure(layer, device, case, layer.auto_candidates(), batch, steps)
    _store(machine.fingerprint(device.type), case, decision)
    _MEMO[(machine.fingerprint(device.type), case)] = decision
    return decision


def take_notes() -> List[str]:
    """The decisions made since the last call, one sentence each (for a log)."""
    notes = list(_NOTES)
    _NOTES.clear()
    return notes


def forget() -> None:
    """Drop this process's decisions (the cache file stays): the next layers decide again."""
    _MEMO.clear()
    _NOTES.clear()


# ------------------------------------------------------------------------------ measuring

def measure(layer, device: torch.device, case: Case, candidates: List[str], batch: int,
            steps: int) -> Decision:
    """Time every candidate on ``layer``'s own weights (copied) and keep the fastest."""
    devices = [device] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        generator = torch.Generator(device=device).manual_seed(0)
        x = torch.randn(steps, batch, layer.input_size, device=device, generator=generator,
                        dtype=next(layer.parameters()).dtype)  # (T, B, D)
        params = {name: p.detach().clone().requires_grad_(case.training)
                  for name, p in layer.named_parameters()}
        runs = {impl: _one_pass(layer, impl, x, params, case.training) for impl in candidates}
        seconds = timed_rounds(runs, device)
    best = min(seconds, key=seconds.get)
    return Decision(best, "measured", seconds, (steps, batch))


def _one_pass(layer, implementation: str, x: torch.Tensor, params: dict,
              training: bool) -> Callable[[], None]:
    def run():
        with torch.set_grad_enabled(training):
            xin = x.detach().requires_grad_(training)
            y, _ = layer.run_implementation(implementation, xin, params)
            if training:
                y.backward(torch.ones_like(y))
        for p in params.values():
            p.grad = None
    return run


def timed_rounds(runs: Dict[str, Callable[[], None]], device: torch.device) -> Dict[str, float]:
    """Median seconds of each ``runs[name]()``: one warm-up each, then interleaved rounds
    (every candidate once per round, so that a noisy neighbour slows all alike) until
    :data:`MAX_ROUNDS` or :data:`BUDGET_S`."""
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    for run in runs.values():
        run()
    times = {name: [] for name in runs}
    spent = 0.0
    for _ in range(MAX_ROUNDS):
        if times[next(iter(runs))] and spent > BUDGET_S:
            break
        for name, run in runs.items():
            sync()
            start = time.perf_counter()
            run()
            sync()
            times[name].append(time.perf_counter() - start)
            spent += times[name][-1]
    return {name: statistics.median(ts) for name, ts in times.items()}


# --------------------------------------------------------------------------------- cache

def _read_cache() -> dict:
    path = cache_path()
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict) or not isinstance(data.get("machines"), dict):
            raise ValueError("not an autotune cache")
        if data.get("format") != FORMAT:
            raise ValueError(f"format {data.get('format')!r}, expected {FORMAT}")
    except (OSError, ValueError, UnicodeDecodeError) as e:
        _warn_once(path, f"recurrente: ignoring the autotune cache {path} ({e}); measuring "
                         f"again")
        return {}
    return data


def _from_cache(where: str, case: Case, candidates: List[str]) -> Optional[Decision]:
    entry = _read_cache().get("machines", {}).get(where, {}).get(case.key())
    if not isinstance(entry, dict):
        return None
    seconds = entry.get("seconds")
    if (entry.get("choice") not in candidates or not isinstance(seconds, dict)
            or not all(isinstance(v, (int, float)) for v in seconds.values())):
        _warn_once(cache_path(), f"recurrente: ignoring a stale entry of the autotune cache "
                                 f"{cache_path()} ({case.key()}); measuring again")
        return None
    return Decision(entry["choice"], "cache", {k: float(v) for k, v in seconds.items()},
                    tuple(entry["shape"]) if entry.get("shape") else None)


def _store(where: str, case: Case, decision: Decision) -> None:
    """Add the decision to the cache file (re-read first, written atomically); a cache that
    cannot be written is said once and otherwise ignored."""
    from recurrente.io import atomic_write_text
    data = _read_cache() or {"format": FORMAT, "machines": {}}
    data["machines"].setdefault(where, {})[case.key()] = {
        "choice": decision.choice, "seconds": decision.seconds,
        "shape": list(decision.shape) if decision.shape else None,
        "measured": time.strftime("%Y-%m-%d %H:%M:%S")}
    path = cache_path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(path, json.dumps(data, indent=1) + "\n")
    except OSError as e:
        _warn_once(path, f"recurrente: cannot write the autotune cache {path} ({e}); this "
                         f"process keeps its measurements in memory")


def cached_decisions(device_type: str = "cpu") -> Dict[str, dict]:
    """Every case measured on this machine, ``{case key: entry}``, from the cache file."""
    return dict(_read_cache().get("machines", {}).get(machine.fingerprint(device_type), {}))


def _warn_once(path: Path, sentence: str) -> None:
    if str(path) + sentence not in _WARNED:
        _WARNED.add(str(path) + sentence)
        print(sentence, file=sys.stderr)
