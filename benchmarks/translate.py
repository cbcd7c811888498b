"""The translator against plain torch: speed on the same model, BLEU at equal training time.

Data: Quijote clauses and their "translation" into a made-up language (each word respelled by
fixed rules, the word order reversed: ``benchmarks/translation_data.py``), 1,000 test and 500
validation pairs held out, the rest (17,204) for training.

1. Quality: test BLEU of greedy translations after ``--budget`` seconds of training each,
   recurrente's defaults (``train_translator``) against the PyTorch tutorial's GRU
   encoder-decoder with Bahdanau attention, batched with masks
   (``benchmarks/translate_tutorial.py``). The two train *at the same time*, in two processes
   of one thread each, so that a noisy neighbour slows both alike; each keeps its best weights
   by validation BLEU (evaluation time not counted).
2. Speed, on the same model (GRU, hidden 128, one direction, additive attention, no input
   feeding, the tutorial's sizes), one thread, the contenders interleaved: training target
   tokens/s of recurrente's trainer (length buckets) against the tutorial loop (shuffled
   batches), and greedy decoding sentences/s of ``decode_ids`` (batches sorted by length)
   against the tutorial's batched greedy loop (batches in file order), with end-of-sentence
   disabled on both sides so that both write ``round(1.5 · |source| + 10)`` tokens: the count
   of steps does not then depend on how far each model has trained.

    python -m benchmarks.translate [--budget 90] [--skip-speed]
"""

import argparse
import json
import multiprocessing
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import torch

from benchmarks.common import RESULTS, interleaved, write_json
from benchmarks.translation_data import quijote_pairs, write_pairs

HELD_OUT = {"test": 1000, "valid": 500}


def make_files(folder: Path, limit=None) -> dict:
    """train/valid/test TSV files: distinct pairs held out, none of them in training."""
    pairs = quijote_pairs()[:limit]
    distinct = list(dict.fromkeys(pairs))
    n_test, n_valid = HELD_OUT["test"], HELD_OUT["valid"]
    test, valid = distinct[:n_test], distinct[n_test:n_test + n_valid]
    held = set(test) | set(valid)
    train = [p for p in pairs if p not in held]
    return {name: str(write_pairs(rows, folder / f"{name}.tsv"))
            for name, rows in (("train", train), ("valid", valid), ("test", test))}


def encoded(files: dict, **options):
    """The splits encoded with recurrente's vocabularies (the tutorial reads the same ids)."""
    from recurrente.tasks.seq2seq.data import build_vocabs, encode, length_filter, read_splits
    from recurrente.tasks.seq2seq.options import TranslatorOptions
    opts = TranslatorOptions(data=files["train"], valid=files["valid"], test=files["test"],
                             **options)
    filtered = {n: length_filter(p, opts) for n, p in read_splits(opts).items()}
    vocabs = build_vocabs(filtered["train"][1], opts)
    return {n: encode(kept, tokens, vocabs) for n, (kept, tokens, _) in filtered.items()}, vocabs


def bleu_of(vocabs, outputs, data) -> dict:
    from recurrente.data.parallel import detokenize
    from recurrente.data.vocab import split_text
    from recurrente.tasks.seq2seq.metrics import corpus_scores
    target = vocabs["target"]
    hyps = [detokenize([target.itos[i] for i in ids], target.split) for ids in outputs]
    refs = [detokenize(split_text(t, target.split, target.lowercase), target.split)
            for _, t in data.pairs]
    return corpus_scores(hyps, refs)


# ----------------------------------------------------------------------------- contenders

