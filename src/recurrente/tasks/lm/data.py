"""A language model's options and data: corpus → tokenizer → splits → batches, and its model.

:mod:`recurrente.tasks.lm.task` hands these to the shared run plumbing
(:mod:`recurrente.train.run`).
"""

from dataclasses import dataclass, field
from typing import Optional

from recurrente.data.batching import make_batches, split_contiguous
from recurrente.data.corpora import Corpus, load_corpus
from recurrente.data.tokenizers import CharTokenizer, WordTokenizer
from recurrente.errors import UserError
from recurrente.layers.registry import DEFAULT
from recurrente.tasks.base import Prepared
from recurrente.tasks.lm.inference import evaluate_stream
from recurrente.tasks.lm.model import LanguageModel
from recurrente.train.trainer import TrainConfig


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


def prepare(opts: LMOptions, vocabs: Optional[dict] = None, stdin=None) -> Prepared:
    """The corpus read and split, batches of its training part, and an evaluator on the first
    ``eval_tokens`` of its validation part (the whole part is scored by ``recurrente eval``)."""
    data = prepare_data(opts, stdin=stdin, tokenizer=(vocabs or {}).get("source"))
    batches = make_batches(data.splits["train"], opts.partition, opts.batch_size, opts.seq_len,
                           opts.train.seed)
    valid = data.splits["valid"][:opts.eval_tokens + 1]
    evaluate = (lambda model: evaluate_stream(model, valid)) if len(valid) > 1 else None
    source = data.record["source"]
    description = (f"{data.corpus.name} ({data.record['tokens']['train']:,} train tokens, "
                   f"vocabulary {data.tokenizer.vocab_size})")
    return Prepared({"source": data.tokenizer}, batches, evaluate, data.record,
                    fingerprint=[source.get("sha256"), source.get("splits_sha256"),
                                 opts.tokenizer, opts.normalize],
                    description=description, extra={"data": data})


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


def build(opts: LMOptions, prepared: Prepared) -> LanguageModel:
    return build_model(opts, prepared.vocabs["source"].vocab_size)


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
