"""The language model's ``recurrente eval RUN`` (its ``train`` and ``sample`` are root commands:
:mod:`recurrente.cli.train_cmd`, :mod:`recurrente.cli.sample_cmd`).

Exact held-out cross-entropy, perplexity and bits per character, the whole text read in order
with the state carried, so every token but the first is predicted once. With ``--baseline
ngram:N``, an interpolated Kneser-Ney N-gram model trained on the run's own training split scores
the same text beside it: what the hidden state buys over a fixed window.
"""

import json
import math

EVAL_EXAMPLE = """examples:
  recurrente eval runs/python                 # the run's own test split
  recurrente eval runs/quijote --text otra_novela.txt --json
  recurrente eval runs/quijote --baseline ngram:5    # beside a 5-gram Kneser-Ney model"""
PREDICT_INSTEAD = "it writes text rather than labelling it: use 'recurrente sample {run}'"


def add_eval_arguments(e) -> None:
    e.add_argument("run_dir", metavar="RUN")
    where = e.add_mutually_exclusive_group()
    where.add_argument("--split", default="test", help="train, valid or test (default test)")
    where.add_argument("--text", "--data", dest="text",
                       help="score this file instead of the run's split")
    e.add_argument("--encoding", default="utf-8", help="encoding of the file (default utf-8)")
    e.add_argument("--baseline", help="ngram:N: an N-gram Kneser-Ney model of the run's "
                                      "training split, scored on the same text")
    e.add_argument("--device", default="auto", help="auto, cpu or cuda (default auto)")
    e.add_argument("--json", action="store_true", help="last line of stdout: one JSON object")


def ngram_baseline(loaded, ids, order: int) -> dict:
    """An ``order``-gram Kneser-Ney model fitted on the run's training split, read in the
    model's direction, scored on ``ids`` (reading order) as the network scores them."""
    from recurrente.tasks.lm.ngram import KneserNey
    from recurrente.tasks.lm.texts import split_ids
    model = loaded.model
    train = model.in_model_order(split_ids(loaded, "train"))
    ngram = KneserNey.fit(train, order, model.vocab_size)
    return {"name": f"ngram:{order}", **ngram.evaluate(model.in_model_order(ids))}


def run_eval(args) -> int:
    from recurrente.tasks.lm.inference import evaluate_stream
    from recurrente.tasks.lm.ngram import parse_baseline
    from recurrente.tasks.lm.task import SPEC
    from recurrente.tasks.lm.texts import split_ids, text_ids, tokenizer_of
    from recurrente.train.run import load_run
    loaded = load_run(args.run_dir, device=args.device, task=SPEC.name)
    tokenizer = tokenizer_of(loaded)
    if args.text:
        ids, unknown, what = *text_ids(loaded, args.text, args.encoding or "utf-8"), args.text
    else:
        ids = split_ids(loaded, args.split)
        unknown, what = int((ids == tokenizer.unk_id).sum()), f"{args.split} split"
    order = parse_baseline(args.baseline) if args.baseline else None
    result = evaluate_stream(loaded.model, ids, progress=not args.json)
    result["unknown_tokens"] = unknown
    if tokenizer.kind == "char":
        result["bits_per_char"] = result["loss"] / math.log(2)
    line = (f"{what}: {result['tokens']:,} tokens, loss {result['loss']:.4f} nats/token, "
            f"perplexity {result['perplexity']:.3f}")
    if "bits_per_char" in result:
        line += f", {result['bits_per_char']:.4f} bits/char"
    print(line + (f" ({unknown} unknown tokens)" if unknown else ""))
    if order is not None:
        result["baseline"] = baseline = ngram_baseline(loaded, ids, order)
        lower = 1 - result["perplexity"] / baseline["perplexity"]
        print(f"{order}-gram Kneser-Ney baseline (the run's train split): loss "
              f"{baseline['loss']:.4f} nats/token, perplexity {baseline['perplexity']:.3f}; "
              f"the network's perplexity is {abs(lower):.1%} {'lower' if lower >= 0 else 'higher'}")
    if args.json:
        print(json.dumps({"split": None if args.text else args.split, "text": args.text, **result}))
    return 0
