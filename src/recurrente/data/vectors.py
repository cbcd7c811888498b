"""Pretrained word vectors from a local text file: word2vec text format or GloVe.

Both formats are one word per line followed by its values, separated by single spaces. The
word2vec text format starts with a header line ``"N D"`` (number of words, dimension); GloVe has
no header. The first line tells them apart: exactly two fields, both integers, is a header.
A ``.gz`` file is read through gzip. Files are streamed line by line and only the vectors of the
vocabulary are kept, so multi-gigabyte files need no more memory than the ``(V, D)`` matrix.

Some large GloVe files hold a few "words" with spaces in them (``". . ."``): a line with more
fields than ``D + 1`` whose extra fields are not numbers is read as such a word; a line with
extra numbers, or too few values, is an error.
"""

from __future__ import annotations

import gzip
from pathlib import Path
from typing import Iterable, Iterator

import numpy as np

from recurrente.errors import UserError

_PROBE = 8192  # bytes inspected for NUL bytes (a binary word2vec file)


def _is_int(field: str) -> bool:
    return field.lstrip("+-").isdigit()


def _is_number(field: str) -> bool:
    try:
        float(field)
    except ValueError:
        return False
    return True


def _open(path: Path):
    """The file as a binary stream (gunzipped when it starts with the gzip magic bytes)."""
    try:
        with open(path, "rb") as f:
            magic = f.read(2)
        return gzip.open(path, "rb") if magic == b"\x1f\x8b" else open(path, "rb")
    except FileNotFoundError:
        raise UserError(f"word vectors file not found: {path}") from None
    except OSError as err:
        raise UserError(f"cannot read {path}: {err.strerror or err}") from None


def _lines(path: Path, encoding: str) -> Iterator[tuple[int, list[str]]]:
    """(line number, fields) for every non-blank line, decoded with ``encoding``."""
    with _open(path) as f:
        try:
            head = f.peek(_PROBE)[:_PROBE] if hasattr(f, "peek") else b""
            if b"\x00" in head:
                raise UserError(f"{path} looks binary (NUL bytes); expected word vectors in text "
                                f"format (word2vec text or GloVe), not word2vec's .bin format")
            for number, raw in enumerate(f, 1):
                try:
                    line = raw.decode(encoding).rstrip()
                except UnicodeDecodeError:
                    raise UserError(f"line {number} of {path} is not valid {encoding}; if the "
                                    f"file uses another encoding, pass it, e.g. --encoding "
                                    f"latin-1") from None
                if line:
                    yield number, line.split(" ")
        except (OSError, EOFError) as err:  # a truncated or corrupt .gz
            raise UserError(f"cannot read {path}: {err}") from None


def _split_line(fields: list[str], dim: int, path: Path, number: int) -> tuple[str, list[str]]:
    """(word, values) of one line, checking that it has ``dim`` values."""
    if len(fields) == dim + 1:
        return fields[0], fields[1:]
    extra = fields[1:len(fields) - dim]
    if len(fields) > dim + 1 and not any(_is_number(x) for x in extra):
        return " ".join(fields[:len(fields) - dim]), fields[len(fields) - dim:]
    raise UserError(f"line {number} of {path} has {len(fields) - 1} values but the file's "
                    f"vectors have {dim}; expected the same dimension on every line")


def _vector(values: list[str], path: Path, number: int) -> np.ndarray:
    try:
        return np.asarray(values, dtype=np.float32)
    except ValueError:
        bad = next((v for v in values if not _is_number(v)), values[0])
        raise UserError(f"line {number} of {path} has the value {bad!r}; expected numbers "
                        f"after the word") from None


def _lower_index(itos: list[str]) -> dict[str, list[int]]:
    """Lowercased word -> the vocabulary rows whose word lowercases to it."""
    index: dict[str, list[int]] = {}
    for i, word in enumerate(itos):
        index.setdefault(word.lower(), []).append(i)
    return index


