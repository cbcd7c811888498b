"""Text normalisation, and the character and word vocabularies that turn text into ids.

Normalisation modes (applied by :func:`normalize`, and by a tokenizer before every encode):

* ``none``: the text as it is.
* ``lowercase``: ``str.lower``.
* ``spanish-letters`` (the course's): NFC, lowercase, then keep only ``a``-``z`` and
  ``á é í ó ú ü ñ``; every run of any other characters (digits, punctuation, newlines, spaces)
  becomes one space. So ``"¡Hola, señor!"`` becomes ``" hola señor "``: a run at either end
  leaves one space there too, so the mapping needs no special case at the edges.

Both tokenizers reserve id 0 for ``<unk>``; :meth:`Tokenizer.encode` maps anything outside the
vocabulary to it and :meth:`Tokenizer.encode_strict` refuses it, naming the first unseen symbol
(used for a sampling prime). Round trip: when every symbol is known,
``decode(encode(t)) == normalize(t)`` exactly for characters, and for words up to whitespace:
``decode(encode(t)) == WordTokenizer.canonical(normalize(t))`` (runs of spaces and tabs become
one space, line ends are kept).

Saved as ``tokenizer.json``; :func:`load_tokenizer` reads either kind back.
"""

from __future__ import annotations

import json
import os
import re
import unicodedata
from collections import Counter
from pathlib import Path

import numpy as np

from recurrente.errors import UserError
from recurrente.io import atomic_write, read_json

NORMALIZATIONS = ("none", "lowercase", "spanish-letters")
UNK = "<unk>"
EOS = "<eos>"
FILENAME = "tokenizer.json"
_FORMAT = "recurrente.tokenizer"
_NOT_SPANISH_LETTER = re.compile(r"[^a-záéíóúüñ]+")
_CHUNK_CHARS = 1 << 24  # code points encoded per numpy pass; bounds the temporary memory


def normalize(text: str, mode: str = "none") -> str:
    """Normalise ``text`` with ``mode`` (one of :data:`NORMALIZATIONS`, see the module docstring).

    >>> normalize("¡Hola, señor!", "spanish-letters")
    ' hola señor '
    """
    if mode == "none":
        return text
    if mode == "lowercase":
        return text.lower()
    if mode == "spanish-letters":
        return _NOT_SPANISH_LETTER.sub(" ", unicodedata.normalize("NFC", text).lower())
    raise UserError(f"unknown normalization {mode!r}; expected one of {', '.join(NORMALIZATIONS)}")


def _code_points(text: str) -> np.ndarray:
    """``text`` as a ``uint32`` array of code points (one per Python character)."""
    return np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)


