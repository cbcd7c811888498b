"""The sequence classifier as a registered task (how its data is prepared and its model built),
and its Python entry points."""

from typing import List, Optional

import numpy as np
import torch

from recurrente.data.padded import BucketBatches
from recurrente.data.splits import overlap_notes
from recurrente.data.vectors import vocabulary_vectors
from recurrente.data.vocab import PAD, UNK, Vocab
from recurrente.errors import UserError
from recurrente.tasks.base import Prepared, TaskSpec
from recurrente.tasks.classify import data
from recurrente.tasks.classify.inference import evaluate_examples
from recurrente.tasks.classify.model import SequenceClassifier
from recurrente.tasks.classify.options import ClassifierOptions, check


def prepare(opts: ClassifierOptions, vocabs: Optional[dict] = None, stdin=None) -> Prepared:
    """Splits, vocabularies (fitted on train only, or the resumed run's), batches, evaluator."""
    check(opts)
    splits = data.read_splits(opts)
    if vocabs is None:
        source = Vocab.build((Vocab([], split=opts.tokenizer, lowercase=opts.lowercase).tokens(t)
                              for t in splits["train"].texts), specials=(PAD, UNK),
                             min_freq=opts.min_freq, max_size=opts.vocab_size,
                             split=opts.tokenizer, lowercase=opts.lowercase)
        vocabs = {"source": source, "labels": Vocab.of_labels(splits["train"].labels)}
    encoded = {name: data.encode(d, vocabs["source"], vocabs["labels"], opts.max_len,
                            d.source.get("path", name)) for name, d in splits.items()}
    train = encoded["train"]
    batches = BucketBatches([len(x) for x in train.ids],
                            data.collate(train, vocabs["source"].pad_id),
                            opts.batch_size, opts.train.seed)
    valid = encoded["valid"]
    evaluate = (lambda model: evaluate_examples(model, valid, opts.batch_size)) if len(valid) \
        else None
    record = _record(opts, splits, encoded, vocabs)
    notes = _notes(opts, splits, encoded) + overlap_notes(
        splits["train"].texts, {n: d.texts for n, d in splits.items() if n != "train"},
        opts.train.seed)
    extra = {"splits": splits, "encoded": encoded,
             "resolved": {"text_column": splits["train"].text_column,  # the spec's `guessed`
                          "label_column": splits["train"].label_column}}
    if opts.vectors and vocabs is not None:
        extra["vectors"] = vocabulary_vectors(opts.vectors, vocabs["source"], opts.embedding,
                                              notes)
    return Prepared(vocabs, batches, evaluate, record,
                    fingerprint={n: d.source.get("sha256") for n, d in splits.items()},
                    description=f"{_name(opts)} ({len(train):,} train texts, "
                                f"{len(vocabs['labels'])} classes, vocabulary "
                                f"{len(vocabs['source']):,})", extra=extra, notes=notes)


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


def build(opts: ClassifierOptions, prepared: Prepared):
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
    return model


SPEC = TaskSpec(name="classify", title="sequence classifier", model_class="SequenceClassifier",
                package=__package__, options=ClassifierOptions,
                prepare=prepare, build=build,
                metrics={"accuracy": "max", "macro_f1": "max", "loss": "min"},
                positional="data", limits=("max_len",),
                flag_names={"bidirectional": "--unidirectional", "lowercase": "--keep-case"},
                guessed=("text_column", "label_column"))


def train_classifier(opts: ClassifierOptions, out, resume: bool = False,
                     progress: bool = True, log=print) -> dict:
    """Train (or resume) a classifier into run directory ``out``; return a summary dict
    (``valid_accuracy``, ``valid_macro_f1``, ``steps``, ``stop_reason``, ...)."""
    from recurrente.train.run import train_run
    return train_run(SPEC, opts, out, resume=resume, progress=progress, log=log)


def examples_of(run, split: str = "test", path=None, encoding: str = "utf-8"):
    """Encoded examples to score a run on: a labelled file (read with the run's columns), or the
    run's own ``split``, re-created from its recorded data and checked to be the same."""
    from recurrente.data import formats
    opts = run.options
    vocabs = run.vocabs
    if path is not None:
        texts = formats.read_labelled(path, opts.text_column, opts.label_column, encoding)
        return data.encode(texts, vocabs["source"], vocabs["labels"], opts.max_len, str(path))
    from recurrente.train.run import recorded_split
    return data.encode(recorded_split(run, split, data.read_splits), vocabs["source"],
                       vocabs["labels"], opts.max_len, split)