def load_vectors(path, itos: list[str], dim: int | None = None, encoding: str = "utf-8"
                 ) -> tuple[np.ndarray, np.ndarray, int]:
    """Vectors for the words of ``itos`` from a word2vec-text or GloVe file.

    A word takes the vector of the same word in the file; a word the file lacks takes the vector
    of the first file word equal to it ignoring case (``"Paris"`` from ``"paris"``). Rows of
    words not found stay zero: the caller decides how to initialise them.

    Args:
        path: the vectors file (``.gz`` allowed).
        itos: the vocabulary, row ``i`` of the result is the vector of ``itos[i]``.
        dim: the dimension expected, or ``None`` to take the file's.
        encoding: text encoding of the file.

    Returns:
        ``(matrix, found, dim)``: ``matrix`` float32 ``(V, D)``, ``found`` bool ``(V,)``.

    Example::

        >>> matrix, found, d = load_vectors("glove.6B.100d.txt", tokenizer.itos)  # doctest: +SKIP
        >>> coverage(found, tokenizer.itos)                                       # doctest: +SKIP
        {'found': 18112, 'total': 19998, 'fraction': 0.9057}
    """
    path = Path(path).expanduser()
    exact = {}
    for i, word in enumerate(itos):
        exact.setdefault(word, i)
    lower = _lower_index(itos)
    matrix = found_exact = found_lower = file_dim = None
    vectors_seen = 0
    for number, fields in _lines(path, encoding):
        if file_dim is None:
            header = len(fields) == 2 and all(_is_int(x) for x in fields)
            file_dim = int(fields[1]) if header else len(fields) - 1
            if file_dim < 1:
                raise UserError(f"line {number} of {path} has no values; expected a word "
                                f"followed by its vector, or a word2vec header 'N D'")
            if dim is not None and dim != file_dim:
                raise UserError(f"{path} holds vectors of dimension {file_dim} but dimension "
                                f"{dim} was requested; pass the matching file or dimension")
            matrix = np.zeros((len(itos), file_dim), dtype=np.float32)  # (V, D)
            found_exact = np.zeros(len(itos), dtype=bool)
            found_lower = np.zeros(len(itos), dtype=bool)
            if header:
                continue
        word, values = _split_line(fields, file_dim, path, number)
        vectors_seen += 1
        row = exact.get(word)
        rows = [r for r in lower.get(word.lower(), ()) if not found_exact[r] and not found_lower[r]]
        if row is not None and found_exact[row]:
            row = None  # a repeated word: its first vector wins
        if row is None and not rows:
            continue
        vec = _vector(values, path, number)  # (D,)
        if row is not None:
            matrix[row], found_exact[row] = vec, True
        rows = [r for r in rows if r != row]
        matrix[rows], found_lower[rows] = vec, True
    if file_dim is None or vectors_seen == 0:
        raise UserError(f"{path} has no word vectors; expected lines of a word followed by its "
                        f"values (GloVe or word2vec text format)")
    return matrix, found_exact | found_lower, file_dim


def is_special(token: str) -> bool:
    """Tokens such as ``<pad>``, ``<unk>``, ``<bos>``, ``<eos>``."""
    return len(token) > 2 and token.startswith("<") and token.endswith(">")


def coverage(found: np.ndarray, itos: list[str], specials: Iterable[str] | None = None) -> dict:
    """How much of the vocabulary got a pretrained vector, special tokens left out.

    ``specials``: the tokens to leave out; ``None`` leaves out those shaped like ``<pad>``.
    Returns ``{"found": int, "total": int, "fraction": float}``.
    """
    found = np.asarray(found, dtype=bool)
    if found.shape != (len(itos),):
        raise UserError(f"expected one found flag per vocabulary word ({len(itos)}), "
                        f"got shape {found.shape}")
    skip = set(specials) if specials is not None else {t for t in itos if is_special(t)}
    keep = np.array([t not in skip for t in itos], dtype=bool)
    total, hit = int(keep.sum()), int((found & keep).sum())
    return {"found": hit, "total": total, "fraction": hit / total if total else 0.0}


def vocabulary_vectors(path, vocab, dim: int | None = None, notes: list[str] | None = None
                       ) -> tuple[np.ndarray, np.ndarray, int]:
    """:func:`load_vectors` for the words of ``vocab`` (a :class:`~recurrente.data.vocab.Vocab`)
    and, appended to ``notes``, the log's line on how many of its words they cover (its
    specials left out, :func:`coverage`): ``pretrained vectors glove.txt: 1,234 of 1,500 words
    (82.3%), dimension 100``."""
    matrix, found, dim = load_vectors(path, vocab.itos, dim=dim)
    if notes is not None:
        cov = coverage(found, vocab.itos, specials=vocab.specials)
        notes.append(f"pretrained vectors {path}: {cov['found']:,} of {cov['total']:,} words "
                     f"({100 * cov['fraction']:.1f}%), dimension {dim}")
    return matrix, found, dim
