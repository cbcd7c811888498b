"""The classifier's command line: ``recurrente classify train|eval|predict`` (many-to-one).

Its flags and printers; :mod:`recurrente.cli.task_cmd` builds the command from them.
"""

import json
import sys

from recurrente.cli.checks import BATCH, COUNT
from recurrente.cli.common import add_line_limit, line_batches, model_flags, text_table_flags
from recurrente.layers.pooling import POOLINGS

EXAMPLE = """examples:
  recurrente classify train reviews.csv --out runs/reviews          # columns guessed by name
  recurrente classify train data.tsv --text-column review --label-column stars --out runs/r
  recurrente classify train corpus/ --out runs/topics   # corpus/<class>/*.txt
  recurrente classify train sst2 --out runs/sst2 --time-budget 600
  recurrente classify eval runs/reviews --data more_reviews.csv --png confusion.png
  echo "una película preciosa" | recurrente classify predict runs/reviews --top-k 2"""

DATA_FLAGS = {
    **text_table_flags(held=", stratified",
                       label="column of the labels (default: guessed: label, class, ...)"),
    "--vectors": (str, "pretrained word vectors, word2vec or GloVe text format"),
}
MODEL_FLAGS = model_flags(
    cells="lstm, gru, rnn, mingru, minlstm, slstm or mlstm",
    embedding="embedding size (default H, or the vectors' size)",
    after_embedding={"--pooling": (str, f"{', '.join(POOLINGS)} (default max)")},
    dropout="dropout on embeddings, between layers and on the pooled vector (default 0.3)",
    batch_size="texts per batch (default 32)")
SWITCHES = {"--unidirectional": "read left to right only (default: both directions)",
            "--keep-case": "keep upper case (default: lowercase the texts)"}


HELP = "classify texts: train, eval, predict"
DATA_HELP = ("CSV/TSV (header row) or JSON Lines file, a folder with one sub-folder of .txt files "
             "per class, or a dataset name (sst2)")
VERBS = {"train": "train a classifier on labelled texts",
         "eval": "accuracy, F1 and confusion matrix of a trained run",
         "predict": "label texts, one per line (a file or stdin)"}


def add_eval_arguments(e) -> None:
    e.add_argument("run_dir", metavar="RUN")
    where = e.add_mutually_exclusive_group()
    where.add_argument("--data", help="a labelled file to score (default: the run's test split)")
    where.add_argument("--split", default="test", help="train, valid or test (default test)")
    e.add_argument("--encoding", default="utf-8", help="encoding of --data (default utf-8)")
    e.add_argument("--png", help="also draw the confusion matrix into this PNG file")
    e.add_argument("--device", default="auto", help="auto, cpu or cuda (default auto)")
    e.add_argument("--json", action="store_true", help="print one JSON object")


def add_predict_arguments(r) -> None:
    r.add_argument("run_dir", metavar="RUN")
    r.add_argument("input", nargs="?", default="-", help="a text file, one text per line, or - "
                                                          "for stdin (default); a text over the "
                                                          "run's --max-len tokens is cut to it")
    r.add_argument("--top-k", type=COUNT, default=1, help="show the k most likely labels")
    r.add_argument("--json", action="store_true", help="one JSON object per line")
    r.add_argument("--encoding", default="utf-8", help="encoding of the input (default utf-8)")
    r.add_argument("--batch-size", type=BATCH, default=64, help="texts scored at once (default 64)")
    add_line_limit(r)
    r.add_argument("--device", default="auto", help="auto, cpu or cuda (default auto)")


def run_eval(args) -> int:
    from recurrente.tasks.classify.inference import evaluate_examples
    from recurrente.tasks.classify.metrics import as_json, plot_confusion, table
    from recurrente.tasks.classify.task import SPEC, examples_of
    from recurrente.train.run import load_run
    run = load_run(args.run_dir, device=args.device, task=SPEC.name)
    examples = examples_of(run, args.split, args.data, args.encoding or "utf-8")
    labels = run.vocabs["labels"].itos
    result = evaluate_examples(run.model, examples, report=True)
    what = args.data or f"{args.split} split"
    if args.png:
        plot_confusion(result, labels, args.png, title=f"{what}: accuracy "
                       f"{result['accuracy']:.3f}, macro F1 {result['macro_f1']:.3f}")
    if args.json:
        print(as_json(result, labels))
        return 0
    print(f"{what}: {result['examples']:,} texts, loss {result['loss']:.4f}, accuracy "
          f"{result['accuracy']:.4f}, macro F1 {result['macro_f1']:.4f}"
          + (f" ({examples.truncated} cut to --max-len)" if examples.truncated else ""))
    print(table(result, labels))
    return 0


def run_predict(args) -> int:
    from recurrente.errors import check_positive
    check_positive({"--top-k": args.top_k, "--batch-size": args.batch_size})
    from recurrente.tasks.classify.task import SPEC
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
        for text, result in zip(lines, model.predict(lines, top_k=args.top_k)):
            if args.json:
                print(json.dumps({"text": text, **result.to_dict()}, ensure_ascii=False))
            elif args.top_k == 1:
                print(f"{result.label}\t{result.probability:.4f}")
            else:
                print("\t".join(f"{label} {p:.4f}" for label, p in result.top))
        sys.stdout.flush()  # stdin streams: each batch is answered before the next is read
    return 0
