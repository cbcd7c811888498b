"""The measurements behind the size rule of :mod:`recurrente.tasks.lm.recipes`.

1. Speed: training tokens per second of each size of a recipe (its regularisers on, the
   corpus's vocabulary), on one thread, timed in the process's CPU time (what a busy neighbour
   does not take away) and on ``--threads`` threads in wall time, steps interleaved; times the
   operations per token of :func:`~recurrente.tasks.lm.recipes.flops_per_token`: the machine's
   rate, whose median is ``RATE``.
2. Tokens needed: every size trains at once (one process and one thread each, so they share
   the machine alike) at a constant learning rate, validating every ``--eval-every`` steps.
   For each size and the next smaller one, the time after which the larger one's validation
   loss stays below the smaller one's, converted into the larger one's training tokens: how
   many tokens it needs to pay off. A uniform slow-down changes the time, not the tokens.

    python -m benchmarks.lm_sizes --tokenizer char [--corpus quijote] [--budget 900]
        [--sizes 2x128x32,2x256x32,2x512x32] [--eval-every 200,100,50] [--speed-only]
        [--name lm_sizes_char_long]
"""

import argparse
import json
import multiprocessing
import os
import statistics
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import torch

from benchmarks.common import interleaved, write_json
from recurrente.tasks.lm.data import prepare_data
from recurrente.tasks.lm.options import LMOptions, lm_train_config
from recurrente.tasks.lm.model import LanguageModel
from recurrente.tasks.lm.recipes import RECIPES, Size, flops_per_token
from recurrente.tasks.lm.task import train_language_model

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
MODEL_FIELDS = ("dropout", "dropout_input", "dropout_hidden", "dropout_embedding",
                "dropout_mask", "weight_dropout", "ar", "tar", "tie_weights", "softmax")


def parse_sizes(text: str):
    return [Size(*map(int, s.split("x")), 0.0) for s in text.split(",")]


def speed(sizes, tokenizer: str, V: int, batch: int, steps: int, repeats: int,
          threads: int) -> dict:
    """Per size: tokens per CPU-second on one thread, tokens per wall second on ``threads``."""
    values = RECIPES[tokenizer].values
    kwargs = {k: values[k] for k in MODEL_FIELDS}
    rows, fns = {}, {}
    for size in sizes:
        torch.manual_seed(0)
        model = LanguageModel(V, hidden_size=size.hidden, num_layers=size.layers, **kwargs)
        opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
        zipf = 1.0 / torch.arange(1, V + 1, dtype=torch.float64)  # ids sorted by frequency
        ids = torch.multinomial(zipf, (size.seq_len + 1) * batch, replacement=True)
        ids = ids.view(size.seq_len + 1, batch)  # (T+1, B)

        def step(model=model, opt=opt, ids=ids):
            for _ in range(steps):
                loss_sum, count, _ = model.loss((ids[:-1], ids[1:]))
                opt.zero_grad()
                (loss_sum / count).backward()
                opt.step()
        step()  # warm up
        fns[size.name] = step
        rows[size.name] = {"tokens_per_call": size.seq_len * batch * steps,
                           "flops_per_token": flops_per_token(size, V,
                                                              softmax=values["softmax"])}
    cpu = {name: [] for name in fns}
    torch.set_num_threads(1)
    for _ in range(repeats):
        for name, fn in fns.items():
            start = time.process_time()
            fn()
            cpu[name].append(time.process_time() - start)
    torch.set_num_threads(threads)
    wall = interleaved(fns, repeats)
    for name, r in rows.items():
        r["tokens_per_cpu_s"] = r["tokens_per_call"] / statistics.median(cpu[name])
        r["tokens_per_s"] = r["tokens_per_call"] / wall[name]
        r["flops_per_cpu_s"] = r["tokens_per_cpu_s"] * r["flops_per_token"]
        r["flops_per_s"] = r["tokens_per_s"] * r["flops_per_token"]
    return rows


def curve(spec) -> list:
    """One size trained alone in its process: ``[(seconds, tokens, valid loss), ...]``."""
    corpus, tokenizer, size, budget, eval_every, folder = spec
    torch.set_num_threads(1)
    out = Path(tempfile.mkdtemp(prefix="size-", dir=folder)) / "run"
    opts = LMOptions(corpus=corpus, tokenizer=tokenizer, layers=size.layers, hidden=size.hidden,
                     seq_len=size.seq_len,
                     train=lm_train_config(time_budget=budget, schedule="constant",
                                       eval_every=eval_every))
    train_language_model(opts, out, progress=False, log=lambda *a: None)
    points = []
    tokens_per_step = opts.batch_size * size.seq_len
    for line in (out / "metrics.jsonl").read_text().splitlines():
        record = json.loads(line)
        if record.get("kind") == "eval":
            points.append((record["elapsed"], record["step"] * tokens_per_step,
                           record["valid_loss"]))
    return points


