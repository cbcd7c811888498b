"""The texts a trained language model is scored on: its own splits, re-created, or a file."""

from pathlib import Path

import numpy as np

from recurrente.data.corpora import load_file
from recurrente.errors import UserError


def tokenizer_of(run):
    """The run's tokenizer (its ``source`` vocabulary)."""
    return run.vocabs["source"]


def split_ids(run, split: str) -> np.ndarray:
    """Re-create the run's own ``split`` from its recorded corpus, checking it is the same text."""
    from recurrente.tasks.lm.data import prepare_data
    from recurrente.tasks.lm.options import LMOptions
    data = run.config.get("data", {})
    spec = data.get("corpus")
    if data.get("source", {}).get("kind") == "stdin":
        raise UserError("this run was trained on standard input, which cannot be read again; "
                        "pass --text FILE")
    opts = LMOptions(corpus=spec, encoding=data.get("encoding", "utf-8"),
                     split=tuple(data.get("split", (0.9, 0.05, 0.05))))
    try:
        prepared = prepare_data(opts, tokenizer=tokenizer_of(run))
    except UserError as e:
        raise UserError(f"the run's corpus {spec or '(embedded default)'} cannot be read any more "
                        f"({e}); pass --text FILE") from None
    if prepared.record["source"].get("sha256") != data.get("source", {}).get("sha256"):
        raise UserError(f"the run's corpus {spec or '(embedded default)'} has changed since "
                        f"training; pass --text FILE to evaluate another text")
    if split not in prepared.splits:
        raise UserError(f"expected --split train, valid or test, got {split!r}")
    return prepared.splits[split]


def text_ids(run, path, encoding: str = "utf-8"):
    """Ids of a user's text file, and how many of its tokens the vocabulary lacks."""
    text = load_file(Path(path), encoding).text
    tokenizer = tokenizer_of(run)
    return tokenizer.encode(text), int(tokenizer.count_unknown(text))
