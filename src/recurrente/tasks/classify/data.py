"""A classifier's options and data: labelled texts → splits → vocabularies → padded batches.

Splits: ``--valid``/``--test`` files when given; otherwise held out of the training file,
stratified by class (:func:`recurrente.data.formats.stratified_split`, deterministic in the
seed, so ``eval`` re-creates the same test split). Texts become word or character ids
(:class:`recurrente.data.vocab.Vocab`), cut to ``max_len`` (said once in the log), and are
batched by length (:class:`recurrente.data.padded.BucketBatches`).
"""

from dataclasses import dataclass, field
from typing import List, Optional

import numpy as np
import torch

from recurrente.data import formats
from recurrente.data.padded import BucketBatches, pad
from recurrente.data.vocab import PAD, UNK, Vocab
from recurrente.errors import UserError, check_choice
from recurrente.layers.registry import DEFAULT
from recurrente.tasks.base import Prepared
from recurrente.tasks.classify.metrics import evaluate_examples
from recurrente.train.trainer import TrainConfig


@dataclass
class ClassifierOptions:
    """Everything a classifier run is made of (the CLI's options, one field each)."""
    data: Optional[str] = None  # a CSV/TSV/JSONL file, a folder of class folders, or "sst2"
    valid: Optional[str] = None
    test: Optional[str] = None
    text_column: Optional[str] = None
    label_column: Optional[str] = None
    encoding: str = "utf-8"
    split: tuple = (0.9, 0.05, 0.05)  # train/valid/test when no --valid/--test is given
    tokenizer: str = "word"  # word | char
    lowercase: bool = True
    min_freq: int = 1
    vocab_size: Optional[int] = None
    max_len: int = 400
    vectors: Optional[str] = None  # word2vec/GloVe text file
    cell: str = "lstm"
    implementation: str = DEFAULT
    layers: int = 1
    hidden: int = 128
    embedding: Optional[int] = None
    bidirectional: bool = True
    pooling: str = "max"
    dropout: float = 0.3
    batch_size: int = 32
    train: TrainConfig = field(default_factory=lambda: TrainConfig(time_budget=180.0,
                                                                   eval_every=100))


@dataclass
class Examples:
    """Encoded examples: id arrays, label ids, and how many texts were cut to ``max_len``."""
    ids: List[np.ndarray]
    labels: np.ndarray
    truncated: int = 0

    def __len__(self) -> int:
        return len(self.ids)


# ----------------------------------------------------------------------------- reading

def read_splits(opts: ClassifierOptions) -> dict:
    """``{"train", "valid", "test"}`` -> LabelledTexts (test may be missing); see the module
    docstring for where each comes from."""
    if opts.data is None:
        raise UserError("expected DATA: a CSV/TSV/JSONL file, a folder with one sub-folder per "
                        "class, or a dataset name (sst2)")
    read = lambda path: formats.read_labelled(path, opts.text_column, opts.label_column,  # noqa
                                              opts.encoding)
    if formats.is_labelled_dataset(opts.data):
        given = formats.load_labelled_dataset(opts.data)
    else:
        given = {"train": read(opts.data)}
    for name in ("valid", "test"):
        if getattr(opts, name):
            given[name] = read(getattr(opts, name))
    missing = [name for name in ("valid", "test") if name not in given]
    if missing:
        fractions = dict(zip(("train", "valid", "test"), opts.split))
        wanted = {n: fractions[n] if n == "train" or n in missing else 0.0 for n in fractions}
        if sum(wanted[n] for n in missing) == 0:
            missing = []
        else:
            total = sum(wanted.values())
            parts = formats.stratified_split(given["train"].labels,
                                             [wanted[n] / total for n in fractions],
                                             opts.train.seed)
            whole = given["train"]
            for name, idx in zip(("train", "valid", "test"), parts):
                if name == "train" or name in missing:
                    given[name] = _subset(whole, idx, name)
    return given


def _subset(data: "formats.LabelledTexts", idx: np.ndarray, name: str):
    return formats.LabelledTexts([data.texts[i] for i in idx], [data.labels[i] for i in idx],
                                 {**data.source, "part": name}, data.text_column,
                                 data.label_column, data.guessed)


