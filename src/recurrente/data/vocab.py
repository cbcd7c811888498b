"""Vocabularies: symbols <-> ids, with the special symbols a task needs, saved by role.

A :class:`Vocab` is a list of symbols (``itos``) whose first entries are its specials, in the
order the task asked for: a classifier's words use ``<pad> <unk>``, a translator's targets
``<pad> <unk> <bos> <eos>``, a label set none at all (an unseen label is then an error, not
``<unk>``). ``split`` says how raw text becomes symbols:

* ``None``: the vocabulary takes symbol lists only (labels, tags, pre-tokenised words);
* ``"char"``: one symbol per character;
* ``"word"``: Unicode-aware words and punctuation: ``"¿Qué tal, señor?"`` ->
  ``['¿', 'Qué', 'tal', ',', 'señor', '?']`` (runs of letters, digits and ``_``, with inner
  apostrophes and hyphens kept: ``l'amour``, ``bien-être``; every other non-space character
  alone);
* ``"whitespace"``: the text split on whitespace, nothing else.

Text is put in Unicode NFC form and ``lowercase`` applied before splitting. A run stores its vocabularies as
``vocabs/<role>.json`` (``source``, ``labels``, ``target``); :func:`load_vocab` also reads the
language model's ``tokenizer.json`` files (:mod:`recurrente.data.tokenizers`), whose tokenizers
are vocabularies too.
"""

from __future__ import annotations

import json
import os
import re
import unicodedata
from collections import Counter
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from recurrente.errors import UserError
from recurrente.io import atomic_write, read_json

PAD, UNK, BOS, EOS = "<pad>", "<unk>", "<bos>", "<eos>"
SPECIALS = (PAD, UNK, BOS, EOS)
SPLITS = (None, "char", "word", "whitespace")
FORMAT = "recurrente.vocab"
_WORD = re.compile(r"\w+(?:['’\-]\w+)*|[^\w\s]", re.UNICODE)


def split_text(text: str, split: str | None, lowercase: bool = False) -> list[str]:
    """``text`` as a list of symbols under ``split`` (see the module docstring).

    >>> split_text("¿Qué tal, señor?", "word")
    ['¿', 'Qué', 'tal', ',', 'señor', '?']
    """
    text = unicodedata.normalize("NFC", text)  # "señor" as one word even when decomposed
    if lowercase:
        text = text.lower()
    if split == "char":
        return list(text)
    if split == "word":
        return _WORD.findall(text)
    if split == "whitespace":
        return text.split()
    raise UserError(f"expected a text split char, word or whitespace, got {split!r}")


