"""The sequence regressor as a registered task (how its data is prepared and its model built),
and its Python entry points."""

from typing import List, Optional

import numpy as np

from recurrente.data.padded import BucketBatches
from recurrente.data.vocab import PAD, UNK, Vocab
from recurrente.errors import UserError
from recurrente.tasks.base import Prepared, TaskSpec
from recurrente.tasks.regress import data
from recurrente.tasks.regress.inference import evaluate_examples
from recurrente.tasks.regress.model import SequenceRegressor
from recurrente.tasks.regress.options import RegressorOptions, check


def prepare(opts: RegressorOptions, vocabs: Optional[dict] = None, stdin=None) -> Prepared:
    """Splits, the vocabulary (fitted on train only, or the resumed run's), batches, evaluator;
    ``extra["target"]``: the training targets' mean and standard deviation."""
    check(opts)
    splits = data.read_splits(opts)
    if vocabs is None:
        words = Vocab([], split=opts.tokenizer, lowercase=opts.lowercase)
        vocabs = {"source": Vocab.build((words.tokens(t) for t in splits["train"].texts),
                                        specials=(PAD, UNK), min_freq=opts.min_freq,
                                        max_size=opts.vocab_size, split=opts.tokenizer,
                                        lowercase=opts.lowercase)}
    source = vocabs["source"]
    encoded = {name: data.encode(d, source, opts.max_len) for name, d in splits.items()}
    train = encoded["train"]
    batches = BucketBatches([len(x) for x in train.ids], data.collate(train, source.pad_id),
                            opts.batch_size, opts.train.seed)
    valid = encoded["valid"] if "valid" in encoded else None
    evaluate = (lambda model: evaluate_examples(model, valid, opts.batch_size)) \
        if valid is not None and len(valid) else None
    target = _target(train.targets)
    return Prepared(vocabs, batches, evaluate, _record(opts, splits, encoded, target),
                    fingerprint={n: d.source.get("sha256") for n, d in splits.items()},
                    description=f"{opts.data} ({len(train):,} train texts, target mean "
                                f"{target['mean']:.4g}, std {target['std']:.4g}, vocabulary "
                                f"{len(source):,})",
                    extra={"splits": splits, "encoded": encoded, "target": target,
                           "resolved": {"text_column": splits["train"].text_column,
                                        "label_column": splits["train"].label_column}},
                    notes=_notes(opts, splits, encoded))


def _target(y: np.ndarray) -> dict:
    """Mean, standard deviation (1 when every target is the same), min and max of ``y``."""
    std = float(y.std())
    return {"mean": float(y.mean()), "std": std if std > 0 else 1.0, "min": float(y.min()),
            "max": float(y.max())}


def _record(opts, splits, encoded, target) -> dict:
    first = splits["train"]
    return {"data": opts.data, "sources": {n: d.source for n, d in splits.items()},
            "text_column": first.text_column, "label_column": first.label_column,
            "examples": {n: len(e) for n, e in encoded.items()},
            "truncated": {n: e.truncated for n, e in encoded.items()}, "target": target}


def _notes(opts, splits, encoded) -> List[str]:
    notes, first = [], splits["train"]
    if first.guessed:
        notes.append(f"reading texts from column {first.text_column!r} and numbers from column "
                     f"{first.label_column!r} (guessed from their names; --text-column and "
                     f"--label-column choose others)")
    cut = {n: e.truncated for n, e in encoded.items() if e.truncated}
    if cut:
        notes.append(f"texts longer than --max-len {opts.max_len} tokens are cut to it ("
                     + ", ".join(f"{v:,} in {k}" for k, v in cut.items()) + ")")
    return notes


def build(opts: RegressorOptions, prepared: Prepared) -> SequenceRegressor:
    target = prepared.extra["target"]
    try:
        return SequenceRegressor(
            len(prepared.vocabs["source"]), cell=opts.cell, hidden_size=opts.hidden,
            num_layers=opts.layers, embedding_size=opts.embedding,
            bidirectional=opts.bidirectional, pooling=opts.pooling, dropout=opts.dropout,
            implementation=opts.implementation, pad_id=prepared.vocabs["source"].pad_id,
            target_mean=target["mean"], target_std=target["std"])
    except ValueError as e:
        raise UserError(str(e)) from None


def _summarize(best: dict, prepared: Prepared) -> dict:
    return {"target_mean": prepared.extra["target"]["mean"],
            "target_std": prepared.extra["target"]["std"]}


SPEC = TaskSpec(name="regress", title="sequence regressor", model_class="SequenceRegressor",
                package=__package__, options=RegressorOptions, prepare=prepare, build=build,
                metrics={"rmse": "min", "mae": "min", "r2": "max", "loss": "min"},
                positional="data", limits=("max_len",), summarize=_summarize,
                flag_names={"bidirectional": "--unidirectional", "lowercase": "--keep-case"},
                guessed=("text_column", "label_column"))


def train_regressor(opts: RegressorOptions, out, resume: bool = False, progress: bool = True,
                    log=print) -> dict:
    """Train (or resume) a regressor into run directory ``out``; return a summary dict
    (``valid_rmse``, ``valid_r2``, ``steps``, ``stop_reason``, ...)."""
    from recurrente.train.run import train_run
    return train_run(SPEC, opts, out, resume=resume, progress=progress, log=log)


def examples_of(run, split: str = "test", path=None, encoding: str = "utf-8"):
    """Encoded examples to score a run on: a file (read with the run's columns), or the run's
    own ``split``, re-created from its recorded data and checked to be the same."""
    opts = run.options
    source = run.vocabs["source"]
    if path is not None:
        return data.encode(data.read_numbered(path, opts.text_column, opts.label_column,
                                              encoding), source, opts.max_len)
    from recurrente.train.run import recorded_split
    return data.encode(recorded_split(run, split, data.read_splits), source, opts.max_len)
