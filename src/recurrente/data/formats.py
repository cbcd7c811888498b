"""Labelled texts for classification: tables (CSV, TSV, JSON Lines), class folders, named datasets.

:func:`read_labelled` turns what the user names into a :class:`LabelledTexts`, one text and one
label (always a string) per example; :func:`stratified_split` holds out validation and test
examples in the proportion of every class; :func:`load_labelled_dataset` reads a named dataset.
Everything the user can fix raises :class:`~recurrente.errors.UserError` with one sentence that
names the file, the line and the columns involved.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from recurrente.data import download
from recurrente.data.corpora import decode_bytes
from recurrente.errors import UserError

TEXT_NAMES = ("text", "sentence", "review", "content", "document", "tweet", "body", "comment")
LABEL_NAMES = ("label", "labels", "class", "category", "sentiment", "target", "y", "polarity")
_DELIMITERS = {".csv": ",", ".tsv": "\t", ".tab": "\t"}


@dataclass
class LabelledTexts:
    """Examples of a classification task, in file order.

    Attributes:
        texts, labels: one entry per example; labels are strings (a JSON ``1`` becomes ``"1"``).
        source: JSON-able record: ``kind`` (csv/tsv/jsonl/folder/dataset), ``path``, ``sha256``
            of the file's bytes (or of the folder's content) and the columns used.
        text_column, label_column: the columns read (``None`` for a folder of class folders).
        guessed: whether a column was guessed from its name rather than given (worth logging).
    """

    texts: list[str]
    labels: list[str]
    source: dict
    text_column: str | None = None
    label_column: str | None = None
    guessed: bool = False


# ----------------------------------------------------------------------------- columns

def _match(name: str, columns: list[str]) -> str | None:
    """``name`` among ``columns``: exact first, else the one equal to it ignoring case."""
    if name in columns:
        return name
    folded = [c for c in columns if c.casefold() == name.casefold()]
    return folded[0] if folded else None


def choose_columns(columns: list[str], text_column: str | None, label_column: str | None,
                   origin: str) -> tuple[str, str, bool]:
    """The text and label columns: the given ones (checked) or guessed from common names."""
    available = ", ".join(repr(c) for c in columns) or "none"
    chosen, guessed = [], False
    for given, names, what in ((text_column, TEXT_NAMES, "text"),
                               (label_column, LABEL_NAMES, "label")):
        if given is not None:
            found = _match(given, columns)
            if found is None:
                raise UserError(f"{what} column {given!r} is not in {origin}; its columns are "
                                f"{available}")
        else:
            found = next((m for m in (_match(n, columns) for n in names) if m), None)
            if found is None:
                raise UserError(f"cannot tell which column of {origin} holds the {what} (columns: "
                                f"{available}); pass --{what}-column NAME")
            guessed = True
        chosen.append(found)
    if chosen[0] == chosen[1]:
        raise UserError(f"the text and label columns of {origin} are both {chosen[0]!r}; "
                        f"expected two different columns")
    return chosen[0], chosen[1], guessed


def _label(value, origin: str, line: int) -> str:
    """A label as a string; integers (and integral floats) keep their decimal form, other
    finite numbers their shortest one (``4.5``), which a regressor's target reads back."""
    if value is None:
        value = ""
    elif isinstance(value, bool):
        value = str(value).lower()
    elif isinstance(value, int) or (isinstance(value, float) and value.is_integer()):
        value = str(int(value))
    elif isinstance(value, float) and math.isfinite(value):
        value = repr(value)
    elif not isinstance(value, str):
        raise UserError(f"line {line} of {origin} has a label of type {type(value).__name__}; "
                        f"expected a string or a number")
    value = value.strip()
    if not value:
        raise UserError(f"line {line} of {origin} has an empty label; expected every example "
                        f"to have one")
    return value


# ----------------------------------------------------------------------------- files

def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as err:
        raise UserError(f"cannot read {path}: {err.strerror or err}") from None


def _no_examples(origin: str) -> UserError:
    return UserError(f"{origin} has no examples; expected at least one text with its label")


