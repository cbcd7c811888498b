"""The translator's command line: ``recurrente translate train|eval|predict``, sentence to
sentence (encoder-decoder). Its flags and printers; :mod:`recurrente.cli.task_cmd` builds the
command from them.
"""

import json
import sys

from recurrente.cli.checks import (BATCH, BEAM, COUNT, NON_NEGATIVE, PROBABILITY, RATE, SEED,
                                   TOKENS, TOP_P, number)
from recurrente.cli.common import add_line_limit, line_batches, model_flags

EXAMPLE = """examples:
  recurrente translate train spa.txt --out runs/es-en --reverse     # Tatoeba: English<TAB>Spanish
  recurrente translate train --source train.es --target train.en --out runs/es-en
  recurrente translate train pairs.tsv --out runs/ss --scheduled-sampling linear --sampling-k 0.5
  recurrente translate eval runs/es-en                  # the held-out test pairs saved with the run
  echo "¿Dónde está la biblioteca?" | recurrente translate predict runs/es-en --beam 5
  recurrente translate predict runs/es-en frases.txt --beam 5 --nbest 3 --json
  recurrente translate predict runs/es-en frases.txt --attention attention.png"""

DATA_FLAGS = {
    "--source": (str, "a file of source sentences, one a line (with --target, instead of DATA)"),
    "--target": (str, "a file of their translations, aligned by line with --source"),
    "--valid": (str, "validation pairs, tab-separated (default: held out of DATA)"),
    "--test": (str, "test pairs, tab-separated (default: held out of DATA)"),
    "--encoding": (str, "text encoding of the files (default utf-8)"),
    "--tokenizer": (str, "word (Unicode words and punctuation) or char (default word)"),
    "--min-freq": (COUNT, "words seen fewer times in training become <unk> (default 1)"),
    "--vocab-size": (COUNT, "cap on each vocabulary (most frequent kept)"),
    "--max-len": (TOKENS, "leave out pairs with a side longer than this many tokens; also the "
                          "longest sentence predict accepts (default 50)"),
}
AFTER_DROPOUT = {  # the translator's own model flags, between --dropout and --batch-size
    "--label-smoothing": (RATE, "label smoothing of the training loss (default 0.1)"),
    "--teacher-forcing": (PROBABILITY, "probability of feeding the decoder the gold previous "
                                       "token in training, per token (default 1: teacher "
                                       "forcing)"),
    "--scheduled-sampling": (str, "linear, exponential or inverse_sigmoid: a gold-token "
                                  "probability decaying over training (Bengio et al. 2015)"),
    "--sampling-k": (NON_NEGATIVE, "the schedule's k: linear's floor (default 0), exponential's "
                                   "base (e.g. 0.999), inverse_sigmoid's steepness in steps "
                                   "(e.g. 200)"),
    "--sampling-steps": (COUNT, "the step at which linear reaches its floor (default: the end of "
                                "the run)"),
}
MODEL_FLAGS = model_flags(
    cells="lstm, gru, rnn, mingru, minlstm, slstm or mlstm",
    layers="stacked layers of the encoder and of the decoder (default 1)",
    hidden="decoder size H; a bidirectional encoder has H/2 per direction (default 128)",
    embedding="embedding size of both sides (default H)",
    after_embedding={"--attention": (str, "none, dot, general (Luong) or additive (Bahdanau) "
                                          "(default general)")},
    dropout="dropout on embeddings, between layers and before the output (default 0.2)",
    after_dropout=AFTER_DROPOUT, batch_size="pairs per batch (default 32)")
LENGTH_PENALTY = number(0, 10)  # α of length^α
LEN_A, LEN_B = number(0, 100), number(0, 10000)  # output tokens: round(a·|source| + b), capped
SWITCHES = {"--reverse": "translate from the second column to the first",
            "--lowercase": "lower-case both sides",
            "--unidirectional": "a left-to-right encoder (default: both directions)",
            "--no-input-feeding": "do not feed the attentional vector back into the decoder",
            "--tie-embeddings": "use the target embeddings as the output layer's weights"}