def run_ours(files: dict, budget, out: str, seed: int = 0, max_steps=None, **options) -> dict:
    """recurrente's defaults (or ``options``), trained for ``budget`` seconds (or
    ``max_steps``); test scores."""
    torch.set_num_threads(1)
    from recurrente.tasks.seq2seq.inference import score_pairs
    from recurrente.tasks.seq2seq.options import TranslatorOptions
    from recurrente.tasks.seq2seq.task import examples_of, train_translator
    from recurrente.train.run import load_run
    from recurrente.train.config import TrainConfig
    opts = TranslatorOptions(data=files["train"], valid=files["valid"], test=files["test"],
                             **options, train=TrainConfig(time_budget=budget,
                                                          max_steps=max_steps, seed=seed))
    started = time.perf_counter()
    summary = train_translator(opts, out, progress=False, log=lambda *a: None)
    run = load_run(out, task="translate")
    test = examples_of(run, "test")
    greedy, beam = (score_pairs(run.model, test, beam=k) for k in (1, 5))
    return {"steps": summary["steps"], "train_seconds": summary["train_seconds"],
            "wall_seconds": time.perf_counter() - started,
            "tokens_per_s": summary["items_per_s"], "valid_bleu": summary.get("valid_bleu"),
            "test_bleu": greedy["bleu"], "test_chrf": greedy["chrf"],
            "test_bleu_beam5": beam["bleu"], "test_chrf_beam5": beam["chrf"],
            "describe": run.model.describe(), "options": options}


def run_tutorial(files: dict, budget: float, seed: int = 0) -> dict:
    """The tutorial recipe for ``budget`` seconds; test scores of its greedy decoding."""
    torch.set_num_threads(1)
    from benchmarks.translate_tutorial import Tutorial, decode, train_for
    data, vocabs = encoded(files)
    bos, eos = vocabs["target"].bos_id, vocabs["target"].eos_id
    torch.manual_seed(seed)
    model = Tutorial(len(vocabs["source"]), len(vocabs["target"]))
    started = time.perf_counter()
    score = lambda m: bleu_of(vocabs, decode(m, data["valid"].sources, bos, eos),  # noqa
                              data["valid"])["bleu"]
    result = train_for(model, data["train"], budget, bos, eos, score, seed=seed)
    test = bleu_of(vocabs, decode(model, data["test"].sources, bos, eos), data["test"])
    return {**result, "wall_seconds": time.perf_counter() - started,
            "test_bleu": test["bleu"], "test_chrf": test["chrf"]}


def side_by_side(jobs: dict) -> dict:
    """``{name: (function, args)}`` run at the same time, one process each."""
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=len(jobs), mp_context=context) as pool:
        futures = {name: pool.submit(fn, *args) for name, (fn, args) in jobs.items()}
        return {name: f.result() for name, f in futures.items()}


# ----------------------------------------------------------------------------- speed

TUTORIAL_LIKE = dict(cell="gru", hidden=128, embedding=128, bidirectional=False,
                     attention="additive", input_feeding=False, dropout=0.1,
                     label_smoothing=0.0, batch_size=32)


