"""The regressor's command line: ``recurrente regress train|eval|predict`` (a number per text).

Its flags and printers; :mod:`recurrente.cli.task_cmd` builds the command from them.
"""

import json
import sys

from recurrente.cli.checks import BATCH
from recurrente.cli.common import add_line_limit, line_batches, model_flags, text_table_flags
from recurrente.layers.pooling import POOLINGS

EXAMPLE = """examples:
  recurrente regress train reviews.csv --label-column stars --out runs/stars
  recurrente regress train times.tsv --text-column sentence --label-column seconds --out runs/t
  recurrente regress eval runs/stars                       # the run's own test split
  recurrente regress eval runs/stars --data more_reviews.csv --json
  echo "una película preciosa" | recurrente regress predict runs/stars"""

DATA_FLAGS = text_table_flags(held="", label="column of the numbers to predict (default: "
                                              "guessed: label, target, y, ...)")
MODEL_FLAGS = model_flags(
    cells="lstm, gru, rnn, mingru, minlstm, slstm or mlstm",
    embedding="embedding size (default H)",
    after_embedding={"--pooling": (str, f"{', '.join(POOLINGS)} (default max)")},
    dropout="dropout on embeddings, between layers and on the pooled vector (default 0.3)",
    batch_size="texts per batch (default 32)")
SWITCHES = {"--unidirectional": "read left to right only (default: both directions)",
            "--keep-case": "keep upper case (default: lowercase the texts)"}


HELP = "predict a number per text: train, eval, predict"
DATA_HELP = ("CSV/TSV (header row) or JSON Lines file with a text column and a number column")
VERBS = {"train": "train a regressor on texts with a number each",
         "eval": "RMSE, MAE, R² and Pearson's r of a trained run",
         "predict": "a number per text, one text per line (a file or stdin)"}


def add_eval_arguments(e) -> None:
    e.add_argument("run_dir", metavar="RUN")
    where = e.add_mutually_exclusive_group()
    where.add_argument("--data", help="a file to score (default: the run's test split)")
    where.add_argument("--split", default="test", help="train, valid or test (default test)")
    e.add_argument("--encoding", default="utf-8", help="encoding of --data (default utf-8)")
    e.add_argument("--device", default="auto", help="auto, cpu or cuda (default auto)")
    e.add_argument("--json", action="store_true", help="print one JSON object")


def add_predict_arguments(r) -> None:
    r.add_argument("run_dir", metavar="RUN")
    r.add_argument("input", nargs="?", default="-", help="a text file, one text per line, or - "
                                                          "for stdin (default); a text over the "
                                                          "run's --max-len tokens is cut to it")
    r.add_argument("--json", action="store_true", help="one JSON object per line")
    r.add_argument("--encoding", default="utf-8", help="encoding of the input (default utf-8)")
    r.add_argument("--batch-size", type=BATCH, default=64, help="texts scored at once (default 64)")
    add_line_limit(r)
    r.add_argument("--device", default="auto", help="auto, cpu or cuda (default auto)")


def run_eval(args) -> int:
    from recurrente.tasks.regress.inference import evaluate_examples
    from recurrente.tasks.regress.metrics import as_json, table
    from recurrente.tasks.regress.task import SPEC, examples_of
    from recurrente.train.run import load_run
    run = load_run(args.run_dir, device=args.device, task=SPEC.name)
    examples = examples_of(run, args.split, args.data, args.encoding or "utf-8")
    result = evaluate_examples(run.model, examples, report=True)
    if args.json:
        print(as_json(result))
        return 0
    what = args.data or f"{args.split} split"
    print(f"{what}: {result['examples']:,} texts, loss {result['loss']:.4f}, RMSE "
          f"{result['rmse']:.4g}, R² {result['r2']:.4f}"
          + (f" ({examples.truncated} cut to --max-len)" if examples.truncated else ""))
    print(table(result))
    return 0


def run_predict(args) -> int:
    from recurrente.errors import check_positive
    check_positive({"--batch-size": args.batch_size})
    from recurrente.tasks.regress.task import SPEC
    from recurrente.train.run import load_run
    model = load_run(args.run_dir, device=args.device, task=SPEC.name).model  # says whose run it is
    cut = 0
    for lines in line_batches(args.input, args.encoding, args.batch_size,
                              getattr(args, "max_chars", None)):
        long = sum(len(model.vocabs["source"].tokens(line)) > model.max_len for line in lines)
        if long and not cut:
            print(f"note: texts longer than the run's --max-len {model.max_len} tokens are cut "
                  f"to it", file=sys.stderr)
        cut += long
        for text, result in zip(lines, model.predict(lines, batch_size=args.batch_size)):
            if args.json:
                print(json.dumps({"text": text, **result.to_dict()}, ensure_ascii=False))
            else:
                print(f"{result.value:.6g}")
        sys.stdout.flush()  # stdin streams: each batch is answered before the next is read
    return 0
