"""Training throughput of every layer implementation, as ratios measured in one run.

For RNN, LSTM and GRU at each hidden size H, one iteration is forward + backward of a
2-layer stack over ``x (T=128, B=64, D=H)`` in float32 (``x`` requires grad, as an embedding
output would; the loss gradient reaches every step of the output). Measured:

- ``torch.nn``:  ``torch.nn.RNN/LSTM/GRU`` itself, the baseline of every ratio;
- ``native``, ``scratch``, ``fused``: ``recurrente.X(..., implementation=...)``, weights
  loaded from the torch.nn module's ``state_dict``;
- ``auto``: the default, which measures the candidates on this machine the first time a case
  runs (:mod:`recurrente.layers.autotune`; here with a private, empty cache, so it measures
  during its warm-up); ``auto / best`` says how close its pick comes to the faster of
  ``native`` and ``fused`` (the goal: >= 0.95);
- ``course`` (LSTM only): the straightforward LSTM of a course, written below: separate weight
  matrices per gate, eight matmuls per step, autograd does BPTT.

``--precision bf16`` runs every contender under CPU bfloat16 autocast (as ``--precision bf16``
training does), ratios still against torch.nn in the same precision, and adds ``torch.nn fp32``
(torch.nn without autocast) so that each row's ``vs fp32`` says what bf16 gains; it writes
``layers_bf16.json``.

Each contender gets warm-up iterations (whose output is checked against torch.nn's), then
repeats are interleaved (round r times every contender once) so that a noisy, shared machine
slows all contenders alike; the median is reported. ``scratch`` and ``course`` are slow and get
fewer repeats. Prints a table and writes ``benchmarks/results/layers.json``.

Usage::

    python benchmarks/layers.py                     # H = 128, 512; about 6 minutes on 2 cores
    python benchmarks/layers.py --hidden 1024 --repeats 3
    python benchmarks/layers.py --quick             # tiny sizes: a smoke test in seconds
    python benchmarks/layers.py --precision bf16 --only native,fused,auto
"""

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

import torch
from torch import nn

import recurrente
from benchmarks.common import interleaved
from recurrente import machine
from recurrente.layers import autotune, step_gemm

RESULTS = Path(__file__).resolve().parent / "results" / "layers.json"
TORCH_NN = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}
OURS = {"rnn": recurrente.RNN, "lstm": recurrente.LSTM, "gru": recurrente.GRU}
IMPLEMENTATIONS = ("native", "scratch", "fused", "auto")
SLOW = ("scratch", "course")  # fewer repeats


class CourseLSTM(nn.Module):
    """The LSTM as a course first writes it: one weight matrix per gate and per source.

    ``I_t = σ(X_t W_xi + H_{t-1} W_hi + b_i)`` and likewise F, C~, O: eight matmuls per step,
    autograd does BPTT. Layers are stacked; no fusion of any kind.
    """

    GATES = ("i", "f", "c", "o")  # torch.nn's order i|f|g|o

    def __init__(self, input_size: int, hidden_size: int, num_layers: int):
        super().__init__()
        self.hidden_size, self.num_layers = hidden_size, num_layers
        for layer in range(num_layers):
            d = input_size if layer == 0 else hidden_size
            for g in self.GATES:
                self.register_parameter(f"W_x{g}{layer}", nn.Parameter(torch.empty(d, hidden_size)))
                self.register_parameter(f"W_h{g}{layer}",
                                        nn.Parameter(torch.empty(hidden_size, hidden_size)))
                self.register_parameter(f"b_{g}{layer}", nn.Parameter(torch.empty(hidden_size)))

    @torch.no_grad()
    def load_from(self, lstm: nn.LSTM) -> "CourseLSTM":
        """Copy torch.nn.LSTM's weights, split per gate (b = b_ih + b_hh)."""
        H = self.hidden_size
        for layer in range(self.num_layers):
            w_ih, w_hh = getattr(lstm, f"weight_ih_l{layer}"), getattr(lstm, f"weight_hh_l{layer}")
            b = getattr(lstm, f"bias_ih_l{layer}") + getattr(lstm, f"bias_hh_l{layer}")
            for k, g in enumerate(self.GATES):
                rows = slice(k * H, (k + 1) * H)
                getattr(self, f"W_x{g}{layer}").copy_(w_ih[rows].t())  # (D, H)
                getattr(self, f"W_h{g}{layer}").copy_(w_hh[rows].t())  # (H, H)
                getattr(self, f"b_{g}{layer}").copy_(b[rows])  # (H,)
        return self

    def forward(self, x):
        T, B, _ = x.shape
        for layer in range(self.num_layers):
            p = {name: getattr(self, f"{name}{layer}") for name in
                 [f"{kind}{g}" for g in self.GATES for kind in ("W_x", "W_h", "b_")]}
            h = x.new_zeros(B, self.hidden_size)  # (B, H)
            c = x.new_zeros(B, self.hidden_size)  # (B, H)
            hs = []
            for x_t in x.unbind(0):  # (B, D)
                i = torch.sigmoid(x_t @ p["W_xi"] + h @ p["W_hi"] + p["b_i"])  # (B, H)
                f = torch.sigmoid(x_t @ p["W_xf"] + h @ p["W_hf"] + p["b_f"])  # (B, H)
                c_tilde = torch.tanh(x_t @ p["W_xc"] + h @ p["W_hc"] + p["b_c"])  # (B, H)
                o = torch.sigmoid(x_t @ p["W_xo"] + h @ p["W_ho"] + p["b_o"])  # (B, H)
                c = f * c + i * c_tilde  # (B, H)
                h = o * torch.tanh(c)  # (B, H)
                hs.append(h)
            x = torch.stack(hs)  # (T, B, H)
        return x, None