HELP = "translate sentences: train, eval, predict"
DATA_HELP = ("sentence pairs, one a line: source<TAB>target (Tatoeba/Anki format; further columns "
             "ignored)")
VERBS = {"train": "train an encoder-decoder on sentence pairs",
         "eval": "BLEU and chrF of greedy and beam output",
         "predict": "translate sentences, one per line (a file or stdin)"}


def _search_arguments(p, beam_default: int) -> None:
    p.add_argument("--beam", type=BEAM, default=beam_default,
                   help=f"beam size; 1 is greedy search (default {beam_default})")
    p.add_argument("--length-penalty", type=LENGTH_PENALTY, default=1.0,
                   help="rank beams by log-probability / length^α (default α = 1)")
    p.add_argument("--max-len-a", type=LEN_A, default=1.5,
                   help="at most round(a·|source| + b) output tokens, and never more than "
                        "2·--max-len + 10 (default a = 1.5)")
    p.add_argument("--max-len-b", type=LEN_B, default=10.0, help="(default b = 10)")
    p.add_argument("--max-len", type=TOKENS, default=None,
                   help="tokens per sentence: a longer source is refused, with its line number "
                        "(default: the run's --max-len)")
    p.add_argument("--batch-size", type=BATCH, default=64, help="sentences at once (default 64)")
    p.add_argument("--device", default="auto", help="auto, cpu or cuda (default auto)")
    p.add_argument("--json", action="store_true", help="machine-readable output")


def add_eval_arguments(e) -> None:
    e.add_argument("run_dir", metavar="RUN")
    where = e.add_mutually_exclusive_group()
    where.add_argument("--data", help="tab-separated pairs to score (default: the run's test "
                                      "split)")
    where.add_argument("--split", default="test", help="valid or test (default test)")
    e.add_argument("--encoding", default=None, help="encoding of --data (default: the run's)")
    e.add_argument("--output", help="also write the beam translations, one per line, here")
    _search_arguments(e, beam_default=5)


def add_predict_arguments(r) -> None:
    r.add_argument("run_dir", metavar="RUN")
    r.add_argument("input", nargs="?", default="-",
                   help="a text file, one sentence per line (a line source<TAB>... is read up "
                        "to its tab), or - for stdin (default)")
    r.add_argument("--nbest", type=BEAM, default=1, help="the n best translations (beam search)")
    r.add_argument("--sample", action="store_true", help="draw translations instead of searching")
    r.add_argument("--temperature", type=NON_NEGATIVE, default=1.0,
                   help="with --sample (default 1)")
    r.add_argument("--top-k", type=COUNT, default=None, help="with --sample: the k likeliest only")
    r.add_argument("--top-p", type=TOP_P, default=None, help="with --sample: nucleus mass p")
    r.add_argument("--seed", type=SEED, default=None, help="with --sample: reproducible draws")
    r.add_argument("--attention", metavar="PNG", help="draw the attention weights of the first "
                                                      "sentence's translation into this PNG")
    r.add_argument("--encoding", default="utf-8", help="encoding of the input (default utf-8)")
    add_line_limit(r)
    _search_arguments(r, beam_default=1)


def _search(args) -> dict:
    """The decoding options of ``args`` (the top-level eval/predict commands lack some)."""
    return {"length_penalty": getattr(args, "length_penalty", 1.0),
            "max_len_a": getattr(args, "max_len_a", 1.5),
            "max_len_b": getattr(args, "max_len_b", 10.0)}


