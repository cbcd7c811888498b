"""The trainer's throughput against a bare hand-written loop over the same model.

Both train the same ``LanguageModel`` (``native`` = torch.nn's kernels) on the same sequential
batches with AdamW, clipping and truncated BPTT; the trainer adds its schedule, callbacks,
metrics log and non-finite checks. Target: trainer >= 0.95x the bare loop, in tokens/s.

    python -m benchmarks.lm_train [--hidden 256] [--steps 30] [--repeats 5]
"""

import argparse
import copy

import numpy as np
import torch

from benchmarks.common import interleaved, write_json
from recurrente.data.batching import make_batches
from recurrente.layers.state import detach_state
from recurrente.tasks.lm.model import LanguageModel
from recurrente.train.callbacks import MetricsLog, ProgressBar
from recurrente.train.config import TrainConfig
from recurrente.train.trainer import Trainer


def bare_loop(model, batches, steps: int):
    """What a user writes by hand: forward, loss, backward, clip, step, detach."""
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    state = None
    for i, (x, y) in zip(range(steps), batches.epoch(0)):
        logits, state = model(x, state)
        loss = torch.nn.functional.cross_entropy(logits.view(-1, logits.shape[-1]), y.view(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        state = detach_state(state)


def trainer_run(model, batches, steps: int, log_path):
    config = TrainConfig(max_steps=steps, lr=1e-3, eval_every=10 ** 9, log_every=10)
    Trainer(model, batches, config, callbacks=[ProgressBar(False), MetricsLog(log_path)]).fit()


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--hidden", type=int, default=256)
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    V, T, B = 100, 128, 32
    ids = np.random.default_rng(0).integers(0, V, size=T * B * (args.steps + 2) * 2)
    batches = make_batches(ids, "sequential", B, T, seed=0)
    torch.manual_seed(0)
    base = LanguageModel(V, hidden_size=args.hidden, num_layers=2, implementation="native")
    import tempfile
    log = tempfile.NamedTemporaryFile(suffix=".jsonl").name
    timings = interleaved({
        "bare loop": lambda: bare_loop(copy.deepcopy(base), batches, args.steps),
        "trainer": lambda: trainer_run(copy.deepcopy(base), batches, args.steps, log),
    }, args.repeats)
    tokens = T * B * args.steps
    rows = {name: tokens / s for name, s in timings.items()}
    ratio = rows["trainer"] / rows["bare loop"]
    print(f"LanguageModel 2x{args.hidden} lstm, T={T}, B={B}, {args.steps} steps x {args.repeats}")
    for name, rate in rows.items():
        print(f"  {name:<10} {rate:>10,.0f} tokens/s")
    print(f"trainer / bare loop = {ratio:.3f}x (target >= 0.95x)")
    write_json("lm_train", {"hidden": args.hidden, "tokens_per_s": rows, "ratio": ratio})


if __name__ == "__main__":
    main()
