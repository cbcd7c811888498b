"""``recurrente train``: learn a language model from any text."""

import argparse
import json
import sys

from recurrente.layers.registry import DEFAULT, choices

EXAMPLE = """examples:
  recurrente train --out runs/python                      # the embedded default corpus
  recurrente train novel.txt --out runs/novel --time-budget 600
  RECURRENTE_DATA=~/texts recurrente train --preset quijote-course --cell gru --out runs/q
  recurrente train ptb --tokenizer word --out runs/ptb --epochs 10
  recurrente train --out runs/python --resume              # continue where it stopped"""

# flag -> (type, help); defaults live in LMOptions / TrainConfig so presets can fill gaps.
DATA_FLAGS = {
    "--tokenizer": (str, "char or word (default char)"),
    "--normalize": (str, "none, lowercase or spanish-letters (default none)"),
    "--vocab-size": (int, "cap on the vocabulary (most frequent kept)"),
    "--min-freq": (int, "drop symbols seen fewer times (word models)"),
    "--encoding": (str, "text encoding of CORPUS (default utf-8)"),
}
MODEL_FLAGS = {
    "--cell": (str, "lstm, gru or rnn (default lstm)"),
    "--implementation": (str, f"{', '.join(choices())} (default {DEFAULT}: the fastest measured)"),
    "--layers": (int, "stacked recurrent layers (default 2)"),
    "--hidden": (int, "hidden size H (default 128)"),
    "--embedding": (int, "embedding size (default H)"),
    "--dropout": (float, "dropout on embeddings, between layers and before the head (default 0.1)"),
    "--seq-len": (int, "time steps per window: the BPTT truncation (default 64)"),
    "--batch-size": (int, "windows per batch (default 32)"),
    "--partition": (str, "sequential (state carried, truncated BPTT) or random (default sequential)"),
}
TRAIN_FLAGS = {
    "--optimizer": (str, "adamw, adam, sgd or adadelta (default adamw)"),
    "--lr": (float, "peak learning rate (default 3e-3)"),
    "--weight-decay": (float, "weight decay (default 0)"),
    "--clip": (float, "clip gradients to this global norm; 0 disables (default 1.0)"),
    "--schedule": (str, "cosine (with warm-up), plateau or constant (default cosine)"),
    "--epochs": (int, "stop after this many passes over the training split"),
    "--max-steps": (int, "stop after this many optimizer steps"),
    "--time-budget": (float, "stop after this many seconds of training (default 180 if no other limit)"),
    "--eval-every": (int, "evaluate and checkpoint every N steps (default 200)"),
    "--patience": (int, "early stop after N evaluations without improvement"),
    "--seed": (int, "random seed (default 0)"),
    "--device": (str, "auto, cpu or cuda (default auto)"),
}


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("train", help="train a language model on a text",
                              description=__doc__, epilog=EXAMPLE,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("corpus", nargs="?", default=None,
                   help="a file, a folder of .txt files, - for stdin, or a dataset name "
                        "(quijote, tinyshakespeare, ptb, ptb-char, wikitext-2); "
                        "default: the embedded corpus (this Python's standard library source)")
    p.add_argument("--out", required=True, help="run directory to create (or --resume)")
    p.add_argument("--preset", help="quijote-course, char-large or tiny")
    p.add_argument("--resume", action="store_true", help="continue the run in --out")
    p.add_argument("--tie-weights", action="store_true", default=None,
                   help="share the embedding and output matrices (needs embedding == hidden)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--json", action="store_true", help="print the summary as one JSON line")
    for group, flags in (("data", DATA_FLAGS), ("model", MODEL_FLAGS), ("training", TRAIN_FLAGS)):
        g = p.add_argument_group(group)
        for flag, (kind, text) in flags.items():
            g.add_argument(flag, type=kind, default=None, help=text)
    p.set_defaults(run=run)


def saved_options(out) -> tuple:
    """The options a run was started with: (LMOptions fields, TrainConfig fields)."""
    from recurrente.train.checkpoint import read_config
    values = dict(read_config(out).get("options", {}))
    train = values.pop("train", {})
    if "split" in values:
        values["split"] = tuple(values["split"])
    return values, train


def options_from_args(args):
    """Defaults, then the preset (or, with --resume, the run's own options), then explicit flags."""
    from recurrente.tasks.lm_training import LMOptions
    from recurrente.tasks.presets import preset
    from recurrente.train.trainer import TrainConfig
    if args.resume:
        values, saved_train = saved_options(args.out)
    else:
        values, saved_train = (preset(args.preset) if args.preset else {}), {}
    if args.corpus is not None:
        values["corpus"] = args.corpus
    for flag in list(DATA_FLAGS) + list(MODEL_FLAGS) + ["--tie-weights"]:
        key = flag[2:].replace("-", "_")
        if getattr(args, key) is not None:
            values[key] = getattr(args, key)
    train = {f[2:].replace("-", "_"): getattr(args, f[2:].replace("-", "_")) for f in TRAIN_FLAGS}
    train = {**saved_train, **{k: v for k, v in train.items() if v is not None}}
    if not any(train.get(k) for k in ("epochs", "max_steps", "time_budget")):
        train["time_budget"] = 180.0
    if train.get("clip") == 0:
        train["clip"] = None
    return LMOptions(**values, train=TrainConfig(**train))


def run(args) -> int:
    from recurrente.tasks.lm_training import train_language_model
    opts = options_from_args(args)
    log = (lambda *a: print(*a, file=sys.stderr)) if args.json else print
    summary = train_language_model(opts, args.out, resume=args.resume,
                                   progress=not (args.quiet or args.json), stdin=sys.stdin, log=log)
    interrupted = summary["stop_reason"] == "interrupted"
    if args.json:
        print(json.dumps(summary))
        return 130 if interrupted else 0
    if interrupted:
        print(f"interrupted at step {summary['steps']}; the checkpoint is saved: continue with "
              f"'recurrente train ... --out {summary['out']} --resume'")
        return 130
    line = (f"trained {summary['steps']} steps ({summary['stop_reason']}) in "
            f"{summary['train_seconds']:.0f} s at {summary['tokens_per_s']:,.0f} tokens/s "
            f"[{summary['implementation']}]")
    if summary.get("valid_perplexity") is not None:
        line += f"; valid perplexity {summary['valid_perplexity']:.3f}"
        if "valid_bits_per_char" in summary:
            line += f" ({summary['valid_bits_per_char']:.3f} bits/char)"
    print(line + f"; saved to {summary['out']}")
    return 0
