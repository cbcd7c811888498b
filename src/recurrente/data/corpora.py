"""Corpora: turn what the user names on the command line into one normalised text.

A *corpus spec* is one of

* ``None``: the embedded default, described below;
* a path to a text file;
* a path to a folder: every ``.txt`` file under it, recursively, in sorted order of their
  paths relative to the folder, joined with ``"\\n"``;
* ``"-"``: standard input;
* the name of a dataset of :data:`recurrente.data.download.DATASETS` (``quijote``, ``ptb``, ...),
  fetched into :func:`recurrente.data.download.data_dir` on first use.

Every text is normalised the same way: a UTF-8 byte order mark is dropped and ``CRLF``/``CR``
line ends become ``LF``. Anything the user can fix (a missing file, an empty or binary file, a
file in another encoding, an unknown dataset name) raises :class:`~recurrente.errors.UserError`
with one sentence.

The embedded default: the course's "structured text / source code" experiment
------------------------------------------------------------------------------
With no corpus named, the model learns from the Python standard library of the interpreter that
runs it: a deterministic selection of its ``.py`` files (sorted by relative path; tests, IDLE,
``lib2to3`` and installed packages left out) until about 3 MB of text. Source code is structured
text with long-range rules (indentation, matched brackets, ``def``/``return``), which is what the
course's source-code experiment studies, and it is on every machine already, so the package ships
no third-party text at all.
"""

from __future__ import annotations

import hashlib
import os
import platform
import sys
import sysconfig
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, TextIO

from recurrente.data import download
from recurrente.errors import UserError

DEFAULT_TARGET_CHARS = 3_000_000
"""Size the embedded default stops at (it ends with the file that crosses it)."""

_SKIP_DIRS = frozenset({
    "test", "tests", "idlelib", "lib2to3", "site-packages", "dist-packages", "__pycache__",
    "turtledemo", "ensurepip",
})
_BINARY_PROBE = 8192  # bytes inspected for NUL characters


@dataclass
class Corpus:
    """A loaded corpus.

    Attributes:
        name: short human name (file stem, folder name, dataset name, ``"stdin"``...).
        source: JSON-able record of where the text came from: ``kind`` plus ``path`` or ``name``,
            and ``sha256`` of :attr:`text` (UTF-8); split datasets add ``splits_sha256``.
        text: the whole text; for datasets with their own splits, the training split.
        splits: ``None``, or ``{"train": ..., "valid": ..., "test": ...}`` for datasets that come
            already split (PTB, WikiText-2).
    """

    name: str
    source: dict
    text: str
    splits: dict[str, str] | None = None


def sha256_text(text: str) -> str:
    """Hex SHA-256 of ``text`` encoded as UTF-8 (surrogates passed through)."""
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def normalize_newlines(text: str) -> str:
    """Drop a leading byte order mark and turn ``CRLF`` and lone ``CR`` into ``LF``."""
    if text.startswith("\ufeff"):
        text = text[1:]
    return text.replace("\r\n", "\n").replace("\r", "\n")


def decode_bytes(data: bytes, origin: str, encoding: str = "utf-8") -> str:
    """Decode the bytes of a text file and normalise its line ends.

    Raises UserError for a binary file (NUL bytes in the first 8 KB; skipped for UTF-16/32,
    where NUL bytes are normal), for bytes that are not valid in ``encoding`` (naming the byte
    offset) and for an unknown encoding name.
    """
    wide = encoding.lower().replace("_", "-").startswith(("utf-16", "utf-32", "utf16", "utf32"))
    if not wide and b"\x00" in data[:_BINARY_PROBE]:
        raise UserError(f"{origin} looks like a binary file (NUL bytes in its first 8 KB); "
                        f"expected a text file")
    try:
        text = data.decode(encoding)
    except LookupError:
        raise UserError(f"unknown text encoding {encoding!r}; expected a Python codec name "
                        f"such as utf-8 or latin-1") from None
    except UnicodeDecodeError as err:
        raise UserError(f"{origin} is not valid {encoding}: the byte 0x{data[err.start]:02x} at "
                        f"offset {err.start} cannot be decoded; if the file uses another "
                        f"encoding, pass it, e.g. --encoding latin-1") from None
    return normalize_newlines(text)


