"""``recurrente eval``: exact held-out cross-entropy, perplexity and bits per character."""

import argparse
import json
import math

EXAMPLE = """examples:
  recurrente eval runs/python                 # the run's own test split
  recurrente eval runs/python --split valid
  recurrente eval runs/quijote --text otra_novela.txt --json"""


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("eval", help="score held-out text with a trained model",
                              description=__doc__ + "\n\nThe whole text is read in order with the "
                              "state carried, so every token but the first is predicted once.",
                              epilog=EXAMPLE, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("run_dir", metavar="DIR")
    where = p.add_mutually_exclusive_group()
    where.add_argument("--split", default="test", help="train, valid or test (default test)")
    where.add_argument("--text", help="score this file instead of the run's split")
    p.add_argument("--encoding", default="utf-8", help="encoding of --text (default utf-8)")
    p.add_argument("--device", default="auto", help="auto, cpu or cuda (default auto)")
    p.add_argument("--json", action="store_true", help="last line of stdout: one JSON object")
    p.set_defaults(run=run)


def run(args) -> int:
    from recurrente.tasks.lm_inference import evaluate_stream
    from recurrente.tasks.lm_run import load_run, split_ids, text_ids
    loaded = load_run(args.run_dir, device=args.device)
    if args.text:
        ids, unknown, what = *text_ids(loaded, args.text, args.encoding), args.text
    else:
        ids = split_ids(loaded, args.split)
        unknown, what = int((ids == loaded.tokenizer.unk_id).sum()), f"{args.split} split"
    result = evaluate_stream(loaded.model, ids, progress=not args.json)
    result["unknown_tokens"] = unknown
    if loaded.tokenizer.kind == "char":
        result["bits_per_char"] = result["loss"] / math.log(2)
    line = (f"{what}: {result['tokens']:,} tokens, loss {result['loss']:.4f} nats/token, "
            f"perplexity {result['perplexity']:.3f}")
    if "bits_per_char" in result:
        line += f", {result['bits_per_char']:.4f} bits/char"
    print(line + (f" ({unknown} unknown tokens)" if unknown else ""))
    if args.json:
        print(json.dumps({"split": None if args.text else args.split, "text": args.text, **result}))
    return 0