class Tokenizer:
    """What both vocabularies share. ``itos[i]`` is the symbol of id ``i``; ``itos[0]`` is
    ``<unk>``. Subclasses define ``kind``, ``_lookup``, ``_symbols`` and ``decode``."""

    kind = ""
    unk_id = 0

    def __init__(self, itos: list[str], normalization: str = "none"):
        normalize("", normalization)  # validates the mode
        if not itos or itos[0] != UNK or len(set(itos)) != len(itos):
            raise UserError(f"a {self.kind} vocabulary must start with {UNK!r} and hold no "
                            f"duplicates; got {len(itos)} entries starting with {itos[:1]!r}")
        self.itos = list(itos)
        self.stoi = {s: i for i, s in enumerate(self.itos)}
        self.normalization = normalization

    @property
    def vocab_size(self) -> int:
        """Number of ids, ``<unk>`` and other specials included (``V``)."""
        return len(self.itos)

    def __len__(self) -> int:
        return len(self.itos)

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(vocab_size={self.vocab_size}, "
                f"normalization={self.normalization!r})")

    # -- encoding ---------------------------------------------------------------------------
    def _lookup(self, norm: str) -> tuple[np.ndarray, np.ndarray]:
        """``(ids, known)`` for normalised text: int64 ids and a bool mask of in-vocab symbols."""
        raise NotImplementedError

    def _symbols(self, norm: str) -> list[str] | str:
        """The symbols of normalised text, position-aligned with the ids of :meth:`_lookup`."""
        raise NotImplementedError

    def encode(self, text: str) -> np.ndarray:
        """Normalise and encode ``text``; unknown symbols become :attr:`unk_id`. Shape ``(N,)``."""
        return self._lookup(normalize(text, self.normalization))[0]

    def encode_strict(self, text: str) -> np.ndarray:
        """Like :meth:`encode`, but raise UserError naming the first symbol not in the vocabulary."""
        norm = normalize(text, self.normalization)
        ids, known = self._lookup(norm)
        if not known.all():
            pos = int(np.argmin(known))
            symbol = self._symbols(norm)[pos]
            shown = f"{symbol!r} (U+{ord(symbol):04X})" if len(symbol) == 1 else repr(symbol)
            raise UserError(f"the {self.kind} {shown} at position {pos} of the text is not in the "
                            f"tokenizer's vocabulary of {self.vocab_size}; expected only "
                            f"{self.kind}s seen in training")
        return ids

    def count_unknown(self, text: str) -> int:
        """How many symbols of ``text`` (after normalisation) are not in the vocabulary."""
        return int((~self._lookup(normalize(text, self.normalization))[1]).sum())

    def decode(self, ids) -> str:
        raise NotImplementedError

    def _check_ids(self, ids) -> np.ndarray:
        ids = np.asarray(ids, dtype=np.int64).reshape(-1)
        if ids.size and (ids.min() < 0 or ids.max() >= self.vocab_size):
            raise ValueError(f"expected ids in [0, {self.vocab_size}), got values in "
                             f"[{ids.min()}, {ids.max()}]")
        return ids

    # -- persistence ------------------------------------------------------------------------
    def to_dict(self) -> dict:
        return {"format": _FORMAT, "version": 1, "kind": self.kind,
                "normalization": self.normalization, "vocab": self.itos}

    def save(self, path: str | os.PathLike) -> Path:
        """Write ``tokenizer.json`` (into ``path`` if it is a folder); atomic. Returns the file."""
        path = Path(path)
        if path.is_dir():
            path = path / FILENAME
        data = json.dumps(self.to_dict(), ensure_ascii=False, indent=1)
        atomic_write(path, lambda tmp: tmp.write_bytes(data.encode("utf-8", "surrogatepass")))
        return path

    @classmethod
    def load(cls, path: str | os.PathLike) -> "Tokenizer":
        """Read a tokenizer saved by :meth:`save`; refuses one of another kind."""
        tok = load_tokenizer(path)
        if cls is not Tokenizer and not isinstance(tok, cls):
            raise UserError(f"{path} holds a {tok.kind} tokenizer; expected a {cls.kind} one")
        return tok


class CharTokenizer(Tokenizer):
    """One id per character. Vocabulary: ``<unk>``, then the training characters by code point.

    Encoding is a numpy gather over code points (a dense table indexed by code point), so
    100 MB of text encodes in seconds. Decoding shows ``<unk>`` as U+FFFD, one character, so
    that positions are preserved.
    """

    kind = "char"

    def __init__(self, itos: list[str], normalization: str = "none"):
        super().__init__(itos, normalization)
        if any(len(c) != 1 for c in self.itos[1:]):
            raise UserError("a char vocabulary holds single characters after <unk>")
        codes = np.array([0xFFFD] + [ord(c) for c in self.itos[1:]], dtype=np.uint32)
        self._decode_table = codes  # id -> code point
        self._table = np.zeros(int(codes[1:].max(initial=0)) + 2, dtype=np.int64)
        self._table[codes[1:]] = np.arange(1, len(codes))  # code point -> id; last slot = unk

    @classmethod
    def fit(cls, text: str, normalization: str = "none", *, vocab_size: int | None = None,
            min_freq: int = 1) -> "CharTokenizer":
        """Vocabulary of the characters of ``text`` (after normalisation) seen ``min_freq`` times;
        with ``vocab_size``, only the most frequent ``vocab_size - 1`` (``<unk>`` included)."""
        norm = normalize(text, normalization)
        counts = np.zeros(0, dtype=np.int64)
        for start in range(0, len(norm), _CHUNK_CHARS):
            part = np.bincount(_code_points(norm[start:start + _CHUNK_CHARS]))
            size = max(len(counts), len(part))
            counts = np.pad(counts, (0, size - len(counts))) + np.pad(part, (0, size - len(part)))
        codes = np.flatnonzero(counts >= max(min_freq, 1))
        if len(codes) == 0:
            raise UserError(f"cannot build a char vocabulary: no character occurs {min_freq} "
                            f"times in a text of {len(norm)} characters")
        if vocab_size is not None:
            _check_cap(vocab_size, 1)
            order = np.lexsort((codes, -counts[codes]))  # frequent first, ties by code point
            codes = np.sort(codes[order[:vocab_size - 1]])
        return cls([UNK] + [chr(c) for c in codes], normalization)

    def _lookup(self, norm: str) -> tuple[np.ndarray, np.ndarray]:
        ids = np.empty(len(norm), dtype=np.int64)  # (N,)
        last = len(self._table) - 1
        for start in range(0, len(norm), _CHUNK_CHARS):
            cps = _code_points(norm[start:start + _CHUNK_CHARS])
            ids[start:start + len(cps)] = self._table[np.minimum(cps, last)]
        return ids, ids != self.unk_id

    def _symbols(self, norm: str) -> str:
        return norm

    def decode(self, ids) -> str:
        """Ids (list, array or CPU tensor) to text; ``<unk>`` shows as U+FFFD."""
        codes = self._decode_table[self._check_ids(ids)]
        return codes.tobytes().decode("utf-32-le", "surrogatepass")


