"""The classifier against plain torch: speed on the same model, accuracy at equal training time.

Real text: sentences of the Quijote (``../shared/data/quijote.txt``, or ``--text FILE``), each
either as Cervantes wrote it (label ``original``) or with its words shuffled (``barajada``),
never both. A bag of words cannot tell the two apart: only word order can.

1. Speed (the same BiLSTM, max pooling, native kernels, same batches of B sentences): training
   sentences/s of recurrente's trainer (length buckets, ``lengths=``) against a plain loop with
   ``pack_padded_sequence`` on shuffled batches; prediction sentences/s of
   ``SequenceClassifier.predict_ids`` against the plain loop in file order.
2. Quality: test accuracy after ``--budget`` seconds of training each, recurrente's defaults
   (``train_classifier``) against a BiLSTM classifier written like the common tutorials
   (padded batches, max over time, dropout 0.5, Adam at 1e-3, best epoch by validation).

    python -m benchmarks.classify [--budget 60] [--sentences 12000]
"""

import argparse
import csv
import random
import re
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from benchmarks.common import interleaved, write_json
from recurrente.data.padded import pad
from recurrente.tasks.classify.data import encode, read_splits
from recurrente.tasks.classify.options import ClassifierOptions
from recurrente.tasks.classify.task import examples_of, train_classifier
from recurrente.train.run import load_run
from recurrente.train.config import TrainConfig

QUIJOTE = Path(__file__).resolve().parents[2] / "shared" / "data" / "quijote.txt"


def sentences(path: Path, limit: int, seed: int = 0):
    """``(text, label)`` pairs: Quijote sentences of 6 to 40 words, half of them shuffled."""
    from recurrente.data.download import strip_gutenberg
    text = strip_gutenberg(path.read_text(encoding="utf-8-sig").replace("\r\n", "\n"))
    pieces = [" ".join(s.split()) for s in re.split(r"(?<=[.?!;:])\s+", text)]
    pieces = [s for s in pieces if 6 <= len(s.split()) <= 40]
    rng = random.Random(seed)
    rng.shuffle(pieces)
    rows = []
    for s in pieces[:limit]:
        words = s.split()
        if rng.random() < 0.5:
            while words == s.split():
                rng.shuffle(words)
            rows.append((" ".join(words), "barajada"))
        else:
            rows.append((s, "original"))
    return rows


def write_splits(rows, folder: Path) -> dict:
    n = len(rows)
    cuts = {"train": rows[:int(0.8 * n)], "valid": rows[int(0.8 * n):int(0.9 * n)],
            "test": rows[int(0.9 * n):]}
    paths = {}
    for name, part in cuts.items():
        paths[name] = folder / f"{name}.csv"
        with open(paths[name], "w", newline="", encoding="utf-8") as f:
            writer = csv.writer(f)
            writer.writerow(["text", "label"])
            writer.writerows(part)
    return paths


class TutorialBiLSTM(nn.Module):
    """The common tutorial recipe: embed, BiLSTM over the padded batch, max over time."""

    def __init__(self, V, C, E=100, H=128):
        super().__init__()
        self.embedding = nn.Embedding(V, E, padding_idx=0)
        self.lstm = nn.LSTM(E, H, batch_first=True, bidirectional=True)
        self.drop = nn.Dropout(0.5)
        self.fc = nn.Linear(2 * H, C)

    def forward(self, ids):  # ids (B, T)
        out, _ = self.lstm(self.embedding(ids))  # (B, T, 2H)
        return self.fc(self.drop(out.max(dim=1).values))


class PackedBiLSTM(TutorialBiLSTM):
    """The same with ``pack_padded_sequence`` and padding masked out of the max."""

    def forward(self, ids, lengths):  # ids (B, T)
        packed = pack_padded_sequence(self.embedding(ids), lengths, batch_first=True,
                                      enforce_sorted=False)
        out, _ = pad_packed_sequence(self.lstm(packed)[0], batch_first=True,
                                     padding_value=float("-inf"))
        return self.fc(self.drop(out.max(dim=1).values))


def batches_of(examples, B, rng):
    order = rng.permutation(len(examples))
    for s in range(0, len(order), B):
        idx = order[s:s + B]
        ids, lengths = pad([examples.ids[i] for i in idx], 0)
        yield ids.T.contiguous(), lengths, torch.from_numpy(examples.labels[idx])


def accuracy_of(model, examples, packed=False):
    model.eval()
    right = 0
    with torch.no_grad():
        for ids, lengths, y in batches_of(examples, 256, np.random.default_rng(0)):
            logits = model(ids, lengths) if packed else model(ids)
            right += int((logits.argmax(1) == y).sum())
    model.train()
    return right / len(examples)


