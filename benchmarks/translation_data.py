"""Parallel text made from the Quijote: Spanish → a made-up language, deterministically.

The "translation" of a sentence is its words in reverse order, each respelled by fixed rules
(a phonetic spelling reform: ``qu``/``c``/``k`` → ``k`` or ``z``, ``g`` before e/i → ``j``,
``ll`` → ``y``, ``v`` → ``b``, silent ``h`` dropped, ``ñ`` → ``ny``, ``x`` → ``ks``, final
``y`` → ``i``)::

    "de cuyo nombre no quiero acordarme"  →  "akordarme kiero no nombre kuyo de"

A model has to learn a lexicon (the respelling of ~10k words, most seen a few times) and a
long-range reordering (the first source word is the last target word), which needs attention;
the data are real sentences with real word frequencies, and nothing is downloaded.
"""

import random
import re
from pathlib import Path

from recurrente.data.vocab import split_text

QUIJOTE = Path(__file__).resolve().parents[2] / "shared" / "data" / "quijote.txt"
FRONT = "eéiíy"


def respell(word: str) -> str:
    """The spelling rules of the module docstring, applied left to right."""
    out, i, n = [], 0, len(word)
    while i < n:
        two, nxt = word[i:i + 2], word[i + 1:i + 2]
        after = word[i + 2:i + 3]
        if two == "ch":
            out.append("ch")
            i += 2
            continue
        if two in ("qu", "gu") and after and after in FRONT:
            out.append("k" if two == "qu" else "g")
            i += 2
            continue
        if two == "ll":
            out.append("y")
            i += 2
            continue
        c = word[i]
        if c == "c":
            out.append("z" if nxt and nxt in FRONT else "k")
        elif c == "g" and nxt and nxt in FRONT:
            out.append("j")
        elif c == "h":
            pass
        elif c == "v":
            out.append("b")
        elif c == "x":
            out.append("ks")
        elif c == "ñ":
            out.append("ny")
        elif c == "y" and (i == n - 1):
            out.append("i")
        else:
            out.append(c)
        i += 1
    return "".join(out) or word


def translate(sentence: str) -> str:
    """Spanish (lower-cased word tokens) → the made-up language (module docstring)."""
    return " ".join(respell(w) for w in reversed(sentence.split()))


def quijote_pairs(path: Path = QUIJOTE, min_words: int = 3, max_words: int = 14,
                  words: int = 2000, seed: int = 0):
    """``(source, target)`` for every Quijote clause (text between ``. ? ! ; : ,``) of
    ``min_words..max_words`` tokens (lower-cased words and punctuation) that uses only the
    ``words`` most frequent tokens (so that a model can learn its lexicon in minutes on a CPU),
    in a seeded random order: 18,720 pairs, 114,741 source tokens with the defaults."""
    from collections import Counter

    from recurrente.data.download import strip_gutenberg
    text = strip_gutenberg(path.read_text(encoding="utf-8-sig").replace("\r\n", "\n"))
    pieces = [" ".join(s.split()) for s in re.split(r"(?<=[.?!;:,])\s+", text)]
    clauses = [split_text(piece, "word", lowercase=True) for piece in pieces]
    clauses = [c for c in clauses if min_words <= len(c) <= max_words]
    frequent = {w for w, _ in Counter(w for c in clauses for w in c).most_common(words)}
    pairs = [(" ".join(c), translate(" ".join(c))) for c in clauses
             if all(w in frequent for w in c)]
    random.Random(seed).shuffle(pairs)
    return pairs


def write_pairs(pairs, path: Path) -> Path:
    path.write_text("".join(f"{s}\t{t}\n" for s, t in pairs), encoding="utf-8")
    return path


if __name__ == "__main__":
    import sys
    pairs = quijote_pairs()
    print(f"{len(pairs):,} pairs; e.g.", *pairs[:3], sep="\n")
    if len(sys.argv) > 1:
        write_pairs(pairs, Path(sys.argv[1]))