def _read_table(path: Path, text: str, delimiter: str, text_column, label_column,
                quoting: int = csv.QUOTE_MINIMAL):
    """A delimited table with a header row: (texts, labels, text column, label column, guessed)."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, quoting=quoting)
    kind = "TSV" if delimiter == "\t" else "CSV"
    try:
        header = next(reader, None)
        if not header or not any(h.strip() for h in header):
            raise _no_examples(str(path))
        header = [h.strip() for h in header]
        tcol, lcol, guessed = choose_columns(header, text_column, label_column, str(path))
        ti, li = header.index(tcol), header.index(lcol)
        texts, labels, line = [], [], reader.line_num + 1
        for row in reader:
            if row:  # blank lines are skipped
                _check_row(row, len(header), max(ti, li), path, line)
                texts.append(row[ti])
                labels.append(_label(row[li], str(path), line))
            line = reader.line_num + 1
    except csv.Error as err:
        raise UserError(f"line {reader.line_num} of {path} cannot be parsed as {kind}: "
                        f"{err}") from None
    return texts, labels, tcol, lcol, guessed


def _check_row(row: list[str], width: int, needed: int, path: Path, line: int) -> None:
    extra = [f for f in row[width:] if f.strip()]
    if len(row) <= needed or extra:
        sep = "tab" if path.suffix.lower() in (".tsv", ".tab") else "separator"
        hint = ("a quote opened there may be unclosed" if any("\n" in f for f in row)
                else f"quote fields that contain a {sep}")
        raise UserError(f"line {line} of {path} has {len(row)} fields but the header has {width}; "
                        f"expected one field per column ({hint})")


def _read_jsonl(path: Path, text: str, text_column, label_column):
    """JSON Lines: one object per line, blank lines skipped."""
    texts, labels, cols, guessed = [], [], None, False
    for line, raw in enumerate(text.split("\n"), 1):
        if not raw.strip():
            continue
        try:
            obj = json.loads(raw)
        except json.JSONDecodeError as err:
            raise UserError(f"line {line} of {path} is not valid JSON ({err.msg} at column "
                            f"{err.colno}); expected one JSON object per line") from None
        if not isinstance(obj, dict):
            raise UserError(f"line {line} of {path} holds a JSON {type(obj).__name__}; expected "
                            f"an object such as {{\"text\": ..., \"label\": ...}}")
        if cols is None:
            *cols, guessed = choose_columns(list(obj), text_column, label_column, str(path))
        missing = [c for c in cols if c not in obj]
        if missing:
            raise UserError(f"line {line} of {path} has no field {missing[0]!r}; expected every "
                            f"line to have {cols[0]!r} and {cols[1]!r}")
        if not isinstance(obj[cols[0]], str):
            raise UserError(f"line {line} of {path} has a {type(obj[cols[0]]).__name__} in "
                            f"{cols[0]!r}; expected a string")
        texts.append(obj[cols[0]])
        labels.append(_label(obj[cols[1]], str(path), line))
    if cols is None:
        raise _no_examples(str(path))
    return texts, labels, cols[0], cols[1], guessed


def read_table_file(path: Path, text_column: str | None = None, label_column: str | None = None,
                    encoding: str = "utf-8", quoting: int = csv.QUOTE_MINIMAL) -> LabelledTexts:
    """One CSV, TSV or JSONL file (by extension; anything else is sniffed from its header line)."""
    data = _read_bytes(path)
    text = decode_bytes(data, str(path), encoding)
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".ndjson"):
        kind, got = "jsonl", _read_jsonl(path, text, text_column, label_column)
    else:
        end = text.find("\n")
        header = text if end < 0 else text[:end]
        delimiter = _DELIMITERS.get(suffix, "\t" if "\t" in header else ",")
        kind = "tsv" if delimiter == "\t" else "csv"
        got = _read_table(path, text, delimiter, text_column, label_column, quoting)
    texts, labels, tcol, lcol, guessed = got
    if not texts:
        raise _no_examples(str(path))
    source = {"kind": kind, "path": str(path.resolve()), "sha256": hashlib.sha256(data).hexdigest(),
              "text_column": tcol, "label_column": lcol, "encoding": encoding}
    return LabelledTexts(texts, labels, source, tcol, lcol, guessed)


# ----------------------------------------------------------------------------- folders

def _visible(path: Path) -> bool:
    return not path.name.startswith(".")


def read_class_folders(folder: Path, encoding: str = "utf-8") -> LabelledTexts:
    """One sub-folder per class, one example per ``.txt`` file under it; sorted, hidden skipped."""
    classes = sorted(p for p in folder.iterdir() if p.is_dir() and _visible(p))
    texts, labels, digest = [], [], hashlib.sha256()
    for class_dir in classes:
        files = [p for p in class_dir.rglob("*.txt") if p.is_file()
                 and all(_visible(Path(part)) for part in p.relative_to(folder).parts)]
        for path in sorted(files, key=lambda p: p.relative_to(folder).as_posix()):
            data = _read_bytes(path)
            texts.append(decode_bytes(data, str(path), encoding))
            labels.append(class_dir.name)
            rel = path.relative_to(folder).as_posix().encode("utf-8", "surrogateescape")
            digest.update(rel + b"\0" + hashlib.sha256(data).digest())
    if not texts:
        raise UserError(f"folder {folder} has no examples; expected one sub-folder per class "
                        f"holding .txt files (one example per file)")
    source = {"kind": "folder", "path": str(folder.resolve()), "sha256": digest.hexdigest(),
              "classes": [c.name for c in classes], "encoding": encoding}
    return LabelledTexts(texts, labels, source)


def read_labelled(path, text_column: str | None = None, label_column: str | None = None,
                  encoding: str = "utf-8") -> LabelledTexts:
    """Labelled texts from a table file (CSV/TSV/JSONL) or a folder of class folders.

    Example::

        >>> data = read_labelled("reviews.csv")           # doctest: +SKIP
        >>> data.text_column, data.label_column, data.guessed
        ('review', 'sentiment', True)
    """
    path = Path(path).expanduser()
    if path.is_dir():
        return read_class_folders(path, encoding)
    if not path.exists():
        raise UserError(f"file or folder not found: {path}")
    return read_table_file(path, text_column, label_column, encoding)


# ----------------------------------------------------------------------------- named datasets

@dataclass(frozen=True)
class LabelledDataset:
    """A labelled dataset of :data:`download.DATASETS`: our split -> its split, and the columns."""

    dataset: str
    splits: dict[str, str]
    text_column: str
    label_column: str
    quoting: int = csv.QUOTE_MINIMAL


# GLUE's TSV files are read without quote processing, as GLUE's own readers do.
LABELLED_DATASETS: dict[str, LabelledDataset] = {
    "sst2": LabelledDataset("sst2", {"train": "train", "test": "dev"}, "sentence", "label",
                            csv.QUOTE_NONE),
}


def is_labelled_dataset(name) -> bool:
    """Whether ``name`` is a key of :data:`LABELLED_DATASETS`."""
    return isinstance(name, str) and name in LABELLED_DATASETS


def load_labelled_dataset(name: str) -> dict[str, LabelledTexts]:
    """A named labelled dataset, fetched if needed: ``{"train": ..., "test": ...}``.

    ``sst2``: GLUE's test.tsv has no labels, so ``train`` is GLUE's train.tsv and ``test`` is
    GLUE's dev.tsv (872 sentences); the tool holds out its validation split from train.
    """
    if not is_labelled_dataset(name):
        raise UserError(f"unknown labelled dataset {name!r}; expected one of: "
                        f"{', '.join(sorted(LABELLED_DATASETS))}")
    spec = LABELLED_DATASETS[name]
    paths = download.fetch(spec.dataset)
    out = {}
    for split, theirs in spec.splits.items():
        data = read_table_file(paths[theirs], spec.text_column, spec.label_column,
                               quoting=spec.quoting)
        data.source = {**data.source, "kind": "dataset", "name": name, "split": split}
        out[split] = data
    return out


# ----------------------------------------------------------------------------- splitting

def _allocate(n: int, fractions: np.ndarray) -> np.ndarray:
    """Split ``n`` into counts near ``n * fractions``; one in each non-zero split if n allows."""
    target = n * fractions
    counts = np.floor(target).astype(np.int64)
    nonzero = fractions > 0
    if n >= nonzero.sum():
        counts[nonzero] = np.maximum(counts[nonzero], 1)
    while counts.sum() < n:  # largest remainder first, among the non-zero splits
        gap = np.where(nonzero, target - counts, -np.inf)
        counts[int(np.argmax(gap))] += 1
    while counts.sum() > n:  # minimums overshot: take from the most over-served split above 1
        over = np.where(counts > 1, counts - target, -np.inf)
        counts[int(np.argmax(over))] -= 1
    return counts


def stratified_split(labels: list[str], fractions=(0.9, 0.05, 0.05), seed: int = 0
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Indices of (train, valid, test), each class cut in the given proportions.

    Every class is shuffled with ``np.random.default_rng([seed, crc32(label)])`` (independent of
    the other classes) and cut within one example of its target counts, at least one example in
    every non-zero split when the class has enough (that minimum may cost the largest split one
    more example). Each index appears exactly once; each array is sorted (``int64``).
    """
    f = np.asarray(fractions, dtype=np.float64)
    if f.shape != (3,) or (f < 0).any() or abs(f.sum() - 1) > 1e-6:
        raise UserError(f"split fractions must be three non-negative numbers that sum to 1, "
                        f"got {tuple(fractions)}")
    if not isinstance(seed, (int, np.integer)) or seed < 0:
        raise UserError(f"the split seed must be a non-negative integer, got {seed!r}")
    needed = int((f > 0).sum())
    if len(labels) < needed:
        raise UserError(f"{len(labels)} examples are too few to split into {needed} non-empty "
                        f"parts (fractions {tuple(fractions)}); expected at least {needed}")
    classes, inverse = np.unique(np.asarray(labels, dtype=str), return_inverse=True)
    by_class = np.split(np.argsort(inverse, kind="stable"), np.cumsum(np.bincount(inverse))[:-1])
    parts: list[list[np.ndarray]] = [[], [], []]
    for label, idx in zip(classes.tolist(), by_class):
        rng = np.random.default_rng([int(seed), zlib.crc32(label.encode("utf-8", "replace"))])
        idx = rng.permutation(idx)
        for k, piece in enumerate(np.split(idx, np.cumsum(_allocate(len(idx), f))[:-1])):
            parts[k].append(piece)
    out = tuple(np.sort(np.concatenate(p or [np.empty(0, np.int64)])).astype(np.int64)
                for p in parts)
    empty = [n for n, p, fr in zip(("train", "valid", "test"), out, f) if fr > 0 and not len(p)]
    if empty:
        raise UserError(f"the {empty[0]} split would be empty: every class has too few examples "
                        f"for fractions {tuple(fractions)}; expected more examples")
    return out
