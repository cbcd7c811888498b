"""What every task's ``train`` command shares: the training flags, the options they make, the
run they start or resume, and the summary line.

A task's command gives its own data and model flags as tables ``{flag: (type, help)}``; each
flag fills the options field of the same name (``--seq-len`` -> ``seq_len``). The model flags
every task has (``--cell`` ... ``--batch-size``) come from :func:`model_flags`. A numeric flag's
type is its range (:mod:`recurrente.cli.checks`: ``SIZE``, ``RATE``, ``integer(1, 64)`` ...), so
a value out of range is refused while the command line is read, before anything is created.
Options come from the task's defaults, then a preset (or, with ``--resume``, the run's saved
options), then the flags given; :func:`recurrente.train.run.train_run` refuses a resume whose
data or model flags differ from the run's.
"""

import argparse
import json
import sys

from recurrente.cli.checks import (BATCH, CHARS, COUNT, LAYERS, LEARNING_RATE, NON_NEGATIVE, RATE,
                                   SECONDS, SEED, SIZE, TOKENS, integer)


TRAIN_FLAGS = {
    "--optimizer": (str, "adamw, adam, sgd or adadelta (default adamw)"),
    "--lr": (LEARNING_RATE, "peak learning rate (default 2e-3 for a language model, 3e-3 for "
                            "the other tasks)"),
    "--weight-decay": (NON_NEGATIVE, "weight decay (default 0)"),
    "--clip": (NON_NEGATIVE, "clip gradients to this global norm; 0 disables (default 5 for a "
                             "language model, 1 for the other tasks)"),
    "--schedule": (str, "cosine (with warm-up), wsd (warm-up, stable, decay over the last 20%%), "
                        "plateau or constant (default wsd for a language model, cosine "
                        "for the other tasks)"),
    "--epochs": (COUNT, "stop after this many passes over the training data"),
    "--max-steps": (COUNT, "stop after this many optimizer steps"),
    "--time-budget": (SECONDS, "stop after this many seconds of training (default 180 if no other "
                               "limit)"),
    "--eval-every": (COUNT, "evaluate and checkpoint every N steps (default: the task's, 200 for "
                            "a language model, 100 for a classifier)"),
    "--patience": (COUNT, "early stop after N evaluations without improvement"),
    "--monitor": (str, "the validation metric that picks the best checkpoint (default: the "
                       "task's)"),
    "--average": (str, "averaged weights for evaluation and saving, from: nt (when validation "
                       "stops improving) or a fraction of the run, e.g. 0.5 (default: none)"),
    "--seed": (SEED, "random seed (default 0)"),
    "--device": (str, "auto, cpu or cuda (default auto)"),
    "--precision": (str, "fp32, bf16 (autocast; CPU or CUDA) or fp16 (autocast and a gradient "
                         "scaler; CUDA) (default fp32)"),
}
DEFAULT_TIME_BUDGET = 180.0
MAX_LINE_CHARS = 100000  # characters of one line a predict command reads (--max-chars)
LIMITS = ("epochs", "max_steps", "time_budget")  # with none given: DEFAULT_TIME_BUDGET


def text_table_flags(*, held: str, label: str) -> dict:
    """The data flags of a task that reads texts with a column to predict (a label, a number):
    ``held`` how a missing validation/test part is chosen, ``label`` the column's help."""
    return {
        "--valid": (str, f"validation file (default: held out of DATA{held})"),
        "--test": (str, f"test file (default: held out of DATA{held})"),
        "--text-column": (str, "column of the texts (default: guessed: text, sentence, review, "
                               "...)"),
        "--label-column": (str, label),
        "--encoding": (str, "text encoding of the files (default utf-8)"),
        "--tokenizer": (str, "word (Unicode words and punctuation) or char (default word)"),
        "--min-freq": (COUNT, "drop words seen fewer times in training (default 1)"),
        "--vocab-size": (COUNT, "cap on the vocabulary (most frequent kept)"),
        "--max-len": (TOKENS, "cut texts to this many tokens (default 400)"),
    }


