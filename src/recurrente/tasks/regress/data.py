"""A regressor's data: texts with a number each → splits → encoded examples → padded batches.

Files are the classifier's tables (:func:`recurrente.data.formats.read_labelled`: CSV, TSV or
JSON Lines, columns given or guessed by name); the number column is read as a float, and a
value that is not a finite number is refused in one sentence naming the file, the row and the
column. Splits: ``--valid``/``--test`` files when given; otherwise held out of the training
file by one seeded shuffle (:func:`recurrente.data.splits.hold_out`, unstratified; the same
seed gives the same parts, so ``eval`` re-creates the test split). Texts become word or
character ids (:class:`recurrente.data.vocab.Vocab`), cut to ``max_len``, and are batched by
length (:class:`recurrente.data.padded.BucketBatches`).
"""

import math
from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional

import numpy as np
import torch

from recurrente.data import formats
from recurrente.data.padded import pad
from recurrente.data.splits import hold_out
from recurrente.data.vocab import Vocab
from recurrente.errors import UserError
from recurrente.tasks.regress.options import RegressorOptions

SALT = 13  # the regressor's own shuffle (hold_out's salt: tasks shuffle apart)


@dataclass
class NumberedTexts:
    """Texts and their numbers, in file order (``source``: as :class:`formats.LabelledTexts`)."""
    texts: List[str]
    targets: np.ndarray  # (N,) float64
    source: dict
    text_column: Optional[str] = None
    label_column: Optional[str] = None
    guessed: bool = False

    def __len__(self) -> int:
        return len(self.texts)


@dataclass
class Examples:
    """Encoded examples: id arrays, targets ``(N,)`` float64, texts cut to ``max_len``."""
    ids: List[np.ndarray]
    targets: np.ndarray
    truncated: int = 0

    def __len__(self) -> int:
        return len(self.ids)


# ----------------------------------------------------------------------------- reading

def read_numbered(path, text_column: Optional[str] = None, label_column: Optional[str] = None,
                  encoding: str = "utf-8") -> NumberedTexts:
    """A CSV/TSV/JSONL file's texts and numbers (a folder of class folders is refused)."""
    if Path(path).expanduser().is_dir():
        raise UserError(f"{path} is a folder; expected a CSV, TSV or JSON Lines file with a text "
                        f"column and a number column")
    table = formats.read_labelled(path, text_column, label_column, encoding)
    targets = np.array([_number(v, i, table) for i, v in enumerate(table.labels)],
                       dtype=np.float64)
    return NumberedTexts(table.texts, targets, table.source, table.text_column,
                         table.label_column, table.guessed)


def _number(value: str, index: int, table) -> float:
    """``value`` as a finite float; a sentence naming the file, the row and the column if not."""
    try:
        number = float(value)
    except ValueError:
        number = math.nan
    if not math.isfinite(number):
        raise UserError(f"row {index + 1} of {table.source.get('path')} (after the header) has "
                        f"{value[:40]!r} in column {table.label_column!r}; expected a finite "
                        f"number to predict")
    return number


def read_splits(opts: RegressorOptions) -> dict:
    """``{"train", "valid", "test"}`` -> NumberedTexts; see the module docstring for where each
    comes from."""
    if opts.data is None:
        raise UserError("expected DATA: a CSV, TSV or JSON Lines file with a text column and a "
                        "number column")
    read = lambda path: read_numbered(path, opts.text_column, opts.label_column,  # noqa: E731
                                      opts.encoding)
    given = {"train": read(opts.data)}
    for name in ("valid", "test"):
        if getattr(opts, name):
            given[name] = read(getattr(opts, name))
    whole = given["train"]
    for name, idx in hold_out(given, opts.split, opts.train.seed, size=len(whole), salt=SALT,
                              items="texts").items():
        given[name] = _subset(whole, idx, name)
    return given


def _subset(data: NumberedTexts, idx: np.ndarray, name: str) -> NumberedTexts:
    return NumberedTexts([data.texts[i] for i in idx], data.targets[idx],
                         {**data.source, "part": name}, data.text_column, data.label_column,
                         data.guessed)


# ----------------------------------------------------------------------------- encoding

def encode_texts(texts: List[str], source: Vocab, max_len: int) -> List[np.ndarray]:
    """Texts to id arrays: cut to ``max_len``; an empty text is one ``<unk>``."""
    return _encoded(texts, source, max_len)[0]


def encode(data: NumberedTexts, source: Vocab, max_len: int) -> Examples:
    """Texts to id arrays (as :func:`encode_texts`), counting those cut; the targets as given."""
    ids, truncated = _encoded(data.texts, source, max_len)
    return Examples(ids, np.asarray(data.targets, dtype=np.float64), truncated)


def _encoded(texts: List[str], source: Vocab, max_len: int):
    ids, truncated = [], 0
    for text in texts:
        x = source.encode_text(text)
        if len(x) > max_len:
            x, truncated = x[:max_len], truncated + 1
        ids.append(x if len(x) else np.array([source.unk_id], dtype=np.int64))
    return ids, truncated


def collate(examples: Examples, pad_id: int):
    """``indices -> (ids (T, B), lengths (B,), targets (B,) float32)``, targets in the data's
    units (the model standardises them)."""
    def batch(indices):
        ids, lengths = pad([examples.ids[i] for i in indices], pad_id)  # (T, B), (B,)
        return ids, lengths, torch.from_numpy(examples.targets[indices].astype(np.float32))
    return batch
