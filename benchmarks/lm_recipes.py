"""recurrente's language-model defaults against the plain recipes, at equal training time.

Per setting (text and tokenizer), three contenders see the same token ids (recurrente's
tokenizer, fitted on the training split) for the same seconds of training (evaluation
excluded), and are scored the same way: the exact streamed cross-entropy of ``recurrente eval``
on the whole **test** split, with the best weights by validation.

* ``recurrente``: ``recurrente train CORPUS --tokenizer T --time-budget B`` with nothing else
  (the recipe of the tokenizer, the size chosen for the budget);
* words: pytorch/examples' ``word_language_model`` recipe, re-implemented here: a 2x200 LSTM,
  tied weights, dropout 0.2, plain SGD at lr 20, gradients clipped to 0.25, windows of 35,
  batches of 20, the learning rate divided by 4 after an epoch that does not improve validation;
* characters: a plain char-level loop as people write it: a 2x512 LSTM on 512-wide embeddings,
  Adam at 2e-3, windows of 100, batches of 32, clipping at 5, best epoch by validation.

Settings: ``quijote-words`` and ``quijote-chars`` (``../shared/data/quijote.txt``),
``embedded-chars`` (the embedded default corpus); also ``quijote-words-10k`` (the 10,000 most
frequent words, the vocabulary size of the Penn Treebank the issue measured on) and
``embedded-words``. The goal: recurrente's test perplexity at least
10% below the recipe's, i.e. a ratio ``recurrente / recipe <= 0.90``.

On a shared machine, ``--parallel`` runs a setting's contenders at the same time, one process
and ``--threads`` (default 1) each, so that whatever else runs slows them alike. ``--tokens N``
trains every contender on N tokens instead of for a time (for comparing settings that do not
change the speed, such as regularisers, whatever the load; recurrente then takes its recipe's
base size).

    python -m benchmarks.lm_recipes [--budget 300] [--settings quijote-words,quijote-chars]
        [--variants "hidden=256;dropout=0.2,tie_weights=True"] [--parallel]
"""

import argparse
import math
import os
import tempfile
import time
from pathlib import Path

import torch
from torch import nn

from benchmarks.common import write_json
from recurrente.tasks.lm.data import prepare_data
from recurrente.tasks.lm.options import LMOptions, lm_train_config
from recurrente.tasks.lm.inference import evaluate_stream
from recurrente.tasks.lm.task import train_language_model
from recurrente.tasks.lm.texts import split_ids
from recurrente.train.run import load_run

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
# each setting's data options, the same for every contender
SETTINGS = {"quijote-words": dict(corpus="quijote", tokenizer="word"),
            "quijote-chars": dict(corpus="quijote", tokenizer="char"),
            "embedded-chars": dict(corpus=None, tokenizer="char"),
            "embedded-words": dict(corpus=None, tokenizer="word"),
            # the 10,000 most frequent words, the rest <unk>: the vocabulary of the PTB
            "quijote-words-10k": dict(corpus="quijote", tokenizer="word", vocab_size=10000)}


class PlainLM(nn.Module):
    """Embedding, torch.nn.LSTM, dropout, linear decoder; pytorch/examples' RNNModel."""

    def __init__(self, V, E, H, L, dropout, tie):
        super().__init__()
        self.encoder, self.drop = nn.Embedding(V, E), nn.Dropout(dropout)
        self.rnn = nn.LSTM(E, H, L, dropout=dropout if L > 1 else 0.0)
        self.decoder = nn.Linear(H, V)
        nn.init.uniform_(self.encoder.weight, -0.1, 0.1)  # their init_weights
        nn.init.zeros_(self.decoder.bias)
        nn.init.uniform_(self.decoder.weight, -0.1, 0.1)
        if tie:
            self.decoder.weight = self.encoder.weight

    def forward(self, ids, state=None):  # ids (T, B)
        out, state = self.rnn(self.drop(self.encoder(ids)), state)  # (T, B, H)
        return self.decoder(self.drop(out)), state  # (T, B, V)


RECIPES = {
    "word": dict(model=dict(E=200, H=200, L=2, dropout=0.2, tie=True), optimizer="sgd",
                 lr=20.0, clip=0.25, bptt=35, batch=20),
    "char": dict(model=dict(E=512, H=512, L=2, dropout=0.0, tie=False), optimizer="adam",
                 lr=2e-3, clip=5.0, bptt=100, batch=32),
}