def model_flags(*, cells: str, embedding: str, dropout: str, batch_size: str,
                layers: str = "stacked recurrent layers (default 1)",
                hidden: str = "hidden size H per direction (default 128)",
                implementation: str = "", after_embedding: dict = (),
                after_dropout: dict = ()) -> dict:
    """The model flags every task has, ``{flag: (type, help)}``, in the order ``--help`` shows
    them: ``--cell``, ``--implementation``, ``--layers``, ``--hidden``, ``--embedding``, the
    task's own ``after_embedding``, ``--dropout``, the task's own ``after_dropout``,
    ``--batch-size``.

    The arguments are the task's words: ``cells`` the cells it takes (``"lstm, gru or rnn"``;
    lstm is every task's default), ``implementation`` what follows the default implementation's
    name (``": the fastest measured"``), the others each flag's whole help."""
    from recurrente.layers.registry import DEFAULT, choices
    return {
        "--cell": (str, f"{cells} (default lstm)"),
        "--implementation": (str, f"{', '.join(choices())} (default {DEFAULT}{implementation})"),
        "--layers": (LAYERS, layers),
        "--hidden": (SIZE, hidden),
        "--embedding": (SIZE, embedding),
        **dict(after_embedding),
        "--dropout": (RATE, dropout),
        **dict(after_dropout),
        "--batch-size": (BATCH, batch_size),
    }


def field_of(flag: str) -> str:
    return flag[2:].replace("-", "_")


def add_train_arguments(p: argparse.ArgumentParser, groups: dict, switches: dict = ()) -> None:
    """``--out``, ``--resume``, ``--quiet``, ``--json``, then each ``{group: {flag: (type, help)}}``
    and the training flags; ``switches`` are ``store_true`` flags ``{flag: help}``."""
    p.add_argument("--out", required=True, help="run directory to create (or --resume)")
    p.add_argument("--resume", action="store_true", help="continue the run in --out")
    p.add_argument("--quiet", action="store_true", help="no progress output")
    p.add_argument("--json", action="store_true", help="print the summary as one JSON line")
    p.add_argument("--nproc", type=integer(1, 1024), default=None, metavar="N",
                   help="data-parallel training with N processes on this machine (starts "
                        "torchrun; for several machines run torchrun yourself: README, Scaling "
                        "out)")
    for flag, text in dict(switches).items():
        p.add_argument(flag, action="store_true", default=None, help=text)
    for group, flags in {**groups, "training": TRAIN_FLAGS}.items():
        g = p.add_argument_group(group)
        for flag, (kind, text) in flags.items():
            g.add_argument(flag, type=kind, default=None, help=text)


def options_from_args(args, spec, flags, positional=None, base=None):
    """The task's options: ``base`` (a preset's values), or the saved ones when resuming, then
    the flags given (``flags``: every data, model and switch flag of the command)."""
    from dataclasses import asdict
    from pathlib import Path

    from recurrente.train.checkpoint import CONFIG, read_config
    from recurrente.train.run import options_from_record
    values = dict(base or {})
    train = {k: v for k, v in asdict(spec.options().train).items() if k not in LIMITS}
    if args.resume and (Path(args.out) / CONFIG).exists():
        values = dict(read_config(args.out).get("options", {}))
        train.update(values.pop("train", {}))
    if positional is not None:
        values[spec.positional] = positional
    for flag in flags:
        value = getattr(args, field_of(flag))
        if value is not None:
            values[field_of(flag)] = value
    given = {field_of(f): getattr(args, field_of(f)) for f in TRAIN_FLAGS}
    train.update({k: v for k, v in given.items() if v is not None})
    if not any(train.get(k) for k in LIMITS):
        train["time_budget"] = DEFAULT_TIME_BUDGET
    if train.get("clip") == 0:
        train["clip"] = None
    return options_from_record(spec.options, {**values, "train": train})


