"""``recurrente eval``: score a trained run on held-out data, whatever its task.

A language model: exact held-out cross-entropy, perplexity and bits per character, the whole
text read in order with the state carried, so every token but the first is predicted once.
Any other task: its own metrics (a classifier's accuracy, macro-F1, confusion matrix) on the
run's test split or on ``--data FILE``.
"""

import argparse
import importlib
import json
import math

EXAMPLE = """examples:
  recurrente eval runs/python                 # the run's own test split
  recurrente eval runs/python --split valid
  recurrente eval runs/quijote --text otra_novela.txt --json
  recurrente eval runs/sentiment --data reviews_2024.csv   # a classifier: accuracy, F1, ..."""


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("eval", help="score held-out data with a trained run (any task)",
                              description=__doc__, epilog=EXAMPLE,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("run_dir", metavar="DIR")
    where = p.add_mutually_exclusive_group()
    where.add_argument("--split", default="test", help="train, valid or test (default test)")
    where.add_argument("--text", "--data", dest="text",
                       help="score this file instead of the run's split")
    p.add_argument("--encoding", default=None, help="encoding of the file (default utf-8, or a "
                                                    "tagger run's own)")
    p.add_argument("--png", help="a classifier's confusion matrix, drawn into this PNG file")
    p.add_argument("--device", default="auto", help="auto, cpu or cuda (default auto)")
    p.add_argument("--json", action="store_true", help="last line of stdout: one JSON object")
    p.set_defaults(run=run)


def run(args) -> int:
    """Dispatch on the run's task: the language model here, others to their command module."""
    from recurrente.tasks import registry
    from recurrente.train.checkpoint import read_config
    name = read_config(args.run_dir).get("model", {}).get("class", "LanguageModel")
    spec = registry.task_of_model(name)
    if spec.name != "lm":
        command = importlib.import_module(f"recurrente.cli.{spec.name}_cmd")
        args.data = args.text
        return command.run_eval(args)
    return run_lm(args)


def run_lm(args) -> int:
    from recurrente.tasks.lm.inference import evaluate_stream
    from recurrente.tasks.lm.texts import split_ids, text_ids, tokenizer_of
    from recurrente.train.run import load_run
    loaded = load_run(args.run_dir, device=args.device, task="lm")
    tokenizer = tokenizer_of(loaded)
    if args.text:
        ids, unknown, what = *text_ids(loaded, args.text, args.encoding or "utf-8"), args.text
    else:
        ids = split_ids(loaded, args.split)
        unknown, what = int((ids == tokenizer.unk_id).sum()), f"{args.split} split"
    result = evaluate_stream(loaded.model, ids, progress=not args.json)
    result["unknown_tokens"] = unknown
    if tokenizer.kind == "char":
        result["bits_per_char"] = result["loss"] / math.log(2)
    line = (f"{what}: {result['tokens']:,} tokens, loss {result['loss']:.4f} nats/token, "
            f"perplexity {result['perplexity']:.3f}")
    if "bits_per_char" in result:
        line += f", {result['bits_per_char']:.4f} bits/char"
    print(line + (f" ({unknown} unknown tokens)" if unknown else ""))
    if args.json:
        print(json.dumps({"split": None if args.text else args.split, "text": args.text, **result}))
    return 0