def batchify(ids, batch: int) -> torch.Tensor:
    """pytorch/examples' batchify: the stream cut into ``batch`` columns, ``(N/B, B)``."""
    ids = torch.as_tensor(ids, dtype=torch.long)
    n = ids.numel() // batch
    return ids[:n * batch].view(batch, n).t().contiguous()


def recipe_run(kind: str, splits: dict, V: int, budget: float, seed: int = 0,
               tokens=None) -> dict:
    """The plain loop: epochs over the streams, validation after each (and at the budget), the
    best weights kept; for SGD the rate divided by 4 after an epoch without improvement."""
    r = RECIPES[kind]
    torch.manual_seed(seed)
    model = PlainLM(V, **r["model"])
    opt = torch.optim.Adam(model.parameters(), lr=r["lr"]) if r["optimizer"] == "adam" else None
    lr, data = r["lr"], batchify(splits["train"], r["batch"])
    spent, steps, epochs, best = 0.0, 0, 0, (math.inf, None)
    done = (lambda: steps * r["bptt"] * r["batch"] >= tokens) if tokens else \
        (lambda: spent >= budget)
    while not done():
        state, model = None, model.train()
        for i in range(0, data.shape[0] - 1, r["bptt"]):
            t0 = time.perf_counter()
            x, y = data[i:i + r["bptt"]], data[i + 1:i + 1 + r["bptt"]]
            x = x[:y.shape[0]]
            if state is not None:
                state = tuple(s.detach() for s in state)  # repackage_hidden
            logits, state = model(x, state)
            loss = nn.functional.cross_entropy(logits.view(-1, V), y.reshape(-1))
            model.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), r["clip"])
            if opt is None:
                with torch.no_grad():
                    for p in model.parameters():
                        p.add_(p.grad, alpha=-lr)
            else:
                opt.step()
            spent += time.perf_counter() - t0
            steps += 1
            if done():
                break
        epochs += 1
        valid = evaluate_stream(model, splits["valid"])["loss"]
        if valid < best[0]:
            best = (valid, {k: v.clone() for k, v in model.state_dict().items()})
        elif opt is None:
            lr /= 4.0
    model.load_state_dict(best[1])
    test = evaluate_stream(model, splits["test"])
    return {"valid_loss": best[0], "test_loss": test["loss"], "test_perplexity": test["perplexity"],
            "steps": steps, "epochs": epochs, "train_seconds": spent,
            "params": sum(p.numel() for p in model.parameters())}


def ours_run(data: dict, budget: float, extra: dict, folder: Path, tokens=None) -> dict:
    out = Path(tempfile.mkdtemp(prefix="run-", dir=folder)) / "run"
    notes = []
    training = {k[len("train."):]: v for k, v in extra.items() if k.startswith("train.")}
    extra = {k: v for k, v in extra.items() if not k.startswith("train.")}
    train = lm_train_config(time_budget=budget, **training)
    if tokens:
        from recurrente.tasks.lm.recipes import resolve
        probe = LMOptions(**data, **extra, train=lm_train_config(time_budget=None, max_steps=1))
        resolve(probe, 100)
        steps = math.ceil(tokens / (probe.batch_size * probe.seq_len))
        train = lm_train_config(time_budget=None, max_steps=steps, **training)
    opts = LMOptions(**data, **extra, train=train)
    summary = train_language_model(opts, out, progress=False, log=notes.append)
    loaded = load_run(out)
    test = evaluate_stream(loaded.model, split_ids(loaded, "test"))
    return {"valid_loss": summary["valid_loss"], "test_loss": test["loss"],
            "test_perplexity": test["perplexity"], "steps": summary["steps"],
            "train_seconds": summary["train_seconds"], "describe": loaded.model.describe(),
            "params": sum(p.numel() for p in loaded.model.parameters()), "log": notes[:-1]}