def encode(data, source: Vocab, labels: Vocab, max_len: int, where: str) -> Examples:
    """Texts to id arrays (cut to ``max_len``; an empty text is one ``<unk>``) and label ids."""
    try:
        y = labels.encode(data.labels, what="label")
    except UserError as e:
        raise UserError(f"{where}: {e}; a classifier can only predict labels seen in "
                        f"training") from None
    ids, truncated = [], 0
    for text in data.texts:
        x = source.encode_text(text)
        if len(x) > max_len:
            x, truncated = x[:max_len], truncated + 1
        ids.append(x if len(x) else np.array([source.unk_id], dtype=np.int64))
    return Examples(ids, y, truncated)


def collate(examples: Examples, pad_id: int):
    """``indices -> (ids (T, B), lengths (B,), labels (B,))``."""
    def batch(indices):
        ids, lengths = pad([examples.ids[i] for i in indices], pad_id)  # (T, B), (B,)
        return ids, lengths, torch.from_numpy(examples.labels[indices])
    return batch


# ----------------------------------------------------------------------------- the task's hooks

def prepare(opts: ClassifierOptions, vocabs: Optional[dict] = None, stdin=None) -> Prepared:
    """Splits, vocabularies (fitted on train only, or the resumed run's), batches, evaluator."""
    _check(opts)
    splits = read_splits(opts)
    if vocabs is None:
        source = Vocab.build((Vocab([], split=opts.tokenizer, lowercase=opts.lowercase).tokens(t)
                              for t in splits["train"].texts), specials=(PAD, UNK),
                             min_freq=opts.min_freq, max_size=opts.vocab_size,
                             split=opts.tokenizer, lowercase=opts.lowercase)
        vocabs = {"source": source, "labels": Vocab.of_labels(splits["train"].labels)}
    encoded = {name: encode(d, vocabs["source"], vocabs["labels"], opts.max_len,
                            d.source.get("path", name)) for name, d in splits.items()}
    train = encoded["train"]
    batches = BucketBatches([len(x) for x in train.ids], collate(train, vocabs["source"].pad_id),
                            opts.batch_size, opts.train.seed)
    valid = encoded["valid"]
    evaluate = (lambda model: evaluate_examples(model, valid, opts.batch_size)) if len(valid) \
        else None
    record = _record(opts, splits, encoded, vocabs)
    notes = _notes(opts, splits, encoded)
    extra = {"splits": splits, "encoded": encoded,
             "resolved": {"text_column": splits["train"].text_column,  # the spec's `guessed`
                          "label_column": splits["train"].label_column}}
    if opts.vectors and vocabs is not None:
        extra["vectors"] = _vectors(opts, vocabs["source"], notes)
    return Prepared(vocabs, batches, evaluate, record,
                    fingerprint={n: d.source.get("sha256") for n, d in splits.items()},
                    description=f"{_name(opts)} ({len(train):,} train texts, "
                                f"{len(vocabs['labels'])} classes, vocabulary "
                                f"{len(vocabs['source']):,})", extra=extra, notes=notes)


def _check(opts: ClassifierOptions) -> None:
    from recurrente.layers.factory import LM_CELLS
    from recurrente.layers.pooling import POOLINGS
    check_choice("--cell", opts.cell, LM_CELLS)
    check_choice("--tokenizer", opts.tokenizer, ("word", "char"))
    check_choice("--pooling", opts.pooling, POOLINGS)
    for flag, value in (("--max-len", opts.max_len), ("--hidden", opts.hidden),
                        ("--layers", opts.layers), ("--batch-size", opts.batch_size),
                        ("--min-freq", opts.min_freq)):
        if value < 1:
            raise UserError(f"expected {flag} >= 1, got {value}")
    if not 0 <= opts.dropout < 1:
        raise UserError(f"expected --dropout in [0, 1), got {opts.dropout}")


def _name(opts) -> str:
    return str(opts.data)


