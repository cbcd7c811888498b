"""The sequence classifier as a registered task, and its Python entry points."""

from recurrente.tasks.base import TaskSpec
from recurrente.tasks.classify import data

SPEC = TaskSpec(name="classify", title="sequence classifier", model_class="SequenceClassifier",
                options=data.ClassifierOptions, prepare=data.prepare, build=data.build,
                metrics={"accuracy": "max", "macro_f1": "max", "loss": "min"},
                positional="data", flag_names={"bidirectional": "--unidirectional",
                                               "lowercase": "--keep-case"},
                guessed=("text_column", "label_column"))


def train_classifier(opts: "data.ClassifierOptions", out, resume: bool = False,
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
