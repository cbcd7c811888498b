"""Teacher forcing against scheduled sampling for a language model, at equal training time,
scored on the model's own samples.

Letters of the Quijote (``../shared/data/quijote.txt``); recurrente's default character model
trained ``--budget`` seconds with teacher forcing, and again with ``--scheduled-sampling linear``
(``ε`` falling to ``--floor`` over the run). Exposure bias shows in free-running text, so each
model writes ``--samples`` streams of ``--length`` letters at temperature 1 (fixed seed), and
the samples are scored by a measure neither model trained: the cross-entropy, in bits per
letter, of a 5-gram interpolated Kneser-Ney model fitted on the same training text (how much
the samples read like the Quijote, locally: lower is better; the n-gram's own bits per letter
on held-out text is printed as the floor a sample of real text gets). Because a model that
loops on a few frequent words can score well on that alone, the share of distinct 4-grams among
the samples' 4-grams is printed beside it (real text: the same share computed on held-out text).
Held-out bits per letter (teacher-forced, the usual measure) are printed too.

    python -m benchmarks.lm_teacher_forcing [--budget 60] [--floor 0.75]
"""

import argparse
import math
import tempfile
from pathlib import Path

import numpy as np

from benchmarks.common import EARLIER_LM_TRAINING, write_json
from recurrente.tasks.lm.data import prepare_data
from recurrente.tasks.lm.options import LMOptions, lm_train_config
from recurrente.tasks.lm.inference import evaluate_stream, generate_batch
from recurrente.tasks.lm.ngram import KneserNey
from recurrente.tasks.lm.task import train_language_model
from recurrente.train.run import load_run

QUIJOTE = Path(__file__).resolve().parents[2] / "shared" / "data" / "quijote.txt"


def distinct(ids, n: int = 4) -> float:
    grams = [tuple(ids[i:i + n]) for i in range(len(ids) - n + 1)]
    return len(set(grams)) / max(1, len(grams))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--text", type=Path, default=QUIJOTE)
    parser.add_argument("--budget", type=float, default=60.0)
    parser.add_argument("--floor", type=float, default=0.75)
    parser.add_argument("--samples", type=int, default=8)
    parser.add_argument("--length", type=int, default=500)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bench-lm-tf-"))
    runs = {"teacher forcing": {},
            f"scheduled sampling, linear to {args.floor:g}": dict(scheduled_sampling="linear",
                                                                  sampling_k=args.floor)}
    base = dict(corpus=str(args.text), tokenizer="char", hidden=128, layers=2, seq_len=64,
                dropout=0.1)  # the char recipe's dropout when the README's figures were measured
    data = prepare_data(LMOptions(**base))
    train, valid = data.splits["train"], data.splits["valid"]
    ngram = KneserNey.fit(train.tolist(), 5, data.tokenizer.vocab_size)
    real = valid[:args.samples * args.length].tolist()
    floor_bits = ngram.evaluate(real)["loss"] / math.log(2)
    print(f"5-gram Kneser-Ney on held-out real text: {floor_bits:.3f} bits/letter, distinct "
          f"4-grams {distinct(real):.3f}")
    results = {"ngram_real_bits": floor_bits, "real_distinct4": distinct(real)}
    for name, extra in runs.items():
        out = folder / name.split(",")[0].replace(" ", "_")
        summary = train_language_model(
            LMOptions(**base, **extra, train=lm_train_config(time_budget=args.budget,
                                                             **EARLIER_LM_TRAINING)), out,
            progress=False, log=lambda *a: None)
        run = load_run(out, task="lm")
        held = evaluate_stream(run.model, valid[:20000])["loss"] / math.log(2)
        prime = [int(data.tokenizer.stoi["\n"])]
        samples = generate_batch(run.model, [prime] * args.samples, args.length, seed=0,
                                 exclude=[data.tokenizer.unk_id])
        written = [s[1:] for s in samples]
        bits = float(np.mean([ngram.evaluate(prime + s)["loss"] for s in written])) / math.log(2)
        share = float(np.mean([distinct(s) for s in written]))
        results[name] = {"steps": summary["steps"], "valid_bits": held, "sample_bits": bits,
                         "sample_distinct4": share,
                         "sample": data.tokenizer.decode(written[0][:200])}
        print(f"  {name:<36} {summary['steps']:>5} steps; held-out {held:.3f} bits/letter; "
              f"its samples under the 5-gram: {bits:.3f} bits/letter, distinct 4-grams "
              f"{share:.3f}")
    write_json("lm_teacher_forcing", results)


if __name__ == "__main__":
    main()
