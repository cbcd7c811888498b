"""``recurrente train``: learn a language model from any text."""

import argparse

from recurrente.cli.common import add_train_arguments
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
def add_parser(subparsers) -> None:
    p = subparsers.add_parser("train", help="train a language model on a text",
                              description=__doc__, epilog=EXAMPLE,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("corpus", nargs="?", default=None,
                   help="a file, a folder of .txt files, - for stdin, or a dataset name "
                        "(quijote, tinyshakespeare, ptb, ptb-char, wikitext-2); "
                        "default: the embedded corpus (this Python's standard library source)")
    p.add_argument("--preset", help="quijote-course, char-large or tiny")
    add_train_arguments(p, {"data": DATA_FLAGS, "model": MODEL_FLAGS}, switches={
        "--tie-weights": "share the embedding and output matrices (needs embedding == hidden)"})
    p.set_defaults(run=run)


def run(args) -> int:
    from recurrente.cli.common import options_from_args, run_training
    from recurrente.tasks.lm.presets import preset
    from recurrente.tasks.lm.task import SPEC
    base = preset(args.preset) if args.preset and not args.resume else None
    opts = options_from_args(args, SPEC, [*DATA_FLAGS, *MODEL_FLAGS, "--tie-weights"],
                             positional=args.corpus, base=base)
    return run_training(args, SPEC, opts, "recurrente train")
