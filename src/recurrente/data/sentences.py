"""Raw sentences to tokens, for taggers that predict on text a user types: Spanish-aware.

Every :class:`Token` keeps its character offsets, so ``text[token.start:token.end] ==
token.text`` always, and predictions can be mapped back onto the original string.

:func:`tokenize` splits off punctuation (``¿ ¡ ? ! . , ; : ( ) [ ] « » " “ ” ‘ ’ …``, dashes and
any other symbol, one character each; a run of periods ``...`` is one token), and keeps together

- numbers with their separators: ``3,5``, ``1.000``, ``1.000.000``, ``12:30``; digits run
  into letters stay one word (``1º``, ``2ª``, ``3D``, ``G20``);
- abbreviations with their period: ``Sr.``, ``Sra.``, ``Dr.``, ``Dña.``, ``etc.``, ``pág.``
  and the others of :data:`ABBREVIATIONS`; a single capital initial (``J.`` in
  ``J. R. R. Tolkien``); dotted acronyms in capitals (``EE.UU.``, ``S.A.``, ``J.R.R.``);
- words with inner apostrophes (``O'Donnell``, ``O’Donnell``) or hyphens (``franco-alemán``).

A sentence-final period is split off the last word, unless that word is an abbreviation (then
its period ends the sentence too, as Spanish spelling has it: ``... y otros, etc.``).
:func:`pretokenized` splits on whitespace only, for text that is already tokenized.
"""

from __future__ import annotations

import re
from typing import NamedTuple


class Token(NamedTuple):
    """A token and its place in the text: ``text == original[start:end]``."""

    text: str
    start: int
    end: int


# Common Spanish abbreviations that take a period (matched case-insensitively, whole words).
# Ambiguous ones that are also words ("no.", "al.", "c.", "p.") are left out on purpose.
ABBREVIATIONS = (
    "Sr", "Sra", "Srta", "Sres", "Sras", "Srs", "Dr", "Dra", "Dres", "Dña", "Dª", "Ud",
    "Uds", "Vd", "Vds", "Lic", "Ing", "Prof", "Profa", "Arq", "Gral", "Cnel", "Excmo", "Excma",
    "Ilmo", "Ilma", "Mons", "Sto", "Sta", "Mr", "Mrs", "Ms", "St", "etc", "pág", "págs", "núm",
    "nro", "art", "arts", "cap", "vol", "vols", "ed", "ej", "aprox", "tel", "telf", "avda", "av",
    "admón", "cía", "dcha", "izq", "depto", "dpto", "fig", "figs", "vs", "a.C", "d.C", "p.ej",
    "a.m", "p.m", "i.e", "e.g",
)
_ABBREVIATION = re.compile(
    r"(?:%s)\.(?![\w\u0300-\u036f.])"
    % "|".join(re.escape(a) for a in sorted(ABBREVIATIONS, key=len, reverse=True)),
    re.IGNORECASE)
_LETTER = r"[^\W\d_]"
_WORD_CHAR = r"[\w\u0300-\u036f]"  # letters, digits, _ and combining accents (NFD text)
_WORD_CHAR_RE = re.compile(_WORD_CHAR)
_ACRONYM = re.compile(rf"(?:{_LETTER}{{1,3}}\.){{2,}}")
_INITIAL = re.compile(rf"{_LETTER}\.(?![.\w\u0300-\u036f])")
_NUMBER = re.compile(rf"\d+(?:[.,:]\d+)*(?!{_WORD_CHAR})")  # else a word: 1º, 3D, 20h
_WORD = re.compile(rf"{_WORD_CHAR}+(?:[-'’]{_WORD_CHAR}+)*")
_PERIODS = re.compile(r"\.{2,}")


def _acronym(text: str, pos: int) -> int | None:
    """End of a dotted acronym in capitals (``EE.UU.``) starting at ``pos``, or None."""
    match = _ACRONYM.match(text, pos)
    if match and match.group().replace(".", "").isupper():
        return match.end()
    return None


def _initial(text: str, pos: int) -> int | None:
    """End of a single capital initial with its period (``J.``) at ``pos``, or None."""
    match = _INITIAL.match(text, pos)
    return match.end() if match and match.group()[0].isupper() else None


def _match(pattern: re.Pattern, text: str, pos: int) -> int | None:
    match = pattern.match(text, pos)
    return match.end() if match else None


def _token_end(text: str, pos: int) -> int:
    """Where the token that starts at ``pos`` (not whitespace) ends."""
    for rule in (lambda: _match(_ABBREVIATION, text, pos), lambda: _acronym(text, pos),
                 lambda: _initial(text, pos), lambda: _match(_NUMBER, text, pos),
                 lambda: _match(_WORD, text, pos), lambda: _match(_PERIODS, text, pos)):
        end = rule()
        if end is not None:
            return end
    return pos + 1  # any other character is a token of its own: punctuation, dashes, symbols


def _inside_word(text: str, pos: int) -> bool:
    """Whether ``pos`` continues a word (a word character after one): never a token start."""
    return pos > 0 and all(_WORD_CHAR_RE.match(c) for c in text[pos - 1:pos + 1])


def tokenize(text: str) -> list[Token]:
    """Split raw ``text`` into tokens with their offsets (see the module docstring for the rules).

    Example::

        >>> [t.text for t in tokenize("¿Dónde vive el Sr. García?")]
        ['¿', 'Dónde', 'vive', 'el', 'Sr.', 'García', '?']
        >>> tokenize("Costó 3,5 reales.")[1]
        Token(text='3,5', start=6, end=9)
    """
    tokens: list[Token] = []
    pos, length = 0, len(text)
    while pos < length:
        if text[pos].isspace():
            pos += 1
            continue
        assert not _inside_word(text, pos), "the rules end words only at a non-word character"
        end = _token_end(text, pos)
        tokens.append(Token(text[pos:end], pos, end))
        pos = end
    return tokens


def pretokenized(line: str) -> list[Token]:
    """Tokens separated by whitespace, as they are, with their offsets."""
    return [Token(m.group(), m.start(), m.end()) for m in re.finditer(r"\S+", line)]


def words(tokens: list[Token]) -> list[str]:
    """The texts of ``tokens``."""
    return [token.text for token in tokens]