class WordTokenizer(Tokenizer):
    """One id per whitespace-separated word, and ``<eos>`` for every line end (``\\n``), as in
    the PTB language-modelling setup. Vocabulary: ``<unk>``, ``<eos>``, then words from most to
    least frequent (ties alphabetical). A literal ``<unk>`` in the text (PTB has them) is the
    ``<unk>`` id and counts as known.
    """

    kind = "word"
    eos_id = 1

    def __init__(self, itos: list[str], normalization: str = "none"):
        super().__init__(itos, normalization)
        if len(self.itos) < 2 or self.itos[1] != EOS:
            raise UserError(f"a word vocabulary starts with {UNK!r}, {EOS!r}; got {self.itos[:2]}")

    @staticmethod
    def canonical(text: str) -> str:
        """``text`` with whitespace runs inside each line made one space: what decode returns."""
        return "\n".join(" ".join(line.split()) for line in text.split("\n"))

    @classmethod
    def fit(cls, text: str, normalization: str = "none", *, vocab_size: int | None = None,
            min_freq: int = 1) -> "WordTokenizer":
        """Words of ``text`` seen at least ``min_freq`` times, at most ``vocab_size`` ids in all
        (``<unk>`` and ``<eos>`` included)."""
        counts = Counter(cls._split(normalize(text, normalization)))
        counts.pop(UNK, None)
        counts.pop(EOS, None)
        words = sorted((w for w, c in counts.items() if c >= min_freq),
                       key=lambda w: (-counts[w], w))
        if vocab_size is not None:
            _check_cap(vocab_size, 2)
            words = words[:vocab_size - 2]
        return cls([UNK, EOS] + words, normalization)

    @staticmethod
    def _split(norm: str) -> list[str]:
        return norm.replace("\n", f" {EOS} ").split()

    def _symbols(self, norm: str) -> list[str]:
        return self._split(norm)

    def _lookup(self, norm: str) -> tuple[np.ndarray, np.ndarray]:
        words = self._split(norm)
        get = self.stoi.get
        ids = np.fromiter((get(w, 0) for w in words), dtype=np.int64, count=len(words))  # (N,)
        known = ids != self.unk_id
        for pos in np.flatnonzero(~known):
            known[pos] = words[pos] == UNK
        return ids, known

    def decode(self, ids) -> str:
        """Ids to text: words joined by one space, ``<eos>`` as a line end."""
        lines, current = [], []
        for i in self._check_ids(ids).tolist():
            if i == self.eos_id:
                lines.append(" ".join(current) + "\n")
                current = []
            else:
                current.append(self.itos[i])
        return "".join(lines) + " ".join(current)


def _check_cap(vocab_size: int, specials: int) -> None:
    if vocab_size <= specials:
        raise UserError(f"vocab_size must be greater than {specials} (the special ids); "
                        f"got {vocab_size}")


_KINDS = {"char": CharTokenizer, "word": WordTokenizer}


def load_tokenizer(path: str | os.PathLike) -> Tokenizer:
    """Read ``tokenizer.json`` (or the one inside folder ``path``) as the right tokenizer class."""
    path = Path(path)
    if path.is_dir():
        path = path / FILENAME
    info = read_json(path, "tokenizer")
    if not isinstance(info, dict) or info.get("format") != _FORMAT:
        raise UserError(f"{path} is not a recurrente tokenizer file (no \"format\": "
                        f"\"{_FORMAT}\" entry)")
    cls = _KINDS.get(info.get("kind"))
    if cls is None:
        raise UserError(f"{path} has tokenizer kind {info.get('kind')!r}; expected one of "
                        f"{', '.join(_KINDS)}")
    return cls(list(info.get("vocab", [])), info.get("normalization", "none"))