def _record(opts, splits, encoded, vocabs) -> dict:
    first = splits["train"]
    return {"data": opts.data, "sources": {n: d.source for n, d in splits.items()},
            "text_column": first.text_column, "label_column": first.label_column,
            "examples": {n: len(e) for n, e in encoded.items()},
            "truncated": {n: e.truncated for n, e in encoded.items()},
            "labels": vocabs["labels"].itos}


def _notes(opts, splits, encoded) -> List[str]:
    notes, first = [], splits["train"]
    if first.guessed:
        notes.append(f"reading texts from column {first.text_column!r} and labels from column "
                     f"{first.label_column!r} (guessed from their names; --text-column and "
                     f"--label-column choose others)")
    cut = {n: e.truncated for n, e in encoded.items() if e.truncated}
    if cut:
        notes.append(f"texts longer than --max-len {opts.max_len} tokens are cut to it ("
                     + ", ".join(f"{v:,} in {k}" for k, v in cut.items()) + ")")
    return notes


def _vectors(opts, source: Vocab, notes: List[str]):
    from recurrente.data.vectors import coverage, load_vectors
    matrix, found, dim = load_vectors(opts.vectors, source.itos, dim=opts.embedding)
    cov = coverage(found, source.itos, specials=source.specials)
    notes.append(f"pretrained vectors {opts.vectors}: {cov['found']:,} of {cov['total']:,} words "
                 f"({100 * cov['fraction']:.1f}%), dimension {dim}")
    return matrix, found, dim


def build(opts: ClassifierOptions, prepared: Prepared):
    from recurrente.tasks.classify.model import SequenceClassifier
    vectors = prepared.extra.get("vectors")
    embedding = vectors[2] if vectors is not None else opts.embedding
    try:
        model = SequenceClassifier(
            len(prepared.vocabs["source"]), len(prepared.vocabs["labels"]), cell=opts.cell,
            hidden_size=opts.hidden, num_layers=opts.layers, embedding_size=embedding,
            bidirectional=opts.bidirectional, pooling=opts.pooling, dropout=opts.dropout,
            implementation=opts.implementation, pad_id=prepared.vocabs["source"].pad_id)
    except ValueError as e:
        raise UserError(str(e)) from None
    if vectors is not None:
        matrix, found, _ = vectors
        with torch.no_grad():
            rows = torch.from_numpy(np.flatnonzero(found))
            model.embedding.weight[rows] = torch.from_numpy(matrix[found])
    model.vocabs = prepared.vocabs
    return model


# ----------------------------------------------------------------------------- prediction

@torch.inference_mode()
def probabilities(model, sequences: List[np.ndarray], batch_size: int = 64) -> np.ndarray:
    """``(N, C)`` class probabilities, in the order of ``sequences``, batched by length."""
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    order = np.argsort([len(s) for s in sequences], kind="stable")
    out = np.empty((len(sequences), model.num_classes), dtype=np.float64)
    for start in range(0, len(order), batch_size):
        chunk = order[start:start + batch_size]
        ids, lengths = pad([sequences[i] for i in chunk], model.embedding.padding_idx)
        logits = model(ids.to(device), lengths.to(device))  # (B, C)
        out[chunk] = torch.softmax(logits.double(), dim=-1).cpu().numpy()
    model.train(was_training)
    return out


def predict_texts(model, texts: List[str], top_k: int = 1, batch_size: int = 64,
                  max_len: Optional[int] = None) -> List[dict]:
    """Label, probability and the ``top_k`` most likely labels of every text."""
    if not model.vocabs:
        raise UserError("this model has no vocabularies; load it with SequenceClassifier.load(RUN)")
    source, labels = model.vocabs["source"], model.vocabs["labels"]
    max_len = max_len or getattr(model, "max_len", None) or 10 ** 9
    ids = []
    for text in texts:
        x = source.encode_text(text)[:max_len]
        ids.append(x if len(x) else np.array([source.unk_id], dtype=np.int64))
    probs = probabilities(model, ids, batch_size)  # (N, C)
    k = max(1, min(top_k, len(labels)))
    results = []
    for row in probs:
        best = np.argsort(-row, kind="stable")[:k]
        top = [(labels.itos[i], float(row[i])) for i in best]
        results.append({"label": top[0][0], "probability": top[0][1], "top": top})
    return results
