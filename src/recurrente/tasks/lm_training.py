"""``train_language_model``: corpus → tokenizer → splits → batches → model → trainer → run dir.

The CLI's ``recurrente train`` is a thin wrapper around this function; so is any script.
"""

import math
import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Optional

import torch

from recurrente.data.batching import make_batches, split_contiguous
from recurrente.data.corpora import Corpus, load_corpus
from recurrente.data.tokenizers import CharTokenizer, WordTokenizer, load_tokenizer
from recurrente.errors import UserError
from recurrente.layers.registry import DEFAULT
from recurrente.tasks.language_model import LanguageModel
from recurrente.tasks.lm_inference import evaluate_stream
from recurrente.train import checkpoint
from recurrente.train.callbacks import Checkpointer, MetricsLog, ProgressBar
from recurrente.train.trainer import TrainConfig, Trainer


@dataclass
class LMOptions:
    """Everything a language-model run is made of (the CLI's options, one field each)."""
    corpus: Optional[str] = None  # file, folder, "-", dataset name; None = embedded default
    encoding: str = "utf-8"
    tokenizer: str = "char"  # char | word
    normalize: str = "none"  # none | lowercase | spanish-letters
    vocab_size: Optional[int] = None
    min_freq: int = 1
    split: tuple = (0.9, 0.05, 0.05)
    cell: str = "lstm"
    implementation: str = DEFAULT
    layers: int = 2
    hidden: int = 128  # 2x128 beat 2x256 and 1x256 at equal time on 2 cores (see the README)
    embedding: Optional[int] = None
    dropout: float = 0.1
    tie_weights: bool = False
    seq_len: int = 64
    batch_size: int = 32
    partition: str = "sequential"  # sequential | random
    eval_tokens: int = 20000  # validation tokens scored at each evaluation during training
    train: TrainConfig = field(default_factory=lambda: TrainConfig(time_budget=180.0))


@dataclass
class PreparedData:
    corpus: Corpus
    tokenizer: object
    splits: dict  # name -> np.ndarray of ids
    record: dict  # what config.json stores under "data"


def prepare_data(opts: LMOptions, stdin=None, tokenizer=None) -> PreparedData:
    """Load, split (contiguously, or the dataset's own splits), fit the tokenizer on train only."""
    corpus = load_corpus(opts.corpus, encoding=opts.encoding, stdin=stdin)
    if corpus.splits is not None:
        texts, kind = dict(corpus.splits), "dataset"
    else:
        bounds = split_contiguous(len(corpus.text), opts.split)
        texts = {n: corpus.text[s:e] for n, (s, e) in zip(("train", "valid", "test"), bounds)}
        kind = "contiguous"
    if tokenizer is None:
        cls = {"char": CharTokenizer, "word": WordTokenizer}.get(opts.tokenizer)
        if cls is None:
            raise UserError(f"expected --tokenizer char or word, got {opts.tokenizer!r}")
        tokenizer = cls.fit(texts["train"], opts.normalize, vocab_size=opts.vocab_size,
                            min_freq=opts.min_freq)
    splits = {name: tokenizer.encode(text) for name, text in texts.items()}
    record = {"corpus": opts.corpus, "source": corpus.source, "encoding": opts.encoding,
              "split_kind": kind, "split": list(opts.split),
              "tokens": {n: int(len(v)) for n, v in splits.items()},
              "tokenizer": opts.tokenizer, "normalize": opts.normalize}
    return PreparedData(corpus, tokenizer, splits, record)


def build_model(opts: LMOptions, vocab_size: int) -> LanguageModel:
    sizes = {"--hidden": opts.hidden, "--layers": opts.layers, "--seq-len": opts.seq_len,
             "--batch-size": opts.batch_size, "--embedding": opts.embedding or 1}
    for flag, value in sizes.items():
        if value < 1:
            raise UserError(f"expected {flag} >= 1, got {value}")
    try:
        return LanguageModel(vocab_size, cell=opts.cell, hidden_size=opts.hidden,
                             num_layers=opts.layers, embedding_size=opts.embedding,
                             dropout=opts.dropout, tie_weights=opts.tie_weights,
                             implementation=opts.implementation)
    except ValueError as e:
        raise UserError(str(e)) from None


