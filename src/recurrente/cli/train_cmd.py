"""``recurrente train``: learn a language model from any text."""

import argparse

from recurrente.cli.checks import COUNT, NON_NEGATIVE, RATE, TOKENS
from recurrente.cli.common import add_train_arguments, model_flags

EXAMPLE = """examples:
  recurrente train --out runs/python                      # the embedded default corpus
  recurrente train novel.txt --out runs/novel --time-budget 600
  RECURRENTE_DATA=~/texts recurrente train --preset quijote-course --cell gru --out runs/q
  recurrente train ptb --tokenizer word --out runs/ptb --time-budget 600   # the word recipe
  recurrente train quijote --direction backward --out runs/atras           # reads it reversed
  recurrente train --out runs/python --resume              # continue where it stopped
  recurrente train novel.txt --out runs/n --nproc 2 --precision bf16   # 2 processes, autocast"""

# flag -> (type, help); defaults live in LMOptions / TrainConfig so presets can fill gaps.
DATA_FLAGS = {
    "--tokenizer": (str, "char or word (default char)"),
    "--normalize": (str, "none, lowercase or spanish-letters (default none)"),
    "--vocab-size": (COUNT, "cap on the vocabulary (most frequent kept)"),
    "--min-freq": (COUNT, "drop symbols seen fewer times (word models)"),
    "--encoding": (str, "text encoding of CORPUS (default utf-8)"),
    "--direction": (str, "forward, or backward: read the text from its end (default forward)"),
}
CHOSEN = "default: chosen for the time budget"
AFTER_DROPOUT = {  # the language model's own model flags, between --dropout and --batch-size
    "--dropout-input": (RATE, "dropout on the embeddings (default: the recipe's)"),
    "--dropout-hidden": (RATE, "dropout between layers (default: the recipe's)"),
    "--dropout-embedding": (RATE, "drop whole words wherever they occur in a batch (default: "
                                  "the recipe's, 0 char, 0.05 word)"),
    "--dropout-mask": (str, "step (a new mask each step) or sequence (locked: one mask per "
                            "sequence) (default: the recipe's)"),
    "--weight-dropout": (RATE, "DropConnect on the recurrent weights W_hh (default: the "
                               "recipe's)"),
    "--ar": (NON_NEGATIVE, "activation regularisation weight (default: the recipe's)"),
    "--tar": (NON_NEGATIVE, "temporal activation regularisation weight (default: the recipe's)"),
    "--scheduled-sampling": (str, "linear, exponential or inverse_sigmoid: read the model's own "
                                  "prediction instead of the true previous token with a "
                                  "probability that grows over training (Bengio et al. 2015)"),
    "--sampling-k": (NON_NEGATIVE, "the schedule's parameter: linear's floor of ε (default 0), "
                                   "exponential's k^i, inverse_sigmoid's k"),
    "--softmax": (str, "full, or adaptive: a cheaper exact softmax for large vocabularies "
                       "(default: the recipe's, full char, adaptive word)"),
    "--seq-len": (TOKENS, f"time steps per window: the BPTT truncation ({CHOSEN})"),
}
MODEL_FLAGS = {**model_flags(
    cells="lstm, gru, rnn, mingru, minlstm, slstm or mlstm",
    implementation=": the fastest measured",
    layers=f"stacked recurrent layers ({CHOSEN})", hidden=f"hidden size H ({CHOSEN})",
    embedding="embedding size (default H)",
    dropout="dropout before the head, and on the embeddings and between layers unless given "
            "below (default: the recipe's, 0 char, 0.3 word)",
    after_dropout=AFTER_DROPOUT,
    batch_size="windows per batch (default: the recipe's, 32 char, 20 word)"),
    "--truncation": (str, "fixed, variable (AWD-LSTM's window lengths) or random (unbiased "
                          "randomised truncation) (default fixed)"),
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
        "--tie-weights": "share the embedding and output matrices (needs embedding == hidden "
                         "and the full softmax)"})
    p.set_defaults(run=run)


def run(args) -> int:
    from recurrente.cli.common import options_from_args, run_training
    from recurrente.tasks.lm.presets import preset
    from recurrente.tasks.lm.task import SPEC
    base = preset(args.preset) if args.preset and not args.resume else None
    opts = options_from_args(args, SPEC, [*DATA_FLAGS, *MODEL_FLAGS, "--tie-weights"],
                             positional=args.corpus, base=base)
    return run_training(args, SPEC, opts, "recurrente train")