def read_text_file(path: Path, encoding: str = "utf-8") -> str:
    """Read, check and normalise one text file (empty files are returned as ``""``)."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise UserError(f"file not found: {path}") from None
    except OSError as err:
        raise UserError(f"cannot read {path}: {err.strerror or err}") from None
    return decode_bytes(data, str(path), encoding)


def _require_text(text: str, origin: str) -> None:
    if not text.strip():
        raise UserError(f"{origin} is empty (or only whitespace); expected some text to learn from")


def _record(kind: str, text: str, **fields) -> dict:
    return {"kind": kind, **fields, "sha256": sha256_text(text)}


# ----------------------------------------------------------------------------- file, folder, stdin

def load_file(path: Path, encoding: str = "utf-8") -> Corpus:
    """One text file as a corpus."""
    text = read_text_file(path, encoding)
    _require_text(text, str(path))
    record = _record("file", text, path=str(path.resolve()), encoding=encoding)
    return Corpus(name=path.stem, source=record, text=text)


def text_files_under(folder: Path) -> list[Path]:
    """The ``.txt`` files under ``folder`` (recursive), sorted by their relative POSIX path."""
    found = [p for p in folder.rglob("*") if p.suffix.lower() == ".txt" and p.is_file()]
    return sorted(found, key=lambda p: p.relative_to(folder).as_posix())


def load_folder(folder: Path, encoding: str = "utf-8") -> Corpus:
    """Every ``.txt`` file under ``folder``, recursively, joined with newlines."""
    files = text_files_under(folder)
    if not files:
        raise UserError(f"folder {folder} has no .txt files (searched recursively); "
                        f"expected at least one")
    texts = [read_text_file(p, encoding) for p in files]
    text = "\n".join(t for t in texts if t)
    _require_text(text, f"every .txt file under {folder}")
    record = _record("folder", text, path=str(folder.resolve()), files=len(files),
                     encoding=encoding)
    return Corpus(name=folder.resolve().name, source=record, text=text)


def load_stdin(stream: TextIO | BinaryIO | None = None, encoding: str = "utf-8") -> Corpus:
    """Standard input (or ``stream``) as a corpus; bytes are decoded with ``encoding``."""
    stream = sys.stdin if stream is None else stream
    raw = getattr(stream, "buffer", stream).read()
    if isinstance(raw, bytes):
        text = decode_bytes(raw, "standard input", encoding)
    else:
        text = normalize_newlines(raw)
    _require_text(text, "standard input")
    return Corpus(name="stdin", source=_record("stdin", text), text=text)


# ----------------------------------------------------------------------------- embedded default

def stdlib_files(root: Path | None = None) -> list[Path]:
    """The standard library's ``.py`` files, sorted by relative path, skipped folders pruned."""
    root = Path(sysconfig.get_paths()["stdlib"]) if root is None else root
    found = []
    for folder, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if d not in _SKIP_DIRS and not d.startswith(".")]
        found.extend(Path(folder, f) for f in filenames if f.endswith(".py"))
    return sorted(found, key=lambda p: p.relative_to(root).as_posix())


def load_default(target_chars: int = DEFAULT_TARGET_CHARS) -> Corpus:
    """The embedded default: this interpreter's standard-library source, about 3 MB of it."""
    root = Path(sysconfig.get_paths()["stdlib"])
    parts: list[str] = []
    total, used = 0, 0
    for path in stdlib_files(root):
        if total >= target_chars:
            break
        try:
            body = normalize_newlines(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError):
            continue  # unreadable or not UTF-8: leave it out, the selection stays deterministic
        if not body.endswith("\n"):
            body += "\n"
        part = f"# ---- {path.relative_to(root).as_posix()} ----\n{body}\n"
        parts.append(part)
        total += len(part)
        used += 1
    text = "".join(parts)
    if not text.strip():
        raise UserError(f"no readable .py files under the standard library at {root}; "
                        f"name a corpus file instead")
    record = _record("embedded", text, description="Python standard library source",
                     python=platform.python_version(), stdlib=str(root), files=used)
    return Corpus(name="python-stdlib", source=record, text=text)


# ----------------------------------------------------------------------------- named datasets

def load_dataset(name: str) -> Corpus:
    """A named dataset of the registry: fetched if needed, read, cleaned, split if it has splits."""
    spec = download.DATASETS[name]
    if spec.labelled:
        raise UserError(f"{name!r} is a labelled dataset (for 'recurrente classify train' or "
                        f"'recurrente tag train'), not a corpus for a language model")
    paths = download.fetch(name)
    texts = {}
    for split, path in paths.items():
        texts[split] = spec.clean(read_text_file(path), path)
        _require_text(texts[split], f"{path} ({name}, {split} split)")
    files = {split: str(path) for split, path in paths.items()}
    if set(texts) == {"text"}:
        text = texts["text"]
        return Corpus(name, _record("dataset", text, name=name, files=files), text)
    text = texts["train"]
    record = _record("dataset", text, name=name, files=files,
                     splits_sha256={s: sha256_text(t) for s, t in texts.items()})
    return Corpus(name=name, source=record, text=text, splits=texts)


def _looks_like_path(spec: str) -> bool:
    return any(c in spec for c in "/\\") or Path(spec).suffix != "" or spec.startswith("~")


def load_corpus(spec: str | os.PathLike | None, *, encoding: str = "utf-8",
                stdin: TextIO | BinaryIO | None = None) -> Corpus:
    """Load the corpus named by ``spec`` (see the module docstring for what ``spec`` may be).

    A path that exists wins over a dataset of the same name. ``encoding`` applies to files,
    folders and standard input; datasets are always UTF-8.

    Example::

        >>> corpus = load_corpus("novel.txt")          # doctest: +SKIP
        >>> corpus.name, len(corpus.text)              # doctest: +SKIP
        ('novel', 2168000)
    """
    if spec is None:
        return load_default()
    if str(spec) == "-":
        return load_stdin(stdin, encoding)
    path = Path(os.path.expanduser(str(spec)))
    if path.is_dir():
        return load_folder(path, encoding)
    if path.exists():
        return load_file(path, encoding)
    name = str(spec)
    if name in download.DATASETS:
        return load_dataset(name)
    known = ", ".join(sorted(download.DATASETS))
    if _looks_like_path(name):
        raise UserError(f"file or folder not found: {path}")
    raise UserError(f"{name!r} is neither an existing file or folder nor a known dataset "
                    f"(known datasets: {known})")
