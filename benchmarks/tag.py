"""The tagger against plain torch: speed, the CRF's batching, entity F1 at equal training time.

Data made here (no download): Spanish-like sentences whose filler words are the 3,000 most
frequent lower-case words of the Quijote (``../shared/data/quijote.txt``, or ``--text``), with
persons, places and organisations inserted in context (``el señor X dijo``, ``llegó a X``,
``la empresa X``, ...) and one to three capitalised made-up words per name. The test sentences'
names are drawn from a pool disjoint from training's: every test entity is an unseen word, as
most names in real text are.

1. Entity F1 on the test sentences after ``--budget`` seconds of training: recurrente's defaults
   (``train_tagger``: BiLSTM-CRF with a character BiLSTM and word dropout) against a word-level
   BiLSTM softmax tagger written like the common tutorials (padded batches, cross-entropy that
   ignores padding, Adam at 1e-3, best epoch by validation F1).
2. The CRF's batched negative log-likelihood against a loop over sentences, same values.
3. Training and decoding sentences/s of both models.

    python -m benchmarks.tag [--budget 60]
"""

import argparse
import random
import re
import tempfile
import time
from collections import Counter
from pathlib import Path

import numpy as np
import torch
from torch import nn

from benchmarks.common import interleaved, write_json
from recurrente.data.padded import pad
from recurrente.tasks.tag.crf import CRF
from recurrente.tasks.tag.metrics import evaluate_tags
from recurrente.tasks.tag.options import TaggerOptions
from recurrente.tasks.tag.task import examples_of, train_tagger
from recurrente.train.run import load_run
from recurrente.train.config import TrainConfig

QUIJOTE = Path(__file__).resolve().parents[2] / "shared" / "data" / "quijote.txt"
CONTEXTS = {  # type -> (words before the name, words after it)
    "PER": [(["el", "señor"], ["dijo"]), (["doña"], ["contó", "que"]), ([], ["respondió"]),
            (["habló", "con"], []), (["el", "caballero"], ["salió"])],
    "LOC": [(["llegó", "a"], []), (["en", "la", "ciudad", "de"], []), (["el", "río"], []),
            (["camino", "de"], []), ([], ["queda", "lejos"])],
    "ORG": [(["la", "empresa"], []), (["el", "banco"], ["cerró"]), (["trabaja", "para"], []),
            (["la", "compañía"], ["vende"]), ([], ["anunció", "beneficios"])],
}


def filler_words(path: Path, n: int = 3000):
    from recurrente.data.download import strip_gutenberg
    text = strip_gutenberg(path.read_text(encoding="utf-8-sig").replace("\r\n", "\n")).lower()
    return [w for w, _ in Counter(re.findall(r"[a-záéíóúüñ]+", text)).most_common(n)]


def names(rng, n):
    syllables = ["ba", "ro", "mi", "ten", "sal", "qui", "lo", "dar", "ve", "na", "gu", "tor",
                 "ca", "len", "ri", "sa", "mon", "pe", "zu", "al"]
    pool = set()
    while len(pool) < n:
        pool.add("".join(rng.choice(syllables) for _ in range(rng.randint(2, 3))).capitalize())
    return sorted(pool)


def sentence(rng, filler, pool):
    tokens, tags = [], []
    for _ in range(rng.randint(1, 2)):
        tokens += rng.sample(filler, rng.randint(0, 4))
        tags += ["O"] * (len(tokens) - len(tags))
        kind = rng.choice(sorted(CONTEXTS))
        before, after = rng.choice(CONTEXTS[kind])
        name = [rng.choice(pool) for _ in range(rng.randint(1, 3))]
        tokens += before + name + after
        tags += ["O"] * len(before) + [f"B-{kind}"] + [f"I-{kind}"] * (len(name) - 1) \
            + ["O"] * len(after)
    tokens += rng.sample(filler, rng.randint(0, 3)) + ["."]
    tags += ["O"] * (len(tokens) - len(tags))
    return tokens, tags


def write(path: Path, sentences):
    path.write_text("".join("".join(f"{w} {t}\n" for w, t in zip(*s)) + "\n" for s in sentences))


