"""A tagger's data: CoNLL files → schemes checked → vocabularies → ids → padded batches.

Tags are read in the file's ``--scheme`` (a tag outside it is an error; an ill-formed sequence
is repaired the conlleval way and counted) and converted to ``--tag-scheme`` for the model.
Entity F1 does not depend on the scheme (the same spans), so it is scored in the model's.
"""

import unicodedata
from dataclasses import dataclass
from typing import List

import numpy as np

from recurrente.data import conll, schemes
from recurrente.data.padded import pad
from recurrente.data.splits import hold_out
from recurrente.data.vocab import PAD, UNK, Vocab
from recurrente.errors import UserError
from recurrente.tasks.tag.options import TaggerOptions

MAX_WORD_CHARS = 30  # letters of a word the character encoder reads (longer words are cut)


@dataclass
class Encoded:
    """Sentences as ids: words, letters of each word, tags; the tokens kept for scoring."""
    words: List[np.ndarray]
    chars: List[List[np.ndarray]]
    tags: List[np.ndarray]
    tokens: List[List[str]]

    def __len__(self) -> int:
        return len(self.words)


# ----------------------------------------------------------------------------- reading

def read_splits(opts: TaggerOptions) -> dict:
    """``{"train", "valid", "test"}`` -> TaggedCorpus in the model's scheme (test may be
    missing when only ``--valid`` is given)."""
    if opts.data is None:
        raise UserError("expected DATA: a CoNLL file (one token a line, a blank line between "
                        "sentences) or a dataset name (conll2002-es, conll2002-nl)")
    scheme = schemes.scheme_name(opts.scheme)
    target = schemes.scheme_name(opts.tag_scheme or opts.scheme)
    read = lambda path: conll.read_conll(path, opts.word_column, opts.tag_column,  # noqa: E731
                                         opts.encoding, scheme=scheme, repair=True)
    if conll.is_tagged_dataset(opts.data):
        given = conll.load_tagged_dataset(opts.data)
        scheme = schemes.scheme_name(given["train"].source["scheme"])  # the dataset's own
        for corpus in given.values():
            _conform(corpus, scheme)
    else:
        given = {"train": read(opts.data)}
    for name in ("valid", "test"):
        if getattr(opts, name):
            given[name] = read(getattr(opts, name))
    given.update(_held_out(given, opts))
    for corpus in given.values():
        for s in corpus.sentences:
            s.tags = schemes.convert(s.tags, scheme, target)
    return given


def _conform(corpus, scheme: str) -> None:
    """A downloaded corpus's tags checked against its scheme and repaired the conlleval way."""
    for k, s in enumerate(corpus.sentences):
        try:
            for i, tag in enumerate(s.tags):
                schemes.parse(tag, scheme, i)
        except UserError as e:
            raise UserError(f"sentence {k + 1} of {corpus.source.get('path')}: {e}") from None
        fixed = schemes.repair(s.tags, scheme)
        corpus.source["repaired"] = corpus.source.get("repaired", 0) + (fixed != s.tags)
        s.tags = fixed


def _held_out(given: dict, opts: TaggerOptions) -> dict:
    """Without ``--valid``: validation (and, without ``--test``, test) sentences cut from the
    training file by a seeded shuffle, and the training sentences left."""
    train = given["train"]
    parts = hold_out(given, opts.split, opts.train.seed, size=len(train), salt=7,
                     test_needs_valid=True, items="sentences")
    return {name: conll.TaggedCorpus([train.sentences[i] for i in idx],
                                     {**train.source, "part": name})
            for name, idx in parts.items()}


def encode(corpus, vocabs: dict, where: str) -> Encoded:
    """Words, letters and tags of every sentence as ids; a tag unseen in training is an error."""
    tags = vocabs["tags"]
    out = Encoded([], [], [], [])
    for s in corpus.sentences:
        word_ids, letters = encode_words(s.tokens, vocabs)
        out.words.append(word_ids)
        out.chars.append(letters)
        try:
            out.tags.append(tags.encode(s.tags, what="tag"))
        except UserError as e:
            bad = next(i for i, t in enumerate(s.tags) if t not in tags)
            line = f"line {s.lines[bad]} of " if s.lines else ""
            raise UserError(f"{line}{where}: {e}; a tagger can only predict tags seen in "
                            f"training") from None
        out.tokens.append(s.tokens)
    return out


def encode_words(tokens: List[str], vocabs: dict):
    """Word ids ``(n,)`` and each word's letter ids, tokens in Unicode NFC form (an accent typed
    as a combining mark is the same word)."""
    words, chars = vocabs["source"], vocabs["chars"]
    tokens = [unicodedata.normalize("NFC", w) for w in tokens]
    ids = words.encode([w.lower() for w in tokens] if words.lowercase else tokens)
    return ids, [chars.encode(list(w[:MAX_WORD_CHARS])) for w in tokens]


def collate(data: Encoded):
    """``indices -> batch dict``: ``words``/``tags`` ``(T, B)``, ``lengths (B,)``, and the letters
    of the real words in time-major order, ``chars (W, N)``, ``char_lengths (N,)``."""
    def batch(indices):
        words, lengths = pad([data.words[i] for i in indices], 0)  # (T, B), (B,)
        tags, _ = pad([data.tags[i] for i in indices], 0)  # (T, B)
        letters = [data.chars[i][t] for t in range(words.shape[0]) for i in indices
                   if t < len(data.words[i])]  # N words, in the order of mask.nonzero()
        chars, char_lengths = pad(letters, 0)  # (W, N), (N,)
        return {"words": words, "tags": tags, "lengths": lengths, "chars": chars,
                "char_lengths": char_lengths}
    return batch


# ----------------------------------------------------------------------------- vocabularies

def build_vocabs(train, opts: TaggerOptions) -> dict:
    case = (lambda w: w.lower()) if opts.lowercase else (lambda w: w)  # noqa: E731
    words = Vocab.build(([case(unicodedata.normalize("NFC", w)) for w in s.tokens]
                         for s in train.sentences), (PAD, UNK),
                        min_freq=opts.min_freq, max_size=opts.vocab_size, split="whitespace",
                        lowercase=opts.lowercase)
    chars = Vocab.build((list(unicodedata.normalize("NFC", w)) for s in train.sentences
                         for w in s.tokens), (PAD, UNK))
    tags = Vocab(_tag_order(train.labels))
    return {"source": words, "chars": chars, "tags": tags}


def _tag_order(labels: List[str]) -> List[str]:
    """``O`` first, then by entity type and prefix: stable ids whatever the file order."""
    return sorted(labels, key=lambda t: (t != "O", t[2:], t[:1]))