class Vocab:
    """Symbols and their ids; the specials come first, in the order given.

    Args:
        itos: every symbol, specials first; ``itos[i]`` is the symbol of id ``i``.
        specials: which of :data:`SPECIALS` the vocabulary holds (they must open ``itos``).
        split, lowercase: how :meth:`encode_text` turns raw text into symbols.

    Example::

        >>> v = Vocab.build([["a", "b", "a"], ["c"]], specials=(PAD, UNK), min_freq=1)
        >>> v.itos, v.encode(["a", "zzz"]).tolist()
        (['<pad>', '<unk>', 'a', 'b', 'c'], [2, 1])
    """

    def __init__(self, itos: Sequence[str], specials: Sequence[str] = (), split: str | None = None,
                 lowercase: bool = False):
        itos, specials = list(itos), list(specials)
        if itos[:len(specials)] != specials or len(set(itos)) != len(itos):
            raise UserError(f"a vocabulary must start with its specials {specials} and hold no "
                            f"duplicates; got {len(itos)} entries starting with "
                            f"{itos[:len(specials) or 1]}")
        if split not in SPLITS:
            raise UserError(f"expected a text split char, word or whitespace, got {split!r}")
        self.itos, self.specials, self.split, self.lowercase = itos, specials, split, lowercase
        self.stoi = {s: i for i, s in enumerate(itos)}

    @classmethod
    def build(cls, sequences: Iterable[Sequence[str]], specials: Sequence[str] = (PAD, UNK),
              min_freq: int = 1, max_size: int | None = None, split: str | None = None,
              lowercase: bool = False) -> "Vocab":
        """From symbol sequences: symbols seen at least ``min_freq`` times, most frequent first
        (ties in first-seen order), at most ``max_size`` ids in all, specials included."""
        counts = Counter()
        for seq in sequences:
            counts.update(seq)
        for s in specials:
            counts.pop(s, None)
        words = [w for w, c in sorted(counts.items(), key=lambda wc: -wc[1]) if c >= min_freq]
        if max_size is not None:
            if max_size <= len(specials):
                raise UserError(f"expected a vocabulary size above the {len(specials)} special "
                                f"symbols, got {max_size}")
            words = words[:max_size - len(specials)]
        return cls(list(specials) + words, specials, split, lowercase)

    @classmethod
    def of_labels(cls, labels: Iterable[str]) -> "Vocab":
        """A label set: no specials, labels in sorted order (so ids do not depend on file order)."""
        return cls(sorted(set(labels), key=_label_order))

    # -- ids ----------------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.itos)

    def __contains__(self, symbol: str) -> bool:
        return symbol in self.stoi

    def __repr__(self) -> str:
        return f"Vocab(size={len(self)}, specials={self.specials}, split={self.split!r})"

    def id(self, special: str) -> int | None:
        """The id of ``special`` (e.g. :data:`PAD`), or None if the vocabulary lacks it."""
        return self.stoi[special] if special in self.specials else None

    @property
    def pad_id(self) -> int | None:
        return self.id(PAD)

    @property
    def unk_id(self) -> int | None:
        return self.id(UNK)

    @property
    def bos_id(self) -> int | None:
        return self.id(BOS)

    @property
    def eos_id(self) -> int | None:
        return self.id(EOS)

    def encode(self, symbols: Sequence[str], what: str = "symbol") -> np.ndarray:
        """Ids of ``symbols`` ``(N,)``; unknown ones become ``<unk>``, or a UserError naming the
        first one when the vocabulary has no ``<unk>`` (a label set)."""
        unk, get = self.unk_id, self.stoi.get
        ids = np.fromiter((get(s, -1) for s in symbols), dtype=np.int64, count=len(symbols))
        missing = ids < 0
        if missing.any():
            if unk is None:
                bad = symbols[int(np.argmax(missing))]
                raise UserError(f"the {what} {bad!r} is not among the {len(self)} known "
                                f"{what}s ({', '.join(self.itos[:8])}"
                                f"{', ...' if len(self) > 8 else ''})")
            ids[missing] = unk
        return ids

    def encode_text(self, text: str) -> np.ndarray:
        """Raw text to ids, split as the vocabulary was built."""
        return self.encode(self.tokens(text))

    def tokens(self, text: str) -> list[str]:
        """Raw text to the symbols this vocabulary holds (before lookup)."""
        return split_text(text, self.split, self.lowercase)

    def count_unknown(self, symbols: Sequence[str]) -> int:
        return sum(s not in self.stoi for s in symbols)

    def decode(self, ids, skip_specials: bool = True) -> list[str]:
        """Ids to symbols (specials dropped unless ``skip_specials=False``)."""
        n = len(self.specials) if skip_specials else 0
        return [self.itos[i] for i in np.asarray(ids, dtype=np.int64).reshape(-1).tolist()
                if i >= n]

    # -- files --------------------------------------------------------------------------------
    def to_dict(self) -> dict:
        return {"format": FORMAT, "version": 1, "specials": self.specials, "split": self.split,
                "lowercase": self.lowercase, "itos": self.itos}

    def save(self, path: str | os.PathLike) -> Path:
        """Write the vocabulary as JSON, atomically; returns the path."""
        path = Path(path)
        data = json.dumps(self.to_dict(), ensure_ascii=False, indent=1).encode("utf-8")
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(path, lambda tmp: tmp.write_bytes(data))
        return path


def _label_order(label: str):
    """Integers in numeric order, then other labels alphabetically: ``0 1 2 10``, not ``0 1 10 2``."""
    try:
        return (0, int(label), "")
    except ValueError:
        return (1, 0, label)


def load_vocab(path: str | os.PathLike):
    """A :class:`Vocab` saved by :meth:`Vocab.save`, or a language model's tokenizer file."""
    path = Path(path)
    info = read_json(path, "vocabulary")
    if isinstance(info, dict) and info.get("format") == FORMAT:
        return Vocab(info["itos"], info.get("specials", ()), info.get("split"),
                     bool(info.get("lowercase", False)))
    from recurrente.data.tokenizers import load_tokenizer
    return load_tokenizer(path)