def tokens_needed(small: list, big: list) -> float:
    """The larger size's tokens at the first evaluation after which its loss stays below the
    smaller size's at the same time (interpolated); ``inf`` if that never happens within the
    time both were measured."""
    s_time, _, s_loss = map(np.array, zip(*small))
    for k, (t, tokens, loss) in enumerate(big):
        later = [(tt, l) for tt, _, l in big[k:] if tt <= s_time[-1]]
        if later and all(l < np.interp(tt, s_time, s_loss) for tt, l in later):
            return float(tokens)
    return float("inf")


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tokenizer", default="char")
    parser.add_argument("--corpus", default="quijote")
    parser.add_argument("--sizes", default=None, help="LxHxT,... (default: the recipe's)")
    parser.add_argument("--budget", type=float, default=900.0)
    parser.add_argument("--eval-every", default="100", help="steps, one value or one per size")
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--speed-only", action="store_true")
    parser.add_argument("--name", default=None, help="results/NAME.json (default "
                        "lm_sizes_TOKENIZER)")
    args = parser.parse_args()
    os.environ.setdefault("RECURRENTE_DATA", str(SHARED))
    recipe = RECIPES[args.tokenizer]
    sizes = parse_sizes(args.sizes) if args.sizes else list(recipe.sizes)
    data = prepare_data(LMOptions(corpus=args.corpus, tokenizer=args.tokenizer))
    V, batch = data.tokenizer.vocab_size, recipe.values["batch_size"]
    print(f"{args.corpus} ({args.tokenizer}s, vocabulary {V:,}), load average "
          f"{os.getloadavg()[0]:.2f}", flush=True)
    rows = speed(sizes, args.tokenizer, V, batch, args.steps, args.repeats, args.threads)
    for name, r in rows.items():
        print(f"  {name:<28} one thread {r['tokens_per_cpu_s']:>8,.0f} tokens/CPU-s "
              f"({r['flops_per_cpu_s'] / 1e9:5.1f} GFLOP/s); {args.threads} threads "
              f"{r['tokens_per_s']:>8,.0f} tokens/s ({r['flops_per_s'] / 1e9:5.1f} GFLOP/s)",
              flush=True)
    rate = statistics.median(r["flops_per_s"] for r in rows.values())
    rate1 = statistics.median(r["flops_per_cpu_s"] for r in rows.values())
    print(f"RATE = {rate / 1e9:.0f}e9 ({args.threads} threads, wall); one thread "
          f"{rate1 / 1e9:.0f}e9 per CPU-second; load average now {os.getloadavg()[0]:.2f}",
          flush=True)
    result = {"corpus": args.corpus, "tokenizer": args.tokenizer, "vocabulary": V,
              "speed": rows, "rate": rate, "rate_one_thread": rate1}
    if not args.speed_only:
        folder = Path(tempfile.mkdtemp(prefix="bench-sizes-"))
        every = [int(e) for e in args.eval_every.split(",")]
        every = every * len(sizes) if len(every) == 1 else every
        specs = [(args.corpus, args.tokenizer, s, args.budget, e, folder)
                 for s, e in zip(sizes, every)]
        with ProcessPoolExecutor(len(specs), multiprocessing.get_context("spawn")) as pool:
            curves = list(pool.map(curve, specs))
        result["curves"] = {s.name: c for s, c in zip(sizes, curves)}
        for s, c in zip(sizes, curves):
            print(f"  {s.name:<28} " + "  ".join(f"{t:.0f}s:{loss:.3f}" for t, _, loss in c))
        needed = [0.0] + [tokens_needed(a, b) for a, b in zip(curves, curves[1:])]
        result["tokens_needed"] = needed
        for s, n in zip(sizes, needed):
            print(f"        Size({s.layers}, {s.hidden}, {s.seq_len}, {n:.3g}),")
    write_json(args.name or f"lm_sizes_{args.tokenizer}", result)


if __name__ == "__main__":
    main()