def run_contender(spec: tuple, threads=None) -> dict:
    """One contender, ``("ours", data, budget, extra, folder, tokens)`` or ``("recipe", data,
    budget, tokens)`` (``data``: the setting's data options), with the machine load before and
    after."""
    if threads:
        torch.set_num_threads(threads)
    before = load()
    if spec[0] == "ours":
        row = ours_run(*spec[1:])
    else:
        _, data, budget, tokens = spec
        prepared = prepare_data(LMOptions(**data))
        row = recipe_run(data["tokenizer"], prepared.splits, prepared.tokenizer.vocab_size,
                         budget, tokens=tokens)
    return {**row, "load_before": before, "load_after": load(),
            "threads": torch.get_num_threads()}


def _parse_variants(text: str) -> dict:
    variants = {}
    for spec in filter(None, text.split(";")):
        values = {}
        for kv in spec.split(","):
            k, v = kv.split("=")
            values[k] = {"True": True, "False": False, "None": None}.get(v, v)
            for cast in (int, float):
                try:
                    values[k] = cast(v)
                    break
                except ValueError:
                    continue
        variants[f"recurrente {spec}"] = values
    return variants


def load() -> str:
    return "load average %.2f %.2f %.2f" % os.getloadavg()


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--budget", type=float, default=300.0, help="training seconds each")
    parser.add_argument("--settings", default="quijote-words,quijote-chars,embedded-chars")
    parser.add_argument("--variants", default="", help="more recurrente settings, e.g. "
                        "\"hidden=256;dropout=0.2,truncation=variable;train.lr=0.005\"")
    parser.add_argument("--skip-recipe", action="store_true")
    parser.add_argument("--skip-defaults", action="store_true")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--parallel", action="store_true", help="contenders side by side")
    parser.add_argument("--tokens", type=int, default=None, help="equal tokens, not time")
    parser.add_argument("--name", default="lm_recipes", help="results/NAME.json")
    args = parser.parse_args()
    if args.threads and not args.parallel:
        torch.set_num_threads(args.threads)
    os.environ.setdefault("RECURRENTE_DATA", str(SHARED))
    folder = Path(tempfile.mkdtemp(prefix="bench-lm-"))
    results = {"budget_s": args.budget, "tokens": args.tokens, "threads": torch.get_num_threads(), "settings": {}}
    for setting in args.settings.split(","):
        options = SETTINGS[setting]
        data = prepare_data(LMOptions(**options))
        V = data.tokenizer.vocab_size
        print(f"{setting}: {data.record['tokens']['train']:,} train tokens, vocabulary {V:,}, "
              + (f"{args.tokens:,} training tokens each" if args.tokens else
                 f"{args.budget:.0f} s of training each"), flush=True)
        specs = {} if args.skip_defaults else {
            "recurrente defaults": ("ours", options, args.budget, {}, folder, args.tokens)}
        for name, extra in _parse_variants(args.variants).items():
            specs[name] = ("ours", options, args.budget, extra, folder, args.tokens)
        if not args.skip_recipe:
            specs["plain recipe"] = ("recipe", options, args.budget, args.tokens)
        if args.parallel:
            import multiprocessing
            from concurrent.futures import ProcessPoolExecutor
            with ProcessPoolExecutor(len(specs), multiprocessing.get_context("spawn")) as pool:
                futures = {name: pool.submit(run_contender, spec, args.threads or 1)
                           for name, spec in specs.items()}
                rows = {name: f.result() for name, f in futures.items()}
        else:
            rows = {name: run_contender(spec) for name, spec in specs.items()}
        for name, r in rows.items():
            print(f"  {name:<34} test perplexity {r['test_perplexity']:9.3f} (loss "
                  f"{r['test_loss']:.4f}; {r['steps']:,} steps; {r.get('describe', 'plain')}; "
                  f"{r['threads']} thread(s); {r['load_before']} -> "
                  f"{r['load_after'].split()[-3]})", flush=True)
            for line in r.get("log", []):
                print(f"      {line}")
        if "plain recipe" in rows:
            for name, r in rows.items():
                if name != "plain recipe":
                    ratio = r["test_perplexity"] / rows["plain recipe"]["test_perplexity"]
                    r["ratio_to_recipe"] = ratio
                    print(f"  {name} / plain recipe = {ratio:.3f} "
                          f"({'meets' if ratio <= 0.9 else 'misses'} the goal <= 0.90)")
        results["settings"][setting] = {"vocabulary": V, "tokens": data.record["tokens"],
                                        "rows": rows}
    write_json(args.name, results)


if __name__ == "__main__":
    main()