def _check_resume(out: Path, data: PreparedData) -> dict:
    config = checkpoint.read_config(out)
    before = config.get("data", {})
    fingerprint = lambda source: (source.get("sha256"), source.get("splits_sha256"))  # noqa: E731
    if fingerprint(before.get("source", {})) != fingerprint(data.record["source"]):
        raise UserError(f"--resume: the corpus differs from the one {out} was trained on "
                        f"({before.get('source', {}).get('kind')} {before.get('corpus')!r})")
    for key in ("tokenizer", "normalize"):
        if before.get(key) != data.record[key]:
            raise UserError(f"--resume: --{key} {data.record[key]} differs from the run's "
                            f"{before.get(key)}")
    return config


def train_language_model(opts: LMOptions, out, resume: bool = False, progress: bool = True,
                         stdin=None, log=print) -> dict:
    """Train (or resume) a language model into run directory ``out``; return a summary dict."""
    out = Path(out)
    exists = (out / checkpoint.CONFIG).exists()
    if exists and not resume:
        raise UserError(f"{out} already holds a run; pass --resume to continue it, or choose "
                        f"another --out")
    if resume and not exists:
        raise UserError(f"--resume: {out} is not a run to resume (no {checkpoint.CONFIG})")
    tokenizer = load_tokenizer(out / "tokenizer.json") if resume else None
    data = prepare_data(opts, stdin=stdin, tokenizer=tokenizer)
    if resume:
        config = _check_resume(out, data)
        model = checkpoint.model_from_config(LanguageModel, config, out)
    else:
        torch.manual_seed(opts.train.seed)  # the initial weights are part of the experiment
        model = build_model(opts, data.tokenizer.vocab_size)
    batches = make_batches(data.splits["train"], opts.partition, opts.batch_size, opts.seq_len,
                           opts.train.seed)
    valid = data.splits["valid"][:opts.eval_tokens + 1]
    evaluate = (lambda task: evaluate_stream(task, valid)) if len(valid) > 1 else None
    out.mkdir(parents=True, exist_ok=True)
    trainer = Trainer(model, batches, opts.train, evaluate, callbacks=[
        ProgressBar(progress), MetricsLog(out / "metrics.jsonl", opts.train.log_every),
        Checkpointer(out, every=opts.train.eval_every)])
    if resume:
        trainer.load_state_dict(checkpoint.load_last(out, trainer.task))
    else:
        data.tokenizer.save(out / "tokenizer.json")
        checkpoint.update_config(out, model={"class": "LanguageModel", **model.config()},
                                 data=data.record, options=_options_record(opts))
    log(f"training a {model.describe()} on {data.corpus.name} "
        f"({data.record['tokens']['train']:,} train tokens, vocabulary {data.tokenizer.vocab_size}, "
        f"device {trainer.device})")
    started = time.perf_counter()
    result = trainer.fit()
    return _summary(trainer, result, data, out, time.perf_counter() - started)


def _options_record(opts: LMOptions) -> dict:
    record = {f.name: getattr(opts, f.name) for f in fields(opts) if f.name != "train"}
    record["split"] = list(opts.split)
    return {**record, "train": asdict(opts.train)}


def _summary(trainer, progress, data, out: Path, wall: float) -> dict:
    best = progress.best if math.isfinite(progress.best) else None
    summary = {"steps": progress.step, "stop_reason": progress.stop_reason,
               "train_seconds": progress.elapsed, "wall_seconds": wall,
               "tokens_per_s": progress.tokens / max(progress.elapsed, 1e-9),
               "valid_loss": best, "out": str(out),
               "implementation": trainer.task.rnn.implementation_for(trainer.device)}
    if best is not None:
        summary["valid_perplexity"] = math.exp(best)
        if data.tokenizer.kind == "char":
            summary["valid_bits_per_char"] = best / math.log(2)
    return summary