def build(cell: str, H: int, layers: int, only=None):
    """``{name: module}``, every contender holding torch.nn's weights (``only``: a subset)."""
    torch.manual_seed(0)
    reference = TORCH_NN[cell](H, H, layers)
    models = {"torch.nn": reference}
    for impl in IMPLEMENTATIONS:
        model = OURS[cell](H, H, layers, implementation=impl)
        model.load_state_dict(reference.state_dict())
        models[impl] = model
    if cell == "lstm":
        models["course"] = CourseLSTM(H, H, layers).load_from(reference)
    return {name: m for name, m in models.items()
            if only is None or name == "torch.nn" or name in only}


FP32_BASELINE = "torch.nn fp32"  # under --precision bf16: torch.nn without autocast


def iteration(model, x, grad_y, bf16: bool = False) -> float:
    """Seconds for one forward + backward (the forward under bfloat16 autocast if ``bf16``)."""
    for p in model.parameters():
        p.grad = None
    x.grad = None
    start = time.perf_counter()
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
        y, _ = model(x)
    y.backward(grad_y.to(y.dtype))
    return time.perf_counter() - start


def measure(cell: str, H: int, T: int, B: int, layers: int, repeats: int, slow_repeats: int,
            only=None, precision: str = "fp32"):
    """``{name: [seconds, ...]}`` for one cell and size, repeats interleaved."""
    models = build(cell, H, layers, only)
    bf16 = {name: precision == "bf16" for name in models}
    if precision == "bf16":
        models[FP32_BASELINE], bf16[FP32_BASELINE] = models["torch.nn"], False
    x = torch.randn(T, B, H, requires_grad=True)  # (T, B, D=H)
    grad_y = torch.randn(T, B, H)  # (T, B, H)
    with torch.no_grad():
        expected, _ = models["torch.nn"](x)
    tolerance = 1e-4 if precision == "fp32" else 0.1  # bf16: a 2-layer stack, 8-bit mantissas
    for name, model in models.items():  # warm-up, and a parity check on the way
        with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16[name]):
            y, _ = model(x)
        if not torch.allclose(y.float(), expected, atol=tolerance, rtol=tolerance):
            raise AssertionError(f"{cell} {name}: output differs from torch.nn's "
                                 f"by {(y - expected).abs().max().item():.2e}")
        for _ in range(1 if name in SLOW else 2):
            iteration(model, x, grad_y, bf16[name])
    times = {name: [] for name in models}
    for r in range(repeats):
        names = list(models)
        names = names[r % len(names):] + names[:r % len(names)]  # rotate the order too
        for name in names:
            if name in SLOW and r >= slow_repeats:
                continue
            times[name].append(iteration(models[name], x, grad_y, bf16[name]))
    return times


