"""A language model's options and data: corpus → tokenizer → splits → batches, and its model.

:mod:`recurrente.tasks.lm.task` hands these to the shared run plumbing
(:mod:`recurrente.train.run`). Options left at ``None`` are filled by the recipe of the
tokenizer, and the model size by the time budget (:mod:`recurrente.tasks.lm.recipes`); the
filled values are the run's, saved as such.
"""

from dataclasses import dataclass, field
from typing import Optional

import numpy as np

from recurrente.data.batching import make_batches, split_contiguous
from recurrente.data.windows import check_truncation
from recurrente.data.corpora import Corpus, load_corpus
from recurrente.data.tokenizers import CharTokenizer, WordTokenizer
from recurrente.errors import UserError
from recurrente.layers.registry import DEFAULT
from recurrente.tasks.base import Prepared
from recurrente.tasks.lm.inference import evaluate_stream
from recurrente.tasks.lm.model import DIRECTIONS, LanguageModel
from recurrente.tasks.lm.recipes import RECIPE_FIELDS, resolve
from recurrente.train.trainer import TrainConfig


def lm_train_config(**values) -> TrainConfig:
    """A language model's training defaults, then ``values``: AdamW at a peak rate of 2e-3 on
    the warm-up/stable/decay schedule (:func:`recurrente.train.optim.wsd_factor`), gradients
    clipped at a global norm of 5, 180 s.

    Chosen on the Quijote's letters (``python -m benchmarks.lm_recipes``): a 2x512 LSTM trained
    on 400,000 characters reached 2.38 nats/char on the test text with the earlier cosine
    schedule at 3e-3 and clipping at 1, and 1.89 at a constant 2e-3 with clipping at 5; the
    cosine schedule spends most of a short run below its peak rate, while the model still
    learns fastest. At 300 s on one core, wsd then gained 0.004 nats over a constant rate.
    """
    return TrainConfig(**{"time_budget": 180.0, "lr": 2e-3, "schedule": "wsd", "clip": 5.0,
                          **values})


@dataclass
class LMOptions:
    """Everything a language-model run is made of (the CLI's options, one field each).

    ``None``: the recipe's value for the tokenizer, and for the model size (``hidden``,
    ``layers``, ``embedding``, ``seq_len``) the one chosen for the time budget; see
    :mod:`recurrente.tasks.lm.recipes`."""
    corpus: Optional[str] = None  # file, folder, "-", dataset name; None = embedded default
    encoding: str = "utf-8"
    tokenizer: str = "char"  # char | word
    normalize: str = "none"  # none | lowercase | spanish-letters
    vocab_size: Optional[int] = None
    min_freq: int = 1
    split: tuple = (0.9, 0.05, 0.05)
    direction: str = "forward"  # forward | backward (reads the text reversed)
    scheduled_sampling: Optional[str] = None  # linear | exponential | inverse_sigmoid
    sampling_k: Optional[float] = None  # the schedule's parameter (linear: its floor)
    cell: str = "lstm"
    implementation: str = DEFAULT
    layers: Optional[int] = None
    hidden: Optional[int] = None
    embedding: Optional[int] = None
    dropout: Optional[float] = None  # before the head; and input/hidden unless given
    dropout_input: Optional[float] = None  # on the embeddings (locked or not)
    dropout_hidden: Optional[float] = None  # between layers
    dropout_embedding: Optional[float] = None  # whole words
    dropout_mask: Optional[str] = None  # step | sequence (locked)
    weight_dropout: Optional[float] = None  # DropConnect on W_hh
    ar: Optional[float] = None  # activation regularisation
    tar: Optional[float] = None  # temporal activation regularisation
    tie_weights: Optional[bool] = None
    softmax: Optional[str] = None  # full | adaptive (Grave et al. 2017)
    seq_len: Optional[int] = None
    batch_size: Optional[int] = None
    truncation: str = "fixed"  # fixed | variable | random
    partition: str = "sequential"  # sequential | random
    eval_tokens: int = 20000  # validation tokens scored at each evaluation during training
    train: TrainConfig = field(default_factory=lm_train_config)


@dataclass
class PreparedData:
    corpus: Corpus
    tokenizer: object
    splits: dict  # name -> np.ndarray of ids
    record: dict  # what config.json stores under "data"


def prepare(opts: LMOptions, vocabs: Optional[dict] = None, stdin=None) -> Prepared:
    """The corpus read and split, the recipe and size filled in, batches of its training part
    (reversed for a backward model), and an evaluator on the first ``eval_tokens`` of its
    validation part (the whole part is scored by ``recurrente eval``)."""
    if opts.direction not in DIRECTIONS:
        raise UserError(f"expected --direction forward or backward, got {opts.direction!r}")
    check_truncation(opts.truncation)
    data = prepare_data(opts, stdin=stdin, tokenizer=(vocabs or {}).get("source"))
    notes = resolve(opts, data.tokenizer.vocab_size)
    train = data.splits["train"]
    if opts.direction == "backward":
        train = np.ascontiguousarray(train[::-1])
    batches = make_batches(train, opts.partition, opts.batch_size, opts.seq_len,
                           opts.train.seed, opts.truncation)
    valid = data.splits["valid"][:opts.eval_tokens + 1]
    evaluate = (lambda model: evaluate_stream(model, valid)) if len(valid) > 1 else None
    source = data.record["source"]
    description = (f"{data.corpus.name} ({data.record['tokens']['train']:,} train tokens, "
                   f"vocabulary {data.tokenizer.vocab_size})")
    return Prepared({"source": data.tokenizer}, batches, evaluate, data.record,
                    fingerprint=[source.get("sha256"), source.get("splits_sha256"),
                                 opts.tokenizer, opts.normalize],
                    description=description, notes=notes,
                    extra={"data": data, "resolved": {k: getattr(opts, k) for k in RECIPE_FIELDS}})


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
                             implementation=opts.implementation,
                             dropout_input=opts.dropout_input, dropout_hidden=opts.dropout_hidden,
                             dropout_embedding=opts.dropout_embedding,
                             dropout_mask=opts.dropout_mask, weight_dropout=opts.weight_dropout,
                             ar=opts.ar, tar=opts.tar, direction=opts.direction,
                             scheduled_sampling=opts.scheduled_sampling,
                             sampling_k=opts.sampling_k, softmax=opts.softmax)
    except ValueError as e:
        raise UserError(str(e)) from None
