"""The sequence tagger as a registered task: its spec, ``prepare`` (files → vocabularies,
batches, evaluator) and ``build`` (the model), and its Python entry points."""

from typing import Optional

import numpy as np
import torch

from recurrente.data import schemes
from recurrente.data.padded import BucketBatches
from recurrente.errors import UserError
from recurrente.tasks.base import Prepared, TaskSpec
from recurrente.data.vectors import vocabulary_vectors
from recurrente.data.splits import overlap_notes
from recurrente.tasks.tag.data import build_vocabs, collate, encode, read_splits
from recurrente.tasks.tag.options import TaggerOptions, check


def prepare(opts: TaggerOptions, vocabs: Optional[dict] = None, stdin=None) -> Prepared:
    check(opts)
    splits = read_splits(opts)
    train = splits["train"]
    if vocabs is None:
        vocabs = build_vocabs(train, opts)
    encoded = {n: encode(c, vocabs, c.source.get("path", n)) for n, c in splits.items()}
    batches = BucketBatches([len(w) for w in encoded["train"].words], collate(encoded["train"]),
                            opts.batch_size, opts.train.seed)
    scheme = schemes.scheme_name(opts.tag_scheme or opts.scheme)
    valid = encoded["valid"]
    from recurrente.tasks.tag.inference import evaluate_encoded
    evaluate = lambda model: evaluate_encoded(model, valid, scheme, opts.batch_size)  # noqa
    repaired = {c.source.get("path"): c.source.get("repaired") for c in splits.values()}
    notes = [f"{n} sentences of {path} had ill-formed {opts.scheme} tags, repaired the conlleval "
             f"way" for path, n in repaired.items() if n]
    sentences = {n: [" ".join(s.tokens) for s in c.sentences] for n, c in splits.items()}
    notes += overlap_notes(sentences.pop("train"), sentences, opts.train.seed)
    extra = {"splits": splits, "encoded": encoded}
    if opts.vectors:
        extra["vectors"] = vocabulary_vectors(opts.vectors, vocabs["source"], opts.embedding,
                                              notes)
    return Prepared(vocabs, batches, evaluate,
                    {"data": opts.data, "sources": {n: c.source for n, c in splits.items()},
                     "sentences": {n: len(c) for n, c in splits.items()},
                     "tokens": {n: c.tokens for n, c in splits.items()},
                     "tags": vocabs["tags"].itos, "scheme": scheme},
                    fingerprint={n: c.source.get("sha256") for n, c in splits.items()},
                    description=f"{opts.data} ({len(train):,} train sentences, "
                                f"{train.tokens:,} words, {len(vocabs['tags'])} tags in "
                                f"{scheme}, vocabulary {len(vocabs['source']):,})",
                    extra=extra, notes=notes)


def build(opts: TaggerOptions, prepared: Prepared):
    from recurrente.tasks.tag.model import SequenceTagger
    v = prepared.vocabs
    try:
        model = SequenceTagger(
            len(v["source"]), len(v["chars"]), v["tags"].itos,
            schemes.scheme_name(opts.tag_scheme or opts.scheme), cell=opts.cell,
            hidden_size=opts.hidden, num_layers=opts.layers,
            embedding_size=prepared.extra["vectors"][2] if "vectors" in prepared.extra
            else opts.embedding or 100,
            bidirectional=opts.bidirectional, chars=opts.chars, head=opts.head,
            dropout=opts.dropout, word_dropout=opts.word_dropout,
            implementation=opts.implementation)
    except ValueError as e:
        raise UserError(str(e)) from None
    counts = np.zeros(len(v["source"]), dtype=np.int64)
    for ids in prepared.extra["encoded"]["train"].words:
        np.add.at(counts, ids, 1)
    model.rare.copy_(torch.from_numpy(counts == 1))  # singletons: word dropout's candidates
    if "vectors" in prepared.extra:
        matrix, found, _ = prepared.extra["vectors"]
        with torch.no_grad():
            model.embedding.weight[torch.from_numpy(np.flatnonzero(found))] = \
                torch.from_numpy(matrix[found])
    return model


SPEC = TaskSpec(name="tag", title="sequence tagger", model_class="SequenceTagger",
                package=__package__, options=TaggerOptions,
                prepare=prepare, build=build,
                metrics={"f1": "max", "token_accuracy": "max", "loss": "min"},
                positional="data", flag_names={"bidirectional": "--unidirectional"})


def train_tagger(opts: TaggerOptions, out, resume: bool = False, progress: bool = True,
                 log=print) -> dict:
    """Train (or resume) a tagger into run directory ``out``; return a summary dict
    (``valid_f1``, ``valid_precision``, ``valid_recall``, ``steps``, ...)."""
    from recurrente.train.run import train_run
    return train_run(SPEC, opts, out, resume=resume, progress=progress, log=log)


def examples_of(run, split: str = "test", path=None, encoding=None):
    """Encoded sentences to score a run on: a CoNLL file (read as the run's files were), or the
    run's own ``split``, re-created from its recorded data and checked to be the same."""
    from recurrente.data import conll
    opts = run.options
    if path is not None:
        corpus = conll.read_conll(path, opts.word_column, opts.tag_column,
                                  encoding or opts.encoding, scheme=opts.scheme, repair=True)
        target = schemes.scheme_name(opts.tag_scheme or opts.scheme)
        for s in corpus.sentences:
            s.tags = schemes.convert(s.tags, opts.scheme, target)
        return encode(corpus, run.vocabs, str(path))
    from recurrente.train.run import recorded_split
    return encode(recorded_split(run, split, read_splits), run.vocabs, split)