GEMMS = {"aten::mm", "aten::addmm", "aten::addmm_", "mkl::_mkl_linear",
         "mkl::_mkl_reorder_linear_weight", "mkldnn::_linear_pointwise",
         "mkldnn::_reorder_linear_weight"}


def gemm_backend() -> str:
    """What the fused layers' per-step GEMM packs with here (recurrente.layers.step_gemm)."""
    return step_gemm.packing_backend(torch.zeros(1))
GLUE = ("FusedRNN", "FusedLSTM", "FusedGRU", "autograd::engine::evaluate_function")


def profile_fused(cell: str, H: int, T: int, B: int, layers: int) -> dict:
    """Where one fused iteration spends its CPU time (torch.profiler), as fractions."""
    from torch.profiler import ProfilerActivity, profile

    model = build(cell, H, layers, only=["fused"])["fused"]
    x = torch.randn(T, B, H, requires_grad=True)  # (T, B, D=H)
    grad_y = torch.randn(T, B, H)  # (T, B, H)
    iteration(model, x, grad_y)
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        iteration(model, x, grad_y)
    events = prof.key_averages()
    total = sum(e.self_cpu_time_total for e in events)
    share = lambda keep: sum(e.self_cpu_time_total for e in events if keep(e.key)) / total  # noqa
    out = {"gemm": share(lambda k: k in GEMMS),
           "python_glue": share(lambda k: k.startswith(GLUE)),
           "copies": share(lambda k: k in ("aten::copy_", "aten::fill_", "aten::zero_"))}
    out["pointwise_and_views"] = 1.0 - sum(out.values())
    print(f"      profile of fused {cell} H={H}: " + ", ".join(
        f"{name} {100 * value:.0f}%" for name, value in out.items()), flush=True)
    return out


