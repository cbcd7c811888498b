"""The sequence tagger as a registered task, and its Python entry points."""

from recurrente.tasks.base import TaskSpec
from recurrente.tasks.tag import data

SPEC = TaskSpec(name="tag", title="sequence tagger", model_class="SequenceTagger",
                options=data.TaggerOptions, prepare=data.prepare, build=data.build,
                metrics={"f1": "max", "token_accuracy": "max", "loss": "min"},
                positional="data", flag_names={"bidirectional": "--unidirectional"})


def train_tagger(opts: "data.TaggerOptions", out, resume: bool = False, progress: bool = True,
                 log=print) -> dict:
    """Train (or resume) a tagger into run directory ``out``; return a summary dict
    (``valid_f1``, ``valid_precision``, ``valid_recall``, ``steps``, ...)."""
    from recurrente.train.run import train_run
    return train_run(SPEC, opts, out, resume=resume, progress=progress, log=log)


def examples_of(run, split: str = "test", path=None, encoding=None):
    """Encoded sentences to score a run on: a CoNLL file (read as the run's files were), or the
    run's own ``split``, re-created from its recorded data and checked to be the same."""
    from recurrente.data import conll, schemes
    opts = run.options
    if path is not None:
        corpus = conll.read_conll(path, opts.word_column, opts.tag_column,
                                  encoding or opts.encoding, scheme=opts.scheme, repair=True)
        target = schemes.scheme_name(opts.tag_scheme or opts.scheme)
        for s in corpus.sentences:
            s.tags = schemes.convert(s.tags, opts.scheme, target)
        return data.encode(corpus, run.vocabs, str(path))
    from recurrente.train.run import recorded_split
    return data.encode(recorded_split(run, split, data.read_splits), run.vocabs, split)
