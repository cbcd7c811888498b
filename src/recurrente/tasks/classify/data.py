"""A classifier's data: labelled texts → splits → encoded examples → padded batches.

Splits: ``--valid``/``--test`` files when given; otherwise held out of the training file,
stratified by class (:func:`recurrente.data.splits.hold_out`, deterministic in the seed, so
``eval`` re-creates the same test split). Texts become word or character ids
(:class:`recurrente.data.vocab.Vocab`), cut to ``max_len`` (said once in the log), and are
batched by length (:class:`recurrente.data.padded.BucketBatches`).
"""

from dataclasses import dataclass
from typing import List

import numpy as np
import torch

from recurrente.data import formats
from recurrente.data.padded import pad
from recurrente.data.splits import hold_out
from recurrente.data.vocab import Vocab
from recurrente.errors import UserError
from recurrente.tasks.classify.options import ClassifierOptions


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
    whole = given["train"]
    for name, idx in hold_out(given, opts.split, opts.train.seed, labels=whole.labels).items():
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


def encode_texts(texts: List[str], source: Vocab, max_len: int) -> List[np.ndarray]:
    """Texts to id arrays for prediction: cut to ``max_len``; an empty text is one ``<unk>``."""
    ids = []
    for text in texts:
        x = source.encode_text(text)[:max_len]
        ids.append(x if len(x) else np.array([source.unk_id], dtype=np.int64))
    return ids
