"""Generated CoNLL data for the tagger tests: entity types that only a word *after* the entity
decides, so a tagger must read the sentence in both directions.

A sentence is lower-case filler words with one or two names of 1-3 capitalised made-up tokens
(drawn from a pool of 200, the same pool for both types), each followed by a cue word that gives
its type: ``dijo``/``contó`` -> PER, ``queda``/``está`` -> LOC. A left-to-right tagger has not
read the cue when it tags the name, so it can only guess the type.
"""

import random
from pathlib import Path

FILLER = ["el", "la", "que", "de", "en", "por", "con", "una", "mucho", "poco", "ayer", "hoy",
          "lejos", "cerca", "casa", "mar", "pan", "vino", "libro", "mesa", "flor", "nube", "tren",
          "barco", "verde", "azul", "siempre", "nunca", "bien", "mal"]
CUES = {"dijo": "PER", "contó": "PER", "queda": "LOC", "está": "LOC"}
_CONSONANTS = "bcdfglmnprstvz"
_VOWELS = "aeiou"


def _pool(n: int = 200, seed: int = 1234) -> list:
    rng = random.Random(seed)
    names = set()
    while len(names) < n:
        word = "".join(rng.choice(_CONSONANTS) + rng.choice(_VOWELS)
                       for _ in range(rng.randint(2, 3)))
        names.add(word.capitalize())
    return sorted(names)


NAMES = _pool()


def entity_sentences(n: int, seed: int, max_entities: int = 2):
    """``n`` sentences as ``(tokens, BIO tags)``; see the module docstring."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        tokens, tags = [], []

        def filler(k):
            for _ in range(k):
                tokens.append(rng.choice(FILLER))
                tags.append("O")

        filler(rng.randint(0, 3))
        for e in range(rng.randint(1, max_entities)):
            if e:
                filler(rng.randint(1, 3))
            cue = rng.choice(sorted(CUES))
            kind = CUES[cue]
            size = rng.randint(1, 3)
            tokens += [rng.choice(NAMES) for _ in range(size)]
            tags += [f"B-{kind}"] + [f"I-{kind}"] * (size - 1)
            tokens.append(cue)
            tags.append("O")
        filler(rng.randint(0, 3))
        out.append((tokens, tags))
    return out


def conll_text(sentences, docstart: bool = False, extra_columns: int = 0) -> str:
    """CoNLL text of ``(tokens, tags)`` sentences: ``word [POS...] tag`` lines."""
    blocks = ["-DOCSTART- O\n\n"] if docstart else []
    for tokens, tags in sentences:
        blocks.append("".join(f"{w} " + "X " * extra_columns + f"{t}\n"
                              for w, t in zip(tokens, tags)) + "\n")
    return "".join(blocks)


def write_conll(path: Path, sentences, encoding: str = "utf-8", **kwargs) -> Path:
    Path(path).write_bytes(conll_text(sentences, **kwargs).encode(encoding))
    return Path(path)


def to_iob1(tags):
    """BIO -> IOB1: ``I-X`` everywhere, ``B-X`` only where an X entity follows another X one."""
    out = []
    for i, tag in enumerate(tags):
        if tag.startswith("B-"):
            kind = tag[2:]
            after_same = i > 0 and tags[i - 1] != "O" and tags[i - 1][2:] == kind
            out.append(tag if after_same else f"I-{kind}")
        else:
            out.append(tag)
    return out