def run_training(args, spec, opts, command: str) -> int:
    """Train (or resume) and print the summary: one line, or one JSON object with ``--json``."""
    from recurrente.train.run import train_run
    log = (lambda *a: print(*a, file=sys.stderr)) if args.json else print
    summary = train_run(spec, opts, args.out, resume=args.resume,
                        progress=not (args.quiet or args.json), stdin=sys.stdin, log=log)
    interrupted = summary["stop_reason"] == "interrupted"
    if summary.get("rank"):  # another process of a data-parallel run: rank 0 reports
        return 130 if interrupted else 0
    if args.json:
        print(json.dumps(summary))
    elif interrupted:
        print(f"interrupted at step {summary['steps']}; the checkpoint is saved: continue with "
              f"'{command} ... --out {summary['out']} --resume'")
    else:
        print(summary_line(summary))
    return 130 if interrupted else 0


def summary_line(summary: dict) -> str:
    line = (f"trained {summary['steps']} steps ({summary['stop_reason']}) in "
            f"{summary['train_seconds']:.0f} s at {summary['items_per_s']:,.0f} "
            f"{'tokens' if summary['unit'] == 'tok' else 'sequences'}/s "
            f"[{summary['implementation']}]")
    shown = [f"{k[len('valid_'):].replace('_', ' ')} {v:.3f}" for k, v in summary.items()
             if k.startswith("valid_") and isinstance(v, float) and k != "valid_loss"]
    if summary.get("valid_loss") is not None:
        shown.insert(0, f"loss {summary['valid_loss']:.4f}")
    if shown:
        line += "; valid " + ", ".join(shown)
    return line + f"; saved to {summary['out']}"


# ----------------------------------------------------------------------------- predict input

def add_line_limit(p: argparse.ArgumentParser) -> None:
    """``--max-chars``: the characters-per-line limit every ``predict`` shares."""
    p.add_argument("--max-chars", type=CHARS, default=MAX_LINE_CHARS,
                   help=f"characters per input line: a longer line is refused, with its number "
                        f"(default {MAX_LINE_CHARS})")


def line_batches(source: str, encoding: str, size: int, max_chars=None):
    """Lists of up to ``size`` lines (line ends stripped) from a file or stdin, as they come;
    stdin is read line by line, so an interactive user gets each answer at once. A line over
    ``max_chars`` characters is a UserError naming it (read no further than the limit)."""
    from recurrente.errors import UserError
    if source == "-":
        stream, interactive = sys.stdin, sys.stdin.isatty()
    else:
        try:
            stream, interactive = open(source, encoding=encoding), False
        except FileNotFoundError:
            raise UserError(f"file not found: {source}") from None
        except LookupError:
            raise UserError(f"unknown text encoding {encoding!r}; expected a Python codec name "
                            f"such as utf-8 or latin-1") from None
    limit = max_chars or MAX_LINE_CHARS
    batch = []
    try:
        for number, line in enumerate(_read_lines(stream, limit + 2), 1):  # + the line end
            text = line.rstrip("\r\n")
            if len(text) > limit:
                raise UserError(f"line {number} of {'stdin' if source == '-' else source} has "
                                f"more than {limit:,} characters (--max-chars)")
            batch.append(text)
            if len(batch) >= (1 if interactive else size):
                yield batch
                batch = []
    except UnicodeDecodeError as e:
        raise UserError(f"{source} is not valid {encoding} text ({e.reason} at byte {e.start}); "
                        f"pass --encoding") from None
    if batch:
        yield batch


def _read_lines(stream, most: int):
    """The lines of ``stream``, each read no further than ``most`` characters (a longer line
    comes cut there, without its line end); a stream without ``readline`` is iterated."""
    if not hasattr(stream, "readline"):
        yield from stream
        return
    while True:
        line = stream.readline(most)
        if not line:
            return
        yield line