def speed(files: dict, steps: int, repeats: int) -> dict:
    """Training tokens/s and greedy sentences/s, the same model on both sides."""
    from benchmarks.translate_tutorial import Tutorial, decode, train_step
    from recurrente.tasks.seq2seq.inference import decode_ids
    from recurrente.tasks.seq2seq.options import TranslatorOptions
    from recurrente.tasks.seq2seq.task import build, prepare
    from recurrente.train.config import TrainConfig
    from recurrente.train.trainer import Trainer
    torch.set_num_threads(1)
    opts = TranslatorOptions(data=files["train"], valid=files["valid"], test=files["test"],
                             **TUTORIAL_LIKE, train=TrainConfig(max_steps=10 ** 9, lr=1e-3))
    prepared = prepare(opts)
    data, vocabs = prepared.extra["encoded"], prepared.vocabs
    bos, eos = vocabs["target"].bos_id, vocabs["target"].eos_id
    torch.manual_seed(0)
    ours = build(opts, prepared)
    theirs = Tutorial(len(vocabs["source"]), len(vocabs["target"]))
    trainer = Trainer(ours, prepared.batches, opts.train)
    batches = iter(_forever(prepared.batches))
    optimizer = torch.optim.Adam(theirs.parameters(), lr=1e-3)
    rng = np.random.default_rng(0)
    counts = {"recurrente": 0, "tutorial": 0}

    def train_ours():
        for _ in range(steps):
            counts["recurrente"] += trainer.train_step(next(batches))["tokens"]

    def train_theirs():
        for _ in range(steps):
            idx = rng.choice(len(data["train"]), 32, replace=False)
            counts["tutorial"] += train_step(theirs, optimizer, data["train"], idx, bos, eos)
    times = interleaved({"recurrente": train_ours, "tutorial": train_theirs}, repeats)
    train_rate = {k: counts[k] / repeats / times[k] for k in times}
    sources = data["test"].sources[:500]
    # Neither model may stop early (ours never writes <pad>, made its eos here; the tutorial's
    # eos is -1): both decode round(1.5 · |source| + 10) steps, whatever their training.
    ours._config["eos_id"] = vocabs["target"].pad_id
    decode_times = interleaved({"recurrente": lambda: decode_ids(ours, sources),
                                "tutorial": lambda: decode(theirs, sources, bos, -1)},
                               max(2, repeats // 2))
    ours._config["eos_id"] = eos
    return {"train_tokens_per_s": train_rate,
            "train_ratio": train_rate["recurrente"] / train_rate["tutorial"],
            "decode_sentences_per_s": {k: len(sources) / v for k, v in decode_times.items()},
            "decode_ratio": decode_times["tutorial"] / decode_times["recurrente"],
            "model": ours.describe(), "steps_per_unit": steps, "repeats": repeats}


def _forever(batches):
    epoch = 0
    while True:
        yield from batches.epoch(epoch)
        epoch += 1


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--budget", type=float, default=90.0, help="training seconds each")
    parser.add_argument("--pairs", type=int, default=None, help="use the first N pairs only")
    parser.add_argument("--skip-speed", action="store_true")
    parser.add_argument("--skip-quality", action="store_true")
    parser.add_argument("--speed-steps", type=int, default=10)
    parser.add_argument("--speed-repeats", type=int, default=6)
    args = parser.parse_args()
    report = {"budget": args.budget}
    with tempfile.TemporaryDirectory() as tmp:
        files = make_files(Path(tmp), args.pairs)
        report["pairs"] = {k: sum(1 for _ in open(v, encoding="utf-8")) for k, v in files.items()}
        print("pairs:", report["pairs"], flush=True)
        if not args.skip_quality:
            results = side_by_side({"recurrente": (run_ours, (files, args.budget, f"{tmp}/ours")),
                                    "tutorial": (run_tutorial, (files, args.budget))})
            report["quality"] = results
            for name, r in results.items():
                print(f"{name:<11} {r['steps']:>6} steps in {r['train_seconds']:.0f} s "
                      f"({r['tokens_per_s']:,.0f} tok/s): test BLEU {r['test_bleu']:.2f}, "
                      f"chrF {r['test_chrf']:.2f}", flush=True)
            print(f"recurrente beam 5: test BLEU {results['recurrente']['test_bleu_beam5']:.2f}")
        if not args.skip_speed:
            report["speed"] = s = speed(files, args.speed_steps, args.speed_repeats)
            print(f"training on the same model ({s['model']}): "
                  + ", ".join(f"{k} {v:,.0f} tok/s" for k, v in s["train_tokens_per_s"].items())
                  + f" ({s['train_ratio']:.2f}x)")
            print("greedy decoding: " + ", ".join(
                f"{k} {v:,.0f} sentences/s" for k, v in s["decode_sentences_per_s"].items())
                + f" ({s['decode_ratio']:.2f}x)")
    previous = RESULTS / "translate.json"
    if previous.exists():  # a skipped section keeps the previous run's numbers
        kept = json.loads(previous.read_text())
        report = {**{k: kept[k] for k in ("quality", "speed") if k in kept}, **report}
    path = write_json("translate", report)
    print(f"wrote {path}")
    print(json.dumps(report)[:200] + " ...")


if __name__ == "__main__":
    main()
