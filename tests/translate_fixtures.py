"""Generated translation tasks the tests train in seconds: reverse or sort a sequence of
symbols (word tokens), written as tab-separated pairs."""

import random
from pathlib import Path

SYMBOLS = "a b c d e f g h i j k l".split()


def reverse_pairs(n: int, seed: int, low: int = 3, high: int = 12, symbols=SYMBOLS):
    """``(source, target)``: random symbol sequences of ``low..high`` symbols, and reversed."""
    rng = random.Random(seed)
    pairs = []
    for _ in range(n):
        words = [rng.choice(symbols) for _ in range(rng.randint(low, high))]
        pairs.append((" ".join(words), " ".join(reversed(words))))
    return pairs


def sort_pairs(n: int, seed: int, low: int = 3, high: int = 12, symbols=SYMBOLS):
    """``(source, target)``: random symbol sequences, and the same symbols sorted."""
    rng = random.Random(seed)
    pairs = []
    for _ in range(n):
        words = [rng.choice(symbols) for _ in range(rng.randint(low, high))]
        pairs.append((" ".join(words), " ".join(sorted(words))))
    return pairs


def write_tsv(path: Path, pairs, extra: bool = False) -> Path:
    """One ``source<TAB>target`` line per pair (``extra``: a third, ignored column)."""
    lines = [f"{s}\t{t}" + ("\tCC-BY 2.0 (France) Attribution: tatoeba.org" if extra else "")
             for s, t in pairs]
    Path(path).write_text("\n".join(lines) + "\n", encoding="utf-8")
    return Path(path)