def gemm_backends(H: int, B: int, gates: int = 4, repeats: int = 200) -> dict:
    """Microseconds of one per-step GEMM ``(B, H) @ (H, G*H)`` with each packing backend
    (recurrente.layers.step_gemm), its weight packed once, medians of interleaved rounds."""
    h, w = torch.randn(B, H), torch.randn(gates * H, H)
    runs = {}
    for backend in step_gemm.BACKENDS:
        if backend != "addmm" and not step_gemm._works(backend, torch.float32):
            continue
        step_gemm.REQUESTED = backend
        weight = step_gemm.StepWeight(w, B, step_gemm.PACK_MIN_STEPS)
        runs[backend] = lambda weight=weight: [weight.product(h) for _ in range(10)]
    step_gemm.REQUESTED = ""
    times = interleaved(runs, repeats // 10)
    return {name: seconds / 10 * 1e6 for name, seconds in times.items()}


def summarise(cell, H, T, B, times):
    """Rows for the table and the JSON file."""
    base = statistics.median(times["torch.nn"])
    rows = []
    for name, ts in times.items():
        median = statistics.median(ts)
        rows.append({"cell": cell, "hidden": H, "implementation": name,
                     "tokens_per_s": T * B / median, "ratio_vs_torch_nn": base / median,
                     "median_s": median, "times_s": ts})
    by_name = {row["implementation"]: row for row in rows}
    if FP32_BASELINE in times:
        fp32 = statistics.median(times[FP32_BASELINE])
        for row in rows:
            row["ratio_vs_torch_nn_fp32"] = fp32 / row["median_s"]
    if {"auto", "native", "fused"} <= set(by_name):
        best = min(by_name["native"]["median_s"], by_name["fused"]["median_s"])
        by_name["auto"]["ratio_vs_best"] = best / by_name["auto"]["median_s"]
    if "fused" in by_name and "scratch" in by_name:
        by_name["fused"]["ratio_vs_scratch"] = (by_name["scratch"]["median_s"]
                                                / by_name["fused"]["median_s"])
    return rows


def print_rows(rows) -> None:
    for row in rows:
        extra = (f"   ({row['ratio_vs_scratch']:.1f}x scratch)"
                 if "ratio_vs_scratch" in row else "")
        if "ratio_vs_best" in row:
            extra = f"   ({row['ratio_vs_best']:.2f}x the faster of native and fused)"
        if "ratio_vs_torch_nn_fp32" in row:
            extra = f"   {row['ratio_vs_torch_nn_fp32']:.2f}x torch.nn fp32" + extra
        print(f"{row['cell']:<5} {row['hidden']:>5}  {row['implementation']:<9} "
              f"{row['tokens_per_s']:>10.0f}  {row['ratio_vs_torch_nn']:>6.2f}x"
              f"  n={len(row['times_s'])}{extra}", flush=True)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--hidden", default="128,512", help="comma-separated H (default 128,512)")
    parser.add_argument("--cells", default="rnn,lstm,gru")
    parser.add_argument("--repeats", type=int, default=7, help="timed rounds (default 7)")
    parser.add_argument("--slow-repeats", type=int, default=3,
                        help="rounds for scratch and course (default 3)")
    parser.add_argument("--steps", type=int, default=128, help="T (default 128)")
    parser.add_argument("--batch", type=int, default=64, help="B (default 64)")
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--only", default=None,
                        help="comma-separated contenders besides torch.nn (default: all)")
    parser.add_argument("--threads", type=int, default=None, help="torch.set_num_threads")
    parser.add_argument("--quick", action="store_true", help="tiny sizes, a smoke test")
    parser.add_argument("--profile", action="store_true",
                        help="also profile one fused iteration per cell and size: the share "
                             "of GEMMs, pointwise ops, copies and Python glue")
    parser.add_argument("--gemm", action="store_true",
                        help="also time the per-step GEMM alone in each packing backend")
    parser.add_argument("--precision", choices=("fp32", "bf16"), default="fp32",
                        help="bf16: every contender under CPU bfloat16 autocast")
    parser.add_argument("--out", type=Path, default=None,
                        help="results file (default results/layers.json, layers_bf16.json)")
    args = parser.parse_args(argv)
    if args.out is None:
        args.out = RESULTS if args.precision == "fp32" else RESULTS.with_name("layers_bf16.json")
    if args.threads:
        torch.set_num_threads(args.threads)
    os.environ[autotune.ENV] = "1"  # auto measures, as it does for a user ...
    os.environ[autotune.CACHE_ENV] = tempfile.mkdtemp(prefix="bench-autotune-")  # ... afresh
    print(f"machine: {machine.describe_line()}; per-step GEMM: {gemm_backend()}")
    hidden = [int(h) for h in args.hidden.split(",")]
    T, B = args.steps, args.batch
    if args.quick:
        hidden, T, B, args.repeats, args.slow_repeats = [16], 8, 4, 2, 1
    print(f"forward+backward, T={T} B={B} layers={args.layers} {args.precision}, "
          f"threads={torch.get_num_threads()}, torch {torch.__version__}")
    print(f"{'cell':<5} {'H':>5}  {'impl':<9} {'tokens/s':>10}  {'vs nn':>7}")
    rows, gemms = [], {}
    for H in hidden:
        if args.gemm:
            gemms[H] = gemm_backends(H, B)
            base = gemms[H]["addmm"]
            print(f"per-step GEMM ({B}, {H}) @ ({H}, {4 * H}): " + ", ".join(
                f"{name} {us:.0f} us ({base / us:.2f}x addmm)" for name, us in gemms[H].items()),
                flush=True)
        for cell in args.cells.split(","):
            times = measure(cell, H, T, B, args.layers, args.repeats,
                            min(args.slow_repeats, args.repeats),
                            args.only.split(",") if args.only else None, args.precision)
            new = summarise(cell, H, T, B, times)
            print_rows(new)
            if args.profile:
                by_name = {row["implementation"]: row for row in new}
                if "fused" in by_name:
                    by_name["fused"]["profile"] = profile_fused(cell, H, T, B, args.layers)
            rows.extend(new)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    info = machine.describe()
    meta = {"T": T, "B": B, "layers": args.layers,
            "dtype": "float32" if args.precision == "fp32" else "bfloat16 autocast",
            "date": time.strftime("%Y-%m-%d %H:%M:%S"), "gemm_backend": gemm_backend()}
    args.out.write_text(json.dumps({"machine": info, "meta": meta, "rows": rows,
                                    "per_step_gemm_us": gemms}, indent=1))
    print(f"measured on {machine.describe_line(info)}; wrote {args.out}")


if __name__ == "__main__":
    main()