def tutorial_run(train, valid, test, V, C, budget: float) -> dict:
    """Adam at 1e-3, epochs of shuffled padded batches of 32, best epoch by validation."""
    torch.manual_seed(0)
    model, rng = TutorialBiLSTM(V, C), np.random.default_rng(0)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    spent, best, steps = 0.0, (-1.0, None), 0
    while spent < budget:
        for ids, lengths, y in batches_of(train, 32, rng):
            t0 = time.perf_counter()
            loss = nn.functional.cross_entropy(model(ids), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            spent += time.perf_counter() - t0
            steps += 1
            if spent >= budget:
                break
        acc = accuracy_of(model, valid)
        if acc > best[0]:
            best = (acc, {k: v.clone() for k, v in model.state_dict().items()})
    model.load_state_dict(best[1])
    return {"valid_accuracy": best[0], "test_accuracy": accuracy_of(model, test), "steps": steps}


def speed(train, V, C, batches: int, repeats: int) -> dict:
    """Sentences/s, training and prediction, same model (recurrente's, native) both ways."""
    from recurrente.data.padded import BucketBatches
    from recurrente.tasks.classify.data import collate
    from recurrente.tasks.classify.model import SequenceClassifier
    from recurrente.train.trainer import Trainer
    torch.manual_seed(0)
    ours = SequenceClassifier(V, C, hidden_size=128, embedding_size=100, implementation="native")
    plain = PackedBiLSTM(V, C)
    B = 32
    bucketed = BucketBatches([len(x) for x in train.ids], collate(train, 0), B, seed=0)

    def train_ours():
        config = TrainConfig(max_steps=batches, lr=1e-3, eval_every=10 ** 9, device="cpu")
        Trainer(ours, bucketed, config).fit()

    def train_plain():
        opt = torch.optim.Adam(plain.parameters(), lr=1e-3)
        for _, (ids, lengths, y) in zip(range(batches), batches_of(train, B,
                                                                    np.random.default_rng(0))):
            loss = nn.functional.cross_entropy(plain(ids, lengths), y)
            opt.zero_grad()
            loss.backward()
            opt.step()

    n = min(len(train), 4000)
    subset = type(train)(train.ids[:n], train.labels[:n])
    timings = interleaved({"plain train": train_plain, "recurrente train": train_ours,
                           "plain predict": lambda: accuracy_of(plain, subset, packed=True),
                           "recurrente predict": lambda: ours.predict_ids(subset.ids, 256)},
                          repeats)
    rates = {k: (batches * B if "train" in k else n) / s for k, s in timings.items()}
    return {"sentences_per_s": rates,
            "train_ratio": rates["recurrente train"] / rates["plain train"],
            "predict_ratio": rates["recurrente predict"] / rates["plain predict"]}


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--text", type=Path, default=QUIJOTE)
    parser.add_argument("--sentences", type=int, default=12000)
    parser.add_argument("--budget", type=float, default=60.0)
    parser.add_argument("--batches", type=int, default=60)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--skip-speed", action="store_true")
    parser.add_argument("--variants", default="", help="extra recurrente settings to compare, "
                        "e.g. pooling=attention;pooling=last,bidirectional=False")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bench-classify-"))
    paths = write_splits(sentences(args.text, args.sentences), folder)
    base = dict(data=str(paths["train"]), valid=str(paths["valid"]), test=str(paths["test"]))
    opts = ClassifierOptions(**base)
    splits = read_splits(opts)
    from recurrente.data.vocab import PAD, UNK, Vocab
    source = Vocab.build((Vocab([], split="word", lowercase=True).tokens(t)
                          for t in splits["train"].texts), (PAD, UNK), split="word",
                         lowercase=True)
    labels = Vocab.of_labels(splits["train"].labels)
    data = {n: encode(d, source, labels, 400, n) for n, d in splits.items()}
    V, C = len(source), len(labels)
    print(f"Quijote word order: {len(data['train']):,} train / {len(data['valid']):,} valid / "
          f"{len(data['test']):,} test sentences, vocabulary {V:,}")
    result = {"budget_s": args.budget, "sentences": {n: len(d) for n, d in data.items()}}
    if not args.skip_speed:
        result["speed"] = speed(data["train"], V, C, args.batches, args.repeats)
        for name, rate in result["speed"]["sentences_per_s"].items():
            print(f"  {name:<20} {rate:>9,.0f} sentences/s")
        print(f"training: recurrente / plain packed loop = {result['speed']['train_ratio']:.2f}x; "
              f"prediction: {result['speed']['predict_ratio']:.2f}x")
    runs = {"tutorial BiLSTM": lambda: tutorial_run(data["train"], data["valid"], data["test"],
                                                    V, C, args.budget)}
    variants = {"recurrente defaults": {}}
    for spec in filter(None, args.variants.split(";")):
        variants[f"recurrente {spec}"] = {k: eval(v) if v[:1].isupper() or v[:1].isdigit() else v
                                          for k, v in (kv.split("=") for kv in spec.split(","))}
    for name, extra in variants.items():
        runs[name] = lambda extra=extra: ours_run(base, extra, args.budget, folder)
    result["accuracy"] = {}
    for name, fn in runs.items():
        result["accuracy"][name] = fn()
        r = result["accuracy"][name]
        print(f"  {name:<40} test accuracy {r['test_accuracy']:.4f} (valid "
              f"{r['valid_accuracy']:.4f}, {r['steps']} steps in {args.budget:.0f} s)")
    tutorial = result["accuracy"]["tutorial BiLSTM"]["test_accuracy"]
    ours = result["accuracy"]["recurrente defaults"]["test_accuracy"]
    print(f"equal time ({args.budget:.0f} s): recurrente defaults {ours:.4f} vs tutorial "
          f"{tutorial:.4f}: error ratio {(1 - ours) / max(1e-9, 1 - tutorial):.2f}x")
    write_json("classify", result)


def ours_run(base: dict, extra: dict, budget: float, folder: Path) -> dict:
    out = Path(tempfile.mkdtemp(prefix="run-", dir=folder))
    opts = ClassifierOptions(**base, **extra, train=TrainConfig(time_budget=budget,
                                                                eval_every=100))
    summary = train_classifier(opts, out / "run", progress=False, log=lambda *a: None)
    run = load_run(out / "run", task="classify")
    from recurrente.tasks.classify.inference import evaluate_examples
    test = evaluate_examples(run.model, examples_of(run, "test"))
    return {"valid_accuracy": summary["valid_accuracy"], "test_accuracy": test["accuracy"],
            "steps": summary["steps"]}


if __name__ == "__main__":
    main()
