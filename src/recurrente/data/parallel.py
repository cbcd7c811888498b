"""Parallel text for translation: sentence pairs from a tab-separated file or two aligned files.

* **Tab-separated pairs**, the Tatoeba/Anki format: one pair a line, ``source<TAB>target``;
  further columns (Tatoeba's attribution) are ignored, blank lines skipped.
* **Two aligned files** (``--source F --target F``): line ``i`` of one translates line ``i``
  of the other.

Every problem a user can fix is one sentence naming the file and the line: a line without a
tab, an empty side, files of different lengths. :func:`detokenize` joins the word tokens of
:func:`recurrente.data.vocab.split_text` back into text (``"¿ qué tal , señor ?"`` ->
``"¿qué tal, señor?"``), so a translation reads like text and BLEU compares like with like.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import List, Optional, Sequence, Tuple

from recurrente.errors import UserError

Pair = Tuple[str, str]


@dataclass
class Pairs:
    """Sentence pairs in file order, and where they came from.

    Attributes:
        pairs: ``(source, target)`` each, stripped of surrounding whitespace.
        source: JSON-able record: ``kind`` (tsv/aligned), the path(s), ``sha256`` of the bytes,
            ``reversed`` when the direction was swapped.
    """
    pairs: List[Pair]
    source: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.pairs)


def _read_text(path, encoding: str) -> Tuple[str, str]:
    """The file's text and the sha256 of its bytes; one sentence for every failure."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise UserError(f"file not found: {path}") from None
    except IsADirectoryError:
        raise UserError(f"{path} is a directory; expected a text file of sentence pairs") \
            from None
    except OSError as e:
        raise UserError(f"cannot read {path}: {e.strerror or e}") from None
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as e:
        raise UserError(f"{path} is not valid {encoding} text ({e.reason} at byte {e.start}); "
                        f"pass --encoding") from None
    except LookupError:
        raise UserError(f"unknown --encoding {encoding!r}") from None
    return text.lstrip("\ufeff"), hashlib.sha256(data).hexdigest()


def parse_pair_line(line: str, where: str) -> Pair:
    """``source<TAB>target[<TAB>...]`` -> ``(source, target)``; ``where`` names it in errors."""
    if "\t" not in line:
        raise UserError(f"{where} has no tab; expected source<TAB>target, got {_cut(line)!r}")
    source, target = (s.strip() for s in line.split("\t")[:2])
    for side, text in (("source", source), ("target", target)):
        if not text:
            raise UserError(f"{where} has an empty {side}; expected text on both sides of the "
                            f"tab")
    return source, target


def read_tsv_pairs(path, encoding: str = "utf-8", reverse: bool = False) -> Pairs:
    """Pairs from a tab-separated file (module docstring); ``reverse`` swaps the columns."""
    text, digest = _read_text(path, encoding)
    pairs = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        pair = parse_pair_line(line, f"line {number} of {path}")
        pairs.append(pair[::-1] if reverse else pair)
    if not pairs:
        raise UserError(f"{path} holds no sentence pairs; expected lines source<TAB>target")
    return Pairs(pairs, {"kind": "tsv", "path": str(path), "sha256": digest,
                         "reversed": reverse})


def read_aligned(source_path, target_path, encoding: str = "utf-8",
                 reverse: bool = False) -> Pairs:
    """Pairs from two files aligned by line (blank lines are an error: they break alignment)."""
    texts = [_read_text(p, encoding) for p in (source_path, target_path)]
    lines = [t.splitlines() for t, _ in texts]
    for side, path, ls in (("source", source_path, lines[0]), ("target", target_path, lines[1])):
        if not ls:
            raise UserError(f"the {side} file {path} is empty; expected one sentence a line")
    if len(lines[0]) != len(lines[1]):
        raise UserError(f"the source file {source_path} has {len(lines[0]):,} lines and the "
                        f"target file {target_path} {len(lines[1]):,}; expected one line each "
                        f"per sentence pair")
    pairs = []
    for number, (s, t) in enumerate(zip(*lines), 1):
        for side, path, text in (("source", source_path, s), ("target", target_path, t)):
            if not text.strip():
                raise UserError(f"line {number} of the {side} file {path} is empty; expected "
                                f"a sentence on every line")
        pair = (s.strip(), t.strip())
        pairs.append(pair[::-1] if reverse else pair)
    digest = hashlib.sha256((texts[0][1] + texts[1][1]).encode()).hexdigest()
    return Pairs(pairs, {"kind": "aligned", "path": f"{source_path} + {target_path}",
                         "sha256": digest, "reversed": reverse})


def _cut(line: str, n: int = 40) -> str:
    return line if len(line) <= n else line[:n] + "..."


# ----------------------------------------------------------------------------- text from tokens

_NO_SPACE_BEFORE = re.compile(r" ([.,;:!?)\]}»”%…])")
_NO_SPACE_AFTER = re.compile(r"([¿¡(\[{«“]) ")


def detokenize(tokens: Sequence[str], split: Optional[str]) -> str:
    """Tokens as text: characters are concatenated; words joined by spaces, with none before
    closing punctuation or after opening punctuation.

    >>> detokenize(["¿", "qué", "tal", ",", "señor", "?"], "word")
    '¿qué tal, señor?'
    """
    if split == "char":
        return "".join(tokens)
    text = " ".join(tokens)
    if split == "word":
        text = _NO_SPACE_AFTER.sub(r"\1", _NO_SPACE_BEFORE.sub(r"\1", text))
    return text