def make_data(folder: Path, text: Path, n_train: int, seed: int = 0) -> dict:
    rng = random.Random(seed)
    filler = filler_words(text)
    pool = names(rng, 1200)
    rng.shuffle(pool)
    train_names, test_names = pool[:800], pool[800:]
    paths = {}
    for split, n, names_ in (("train", n_train, train_names), ("valid", n_train // 10, test_names),
                             ("test", n_train // 5, test_names)):
        paths[split] = folder / f"{split}.txt"
        write(paths[split], [sentence(rng, filler, names_) for _ in range(n)])
    return paths


class TutorialTagger(nn.Module):
    """Word embeddings, a BiLSTM over the padded batch, a linear layer per word."""

    def __init__(self, V, N, E=100, H=128):
        super().__init__()
        self.embedding = nn.Embedding(V, E, padding_idx=0)
        self.lstm = nn.LSTM(E, H, batch_first=True, bidirectional=True)
        self.fc = nn.Linear(2 * H, N)

    def forward(self, ids):  # (B, T)
        return self.fc(self.lstm(self.embedding(ids))[0])  # (B, T, N)


def tutorial_data(paths):
    from recurrente.data import conll
    corpora = {n: conll.read_conll(p) for n, p in paths.items()}
    words = {"<pad>": 0, "<unk>": 1}
    for s in corpora["train"].sentences:
        for w in s.tokens:
            words.setdefault(w, len(words))
    tags = sorted(corpora["train"].labels)
    enc = {n: [(np.array([words.get(w, 1) for w in s.tokens]),
                np.array([tags.index(t) for t in s.tags])) for s in c.sentences]
           for n, c in corpora.items()}
    return enc, len(words), tags


def tutorial_f1(model, data, tags):
    model.eval()
    gold, pred = [], []
    with torch.no_grad():
        for start in range(0, len(data), 256):
            chunk = data[start:start + 256]
            ids, lengths = pad([w for w, _ in chunk], 0)
            best = model(ids.T).argmax(-1)  # (B, T)
            for b, (w, t) in enumerate(chunk):
                gold.append([tags[i] for i in t])
                pred.append([tags[i] for i in best[b, :len(w)].tolist()])
    model.train()
    return evaluate_tags(gold, pred, "BIO")["f1"]


def tutorial_run(enc, V, tags, budget: float) -> dict:
    torch.manual_seed(0)
    model, rng = TutorialTagger(V, len(tags)), np.random.default_rng(0)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    spent, steps, best = 0.0, 0, (-1.0, None)
    train = enc["train"]
    while spent < budget:
        for s in range(0, len(train), 32):
            chunk = [train[i] for i in rng.permutation(len(train))[:32]]
            t0 = time.perf_counter()
            ids, _ = pad([w for w, _ in chunk], 0)
            gold, _ = pad([t for _, t in chunk], -100)
            loss = nn.functional.cross_entropy(model(ids.T).reshape(-1, len(tags)),
                                               gold.T.reshape(-1), ignore_index=-100)
            opt.zero_grad()
            loss.backward()
            opt.step()
            spent += time.perf_counter() - t0
            steps += 1
            if spent >= budget:
                break
        f1 = tutorial_f1(model, enc["valid"], tags)
        if f1 > best[0]:
            best = (f1, {k: v.clone() for k, v in model.state_dict().items()})
    model.load_state_dict(best[1])
    return {"valid_f1": best[0], "test_f1": tutorial_f1(model, enc["test"], tags),
            "steps": steps}


def ours_run(paths, budget: float, folder: Path) -> dict:
    out = Path(tempfile.mkdtemp(prefix="run-", dir=folder)) / "run"
    opts = TaggerOptions(data=str(paths["train"]), valid=str(paths["valid"]),
                         test=str(paths["test"]),
                         train=TrainConfig(time_budget=budget, eval_every=100))
    summary = train_tagger(opts, out, progress=False, log=lambda *a: None)
    run = load_run(out, task="tag")
    from recurrente.tasks.tag.inference import evaluate_encoded
    test = evaluate_encoded(run.model, examples_of(run, "test"), "BIO")
    return {"valid_f1": summary["valid_f1"], "test_f1": test["f1"], "steps": summary["steps"],
            "run": str(out)}


def crf_batching(repeats: int) -> dict:
    """Batched NLL vs one sentence at a time, 64 sentences of 5..40 words, 9 tags."""
    torch.manual_seed(0)
    crf = CRF(9)
    lengths = torch.randint(5, 41, (64,))
    emit = torch.randn(40, 64, 9)
    tags = torch.randint(0, 9, (40, 64))
    batched = crf(emit, tags, lengths)
    looped = torch.stack([crf(emit[:n, b:b + 1], tags[:n, b:b + 1])[0]
                          for b, n in enumerate(lengths.tolist())])
    assert torch.allclose(batched, looped, atol=1e-4), (batched - looped).abs().max()

    def loop():
        for b, n in enumerate(lengths.tolist()):
            crf(emit[:n, b:b + 1], tags[:n, b:b + 1]).sum().backward()

    times = interleaved({"batched": lambda: crf(emit, tags, lengths).sum().backward(),
                         "per sentence": loop}, repeats)
    return {"seconds": times, "speedup": times["per sentence"] / times["batched"]}


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--text", type=Path, default=QUIJOTE)
    parser.add_argument("--sentences", type=int, default=6000)
    parser.add_argument("--budget", type=float, default=60.0)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bench-tag-"))
    paths = make_data(folder, args.text, args.sentences)
    enc, V, tags = tutorial_data(paths)
    print(f"generated NER: {len(enc['train']):,} train / {len(enc['valid']):,} valid / "
          f"{len(enc['test']):,} test sentences, {len(tags)} tags; test names unseen in training")
    result = {"budget_s": args.budget, "crf": crf_batching(args.repeats)}
    print(f"CRF negative log-likelihood and gradient, 64 sentences: batched "
          f"{result['crf']['speedup']:.1f}x a loop over sentences")
    result["tutorial"] = tutorial_run(enc, V, tags, args.budget)
    result["recurrente"] = ours_run(paths, args.budget, folder)
    for name in ("recurrente", "tutorial"):
        r = result[name]
        print(f"  {name:<12} test entity F1 {r['test_f1']:.4f} (valid {r['valid_f1']:.4f}, "
              f"{r['steps']} steps in {args.budget:.0f} s)")
    result["speed"] = speed(result["recurrente"]["run"], enc, V, tags, args.repeats)
    for name, rate in result["speed"].items():
        print(f"  {name:<28} {rate:>9,.0f} sentences/s")
    write_json("tag", result)


def speed(run_dir, enc, V, tags, repeats: int) -> dict:
    """Sentences/s of a training step and of decoding, recurrente's model against the tutorial's."""
    from recurrente.data.padded import BucketBatches
    from recurrente.tasks.tag.data import collate
    from recurrente.tasks.tag.inference import tag_encoded
    run = load_run(run_dir, task="tag")
    data = examples_of(run, "train")
    model = run.model.train()
    plain = TutorialTagger(V, len(tags))
    batches = list(BucketBatches([len(w) for w in data.words], collate(data), 32, seed=0)
                   .epoch(0))[:20]
    plain_batches = [enc["train"][i:i + 32] for i in range(0, 640, 32)]
    opt_ours = torch.optim.AdamW(model.parameters())
    opt_plain = torch.optim.Adam(plain.parameters())

    def step_ours():
        for b in batches:
            loss, count, _ = model.loss(b)
            opt_ours.zero_grad()
            (loss / count).backward()
            opt_ours.step()

    def step_plain():
        for chunk in plain_batches:
            ids, _ = pad([w for w, _ in chunk], 0)
            gold, _ = pad([t for _, t in chunk], -100)
            loss = nn.functional.cross_entropy(plain(ids.T).reshape(-1, len(tags)),
                                               gold.T.reshape(-1), ignore_index=-100)
            opt_plain.zero_grad()
            loss.backward()
            opt_plain.step()

    n_train = sum(len(b["lengths"]) for b in batches)
    subset = type(data)(data.words[:2000], data.chars[:2000], data.tags[:2000], data.tokens[:2000])
    times = interleaved({"recurrente train": step_ours, "tutorial train": step_plain,
                         "recurrente decode (CRF)": lambda: tag_encoded(model, subset,
                                                                        with_loss=False),
                         "tutorial decode (argmax)": lambda: tutorial_f1(plain,
                                                                         enc["train"][:2000],
                                                                         tags)}, repeats)
    return {k: (n_train if "train" in k else 2000) / s for k, s in times.items()}


if __name__ == "__main__":
    main()
