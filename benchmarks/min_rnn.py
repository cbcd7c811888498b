"""minGRU/minLSTM training throughput: the parallel scan against the sequential forms and torch.nn.

One iteration is forward + backward of a one-layer stack over ``x (T, B=16, D=H=256)`` in float32
(``x`` requires grad; the loss gradient reaches every step). For T = 64, 256 and 1024, in one
run, repeats interleaved, medians reported as tokens/s and as a ratio against torch.nn's LSTM:

- ``torch.nn.LSTM``, ``torch.nn.GRU``: torch's own kernels, the baselines;
- ``mingru``/``minlstm`` in each implementation: ``parallel`` (one GEMM for all steps, a chunked
  scan with a hand-written backward), ``logspace`` (the paper's log-space scan, autograd) and
  ``scratch`` (the step function T times, autograd BPTT).

The paper (Feng et al. 2024) measured its speed-ups against a Python loop of a GRU, not against
a fused kernel; this benchmark puts both beside torch's.

    python -m benchmarks.min_rnn [--steps 64,256,1024] [--hidden 256] [--batch 16] [--repeats 5]
    python -m benchmarks.min_rnn --plot docs/figures/min-rnn/throughput.png

Writes ``benchmarks/results/min_rnn.json`` (and, with ``--plot``, the figure of
docs/parallel-scan.md: tokens/s against T, log-log).
"""

import argparse
import statistics
import time

import torch

from benchmarks.common import write_json
from recurrente.layers.factory import make_layer

IMPLEMENTATIONS = ("parallel", "logspace", "scratch")


def contenders(H: int) -> dict:
    torch.manual_seed(0)
    models = {"torch.nn.LSTM": torch.nn.LSTM(H, H), "torch.nn.GRU": torch.nn.GRU(H, H)}
    for cell in ("mingru", "minlstm"):
        for impl in IMPLEMENTATIONS:
            models[f"{cell} {impl}"] = make_layer(cell, H, H, 1, implementation=impl)
    return models


def iteration(model, x, grad_y) -> float:
    for p in model.parameters():
        p.grad = None
    x.grad = None
    start = time.perf_counter()
    y, _ = model(x)
    y.backward(grad_y)
    return time.perf_counter() - start


def measure(T: int, B: int, H: int, repeats: int) -> dict:
    models = contenders(H)
    x = torch.randn(T, B, H, requires_grad=True)  # (T, B, D=H)
    grad_y = torch.randn(T, B, H)  # (T, B, H)
    times = {name: [] for name in models}
    for name, model in models.items():  # warm-up
        iteration(model, x, grad_y)
    for r in range(repeats):
        names = list(models)
        for name in names[r % len(names):] + names[:r % len(names)]:
            times[name].append(iteration(models[name], x, grad_y))
    base = statistics.median(times["torch.nn.LSTM"])
    return {name: {"tokens_per_s": T * B / statistics.median(ts),
                   "ratio_vs_torch_lstm": base / statistics.median(ts), "times_s": ts}
            for name, ts in times.items()}


def plot(results: dict, path: str, machine_line: str) -> None:
    """Tokens/s against T for every contender (matplotlib, Agg)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from pathlib import Path
    steps = sorted(results)
    fig, ax = plt.subplots(figsize=(7, 4.2))
    for name in results[steps[0]]:
        style = "-" if "parallel" in name else ("--" if "torch" in name else ":")
        ax.plot(steps, [results[T][name]["tokens_per_s"] for T in steps], style, marker="o",
                label=name)
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("sequence length T")
    ax.set_ylabel("training tokens/s (forward + backward)")
    ax.set_title("minGRU/minLSTM: parallel scan vs sequential vs torch.nn", fontsize=10)
    ax.text(0.01, 0.01, machine_line, transform=ax.transAxes, fontsize=6, color="gray")
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    print(f"wrote {path}")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", default="64,256,1024")
    parser.add_argument("--hidden", type=int, default=256)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--plot", default=None, help="also draw the figure into this PNG")
    args = parser.parse_args(argv)
    steps = [int(t) for t in args.steps.split(",")]
    print(f"forward+backward, 1 layer, B={args.batch} D=H={args.hidden} float32, "
          f"threads={torch.get_num_threads()}")
    results = {}
    for T in steps:
        rows = measure(T, args.batch, args.hidden, args.repeats)
        results[T] = rows
        for name, row in rows.items():
            print(f"T={T:<5} {name:<18} {row['tokens_per_s']:>10,.0f} tokens/s  "
                  f"{row['ratio_vs_torch_lstm']:5.2f}x torch.nn.LSTM", flush=True)
    write_json("min_rnn", {"hidden": args.hidden, "batch": args.batch, "results": results})
    if args.plot:
        from recurrente import machine
        plot(results, args.plot, machine.describe_line())


if __name__ == "__main__":
    main()
