"""The tagger's command line: ``recurrente tag train|eval|predict``, a tag for every word
(named entities, many-to-many). Its flags and printers; :mod:`recurrente.cli.task_cmd` builds the
command from them.
"""

import json
import sys

from recurrente.cli.checks import BATCH, BEAM, COLUMN, COUNT, RATE, TOKENS
from recurrente.cli.common import add_line_limit, line_batches, model_flags

EXAMPLE = """examples:
  recurrente tag train esp.train --valid esp.testa --test esp.testb --encoding latin-1 --out runs/ner
  RECURRENTE_DATA=~/data recurrente tag train conll2002-es --out runs/ner-es --time-budget 1200
  recurrente tag eval runs/ner --data esp.testb --encoding latin-1
  echo "Miguel de Cervantes nació en Alcalá de Henares." | recurrente tag predict runs/ner
  recurrente tag predict runs/ner sentences.txt --json --nbest 3"""

DATA_FLAGS = {
    "--valid": (str, "validation file (default: sentences held out of DATA)"),
    "--test": (str, "test file (default: sentences held out of DATA)"),
    "--word-column": (COLUMN, "column of the words, from 0; negative counts from the end "
                              "(default 0)"),
    "--tag-column": (COLUMN, "column of the tags (default -1: the last)"),
    "--encoding": (str, "text encoding of the files (default utf-8; CoNLL-2002: latin-1)"),
    "--scheme": (str, "the files' tag scheme: IOB1, BIO or BIOES (default BIO)"),
    "--tag-scheme": (str, "the scheme the model predicts in (default: the files')"),
    "--min-freq": (COUNT, "words seen fewer times in training become <unk> (default 1)"),
    "--vocab-size": (COUNT, "cap on the word vocabulary (most frequent kept)"),
    "--vectors": (str, "pretrained word vectors, word2vec or GloVe text format"),
}
MODEL_FLAGS = model_flags(
    cells="lstm, gru, rnn, mingru, minlstm, slstm or mlstm",
    embedding="word embedding size (default 100, or the vectors')",
    after_embedding={
        "--chars": (str, "the words' letters through lstm, cnn or none (default lstm)"),
        "--head": (str, "crf or softmax (default crf)")},
    dropout="dropout on the word vectors and outputs (default 0.5)",
    after_dropout={"--word-dropout": (RATE, "probability of reading a word seen once as <unk> "
                                            "in training (default 0.5)")},
    batch_size="sentences per batch (default 16)")
MAX_TOKENS = 1000  # tokens of one sentence tag predict reads (--max-len)
SWITCHES = {"--unidirectional": "read left to right only (default: both directions)",
            "--lowercase": "lower-case the words (the letters keep their case)"}


HELP = "tag words (named entities): train, eval, predict"
DATA_HELP = ("a CoNLL file (one token a line, a blank line between sentences) or a dataset name "
             "(conll2002-es, conll2002-nl)")
VERBS = {"train": "train a tagger on CoNLL files",
         "eval": "entity precision, recall and F1 of a trained run",
         "predict": "tag sentences, one per line (a file or stdin)"}


def add_eval_arguments(e) -> None:
    e.add_argument("run_dir", metavar="RUN")
    where = e.add_mutually_exclusive_group()
    where.add_argument("--data", help="a CoNLL file to score (default: the run's test split)")
    where.add_argument("--split", default="test", help="train, valid or test (default test)")
    e.add_argument("--encoding", default=None, help="encoding of --data (default: the run's)")
    e.add_argument("--output", help="also write token, gold and predicted tags (conlleval's "
                                    "input) to this file")
    e.add_argument("--device", default="auto", help="auto, cpu or cuda (default auto)")
    e.add_argument("--json", action="store_true", help="print one JSON object")


def add_predict_arguments(r) -> None:
    r.add_argument("run_dir", metavar="RUN")
    r.add_argument("input", nargs="?", default="-",
                   help="a text file, one sentence per line, or - for stdin (default)")
    r.add_argument("--tokenized", action="store_true",
                   help="the sentences are already tokens separated by spaces")
    r.add_argument("--nbest", type=BEAM, default=1, help="the k best tag sequences (CRF)")
    r.add_argument("--json", action="store_true", help="one JSON object per sentence, with "
                                                       "character offsets and scores")
    r.add_argument("--encoding", default="utf-8", help="encoding of the input (default utf-8)")
    r.add_argument("--batch-size", type=BATCH, default=64, help="sentences at once (default 64)")
    r.add_argument("--max-len", type=TOKENS, default=MAX_TOKENS,
                   help=f"tokens per sentence: a longer one is refused, with its line number "
                        f"(default {MAX_TOKENS})")
    add_line_limit(r)
    r.add_argument("--device", default="auto", help="auto, cpu or cuda (default auto)")


def run_eval(args) -> int:
    from recurrente.data import conll
    from recurrente.data.schemes import scheme_name
    from recurrente.tasks.tag.inference import evaluate_encoded, tag_encoded
    from recurrente.tasks.tag.metrics import table
    from recurrente.tasks.tag.task import SPEC, examples_of
    from recurrente.train.run import load_run
    run = load_run(args.run_dir, device=args.device, task=SPEC.name)
    data = examples_of(run, getattr(args, "split", "test"), args.data, args.encoding)
    opts = run.options
    result = evaluate_encoded(run.model, data, scheme_name(opts.tag_scheme or opts.scheme),
                              report=True)
    if getattr(args, "output", None):
        paths = tag_encoded(run.model, data, with_loss=False)[0]
        tags = run.model.tags
        sentences = [conll.Sentence(t, [tags[i] for i in g]) for t, g in zip(data.tokens,
                                                                              data.tags)]
        conll.write_conll(args.output, sentences, [[tags[i] for i in p] for p in paths])
    if args.json:
        print(json.dumps(result))
        return 0
    what = args.data or f"{getattr(args, 'split', 'test')} split"
    print(f"{what}: {result['sentences']:,} sentences, entity F1 {result['f1']:.4f} (precision "
          f"{result['precision']:.4f}, recall {result['recall']:.4f}), token accuracy "
          f"{result['token_accuracy']:.4f}")
    print(table(result))
    return 0


def run_predict(args) -> int:
    from recurrente.errors import UserError, check_positive
    from recurrente.tasks.tag.inference import inline
    from recurrente.data.sentences import pretokenized, tokenize
    check_positive({"--nbest": getattr(args, "nbest", 1), "--batch-size": args.batch_size})
    from recurrente.tasks.tag.task import SPEC
    from recurrente.train.run import load_run
    model = load_run(args.run_dir, device=args.device, task=SPEC.name).model  # says whose run it is
    nbest, tokenized = getattr(args, "nbest", 1), getattr(args, "tokenized", False)
    limit, done = getattr(args, "max_len", MAX_TOKENS), 0
    for lines in line_batches(args.input, args.encoding, args.batch_size,
                              getattr(args, "max_chars", None)):
        inputs = [(pretokenized if tokenized else tokenize)(line) for line in lines]
        for k, tokens in enumerate(inputs, done + 1):
            if len(tokens) > limit:
                raise UserError(f"line {k} has {len(tokens):,} tokens, over the limit of "
                                f"{limit:,} (--max-len)")
        done += len(lines)
        for line, result in zip(lines, model.predict(inputs, nbest=nbest,
                                                     batch_size=args.batch_size)):
            if args.json:
                print(json.dumps({"text": line, **result.to_dict()}, ensure_ascii=False))
            else:
                print(inline(result.tokens, result.entities))
        sys.stdout.flush()
    return 0