def run_eval(args) -> int:
    from recurrente.errors import check_positive
    from recurrente.tasks.seq2seq.inference import check_search, output_cap, pair_loss, score_pairs
    from recurrente.tasks.seq2seq.metrics import require_sacrebleu, sentence_table
    from recurrente.tasks.seq2seq.task import SPEC, examples_of
    from recurrente.train.run import load_run
    require_sacrebleu()
    beam, batch_size = getattr(args, "beam", 5), getattr(args, "batch_size", 64)
    check_search(beam, 1, _search(args))
    check_positive({"--batch-size": batch_size})
    run = load_run(args.run_dir, device=args.device, task=SPEC.name)
    split = getattr(args, "split", "test")
    data = examples_of(run, split, args.data, args.encoding, getattr(args, "max_len", None))
    loss, count = pair_loss(run.model, data, batch_size)
    search = {**_search(args), "cap": output_cap(run.model, getattr(args, "max_len", None))}
    rows = [{"name": "greedy", **score_pairs(run.model, data, 1, batch_size, **search)}]
    if beam > 1:
        rows.append({"name": f"beam {beam}",
                     **score_pairs(run.model, data, beam, batch_size, **search)})
    if getattr(args, "output", None):
        from recurrente.io import atomic_write_text
        atomic_write_text(args.output, "".join(h + "\n" for h in rows[-1]["hypotheses"]))
    summary = {"pairs": len(data), "loss": loss / max(1, count),
               **{row["name"]: {k: row[k] for k in ("bleu", "chrf", "exact")} for row in rows}}
    if args.json:
        print(json.dumps({"data": args.data, "split": None if args.data else split, **summary}))
        return 0
    what = args.data or f"{split} split"
    print(f"{what}: {len(data):,} pairs, loss {summary['loss']:.4f} nats/token")
    print(sentence_table(rows))
    return 0


def run_predict(args) -> int:
    from recurrente.errors import UserError, check_positive
    from recurrente.tasks.seq2seq.inference import check_search
    beam, nbest = getattr(args, "beam", 1), getattr(args, "nbest", 1)
    options = {**_search(args), "sample": getattr(args, "sample", False),
               "temperature": getattr(args, "temperature", 1.0),
               "top_k": getattr(args, "top_k", None), "top_p": getattr(args, "top_p", None),
               "seed": getattr(args, "seed", None)}
    check_search(beam, nbest, options)
    check_positive({"--batch-size": args.batch_size})
    from recurrente.tasks.seq2seq.task import SPEC
    from recurrente.train.run import load_run
    model = load_run(args.run_dir, device=args.device, task=SPEC.name).model  # says whose run it is
    picture, done = getattr(args, "attention", None), 0
    for lines in line_batches(args.input, args.encoding, args.batch_size,
                              getattr(args, "max_chars", None)):
        sources = [line.split("\t")[0] for line in lines]
        try:
            results = model.translate(sources, beam=beam, nbest=nbest, batch_size=args.batch_size,
                                      max_len=getattr(args, "max_len", None), **options)
        except UserError as e:  # "sentence 3 has ..." -> the line of the input
            raise UserError(_shift(str(e), done)) from None
        for source, result in zip(sources, results):
            _print(source, result, nbest, args.json)
        if picture and done == 0 and sources:
            _draw(model, sources[0], picture, getattr(args, "max_len", None),
                  1 if options["sample"] else beam, options)
        done += len(lines)
        sys.stdout.flush()  # stdin streams: each batch is answered before the next is read
    return 0


def _shift(message: str, done: int) -> str:
    """``sentence N`` of a batch as ``line N + done`` of the input."""
    import re
    return re.sub(r"^sentence (\d+)", lambda m: f"line {int(m.group(1)) + done}", message)


def _print(source: str, result, nbest: int, as_json: bool) -> None:
    if as_json:
        print(json.dumps({"source": source, **result.to_dict()}, ensure_ascii=False))
    elif nbest == 1:
        print(result.text)
    else:
        print("\t".join(t if s is None else f"{t} ({s:.3f})" for t, s in result.nbest))


def _draw(model, sentence: str, path: str, max_len, beam: int, options: dict) -> None:
    """The attention of the first sentence's output (searched again, as it was: greedy or beam;
    a sampled output is drawn as its greedy one)."""
    from recurrente.tasks.seq2seq.inference import (decode_ids, encode_sources, output_cap,
                                                    plot_attention)
    ids = encode_sources(model, [sentence], max_len)[0]
    if ids is None:
        return
    tokens = decode_ids(model, [ids], beam=beam, length_penalty=options["length_penalty"],
                        max_len_a=options["max_len_a"], max_len_b=options["max_len_b"],
                        cap=output_cap(model, max_len))[0][0][0]
    plot_attention(model, sentence, tokens, path, max_len)
    print(f"wrote the attention of line 1 to {path}", file=sys.stderr)
