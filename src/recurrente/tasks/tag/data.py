"""A tagger's options and data: CoNLL files → schemes checked → vocabularies → padded batches.

Tags are read in the file's ``--scheme`` (a tag outside it is an error; an ill-formed sequence
is repaired the conlleval way and counted) and converted to ``--tag-scheme`` for the model.
Entity F1 does not depend on the scheme (the same spans), so it is scored in the model's.
"""

import unicodedata
from dataclasses import dataclass, field
from typing import List, Optional

import numpy as np
import torch

from recurrente.data import conll, schemes
from recurrente.data.padded import BucketBatches, pad
from recurrente.data.vocab import PAD, UNK, Vocab
from recurrente.errors import UserError, check_choice
from recurrente.layers.registry import DEFAULT
from recurrente.tasks.base import Prepared
from recurrente.train.trainer import TrainConfig

MAX_WORD_CHARS = 30  # letters of a word the character encoder reads (longer words are cut)


@dataclass
class TaggerOptions:
    """Everything a tagger run is made of (the CLI's options, one field each)."""
    data: Optional[str] = None  # a CoNLL file, or conll2002-es / conll2002-nl
    valid: Optional[str] = None
    test: Optional[str] = None
    word_column: int = 0
    tag_column: int = -1
    encoding: str = "utf-8"
    scheme: str = "BIO"  # the files'
    tag_scheme: Optional[str] = None  # the model's (default: the files')
    split: tuple = (0.9, 0.05, 0.05)  # train/valid/test when no --valid/--test is given
    lowercase: bool = False  # word embeddings (the characters keep the case)
    min_freq: int = 1
    vocab_size: Optional[int] = None
    vectors: Optional[str] = None
    cell: str = "lstm"
    implementation: str = DEFAULT
    layers: int = 1
    hidden: int = 128
    embedding: Optional[int] = None  # 100, or the vectors' dimension
    bidirectional: bool = True
    chars: str = "lstm"
    head: str = "crf"
    dropout: float = 0.5
    word_dropout: float = 0.5
    batch_size: int = 16
    train: TrainConfig = field(default_factory=lambda: TrainConfig(time_budget=180.0,
                                                                   eval_every=100))


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
    if "valid" not in given:
        given.update(_held_out(given["train"], opts, with_test="test" not in given))
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


def _held_out(train, opts: TaggerOptions, with_test: bool) -> dict:
    """Validation (and test) sentences cut from the training file, by a seeded shuffle."""
    n = len(train)
    f_train, f_valid, f_test = opts.split if with_test else (opts.split[0], opts.split[1], 0)
    total = f_train + f_valid + f_test
    n_valid = max(1, round(n * f_valid / total))
    n_test = max(1, round(n * f_test / total)) if with_test else 0
    if n - n_valid - n_test < 1:
        raise UserError(f"{n} sentences are too few to hold out validation and test sentences; "
                        f"expected at least 3, or pass --valid and --test")
    order = np.random.default_rng([opts.train.seed, 7]).permutation(n)
    parts = {"train": order[n_valid + n_test:], "valid": order[:n_valid],
             "test": order[n_valid:n_valid + n_test]}
    return {name: conll.TaggedCorpus([train.sentences[i] for i in np.sort(idx)],
                                     {**train.source, "part": name})
            for name, idx in parts.items() if len(idx)}


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


# ----------------------------------------------------------------------------- the task's hooks

def prepare(opts: TaggerOptions, vocabs: Optional[dict] = None, stdin=None) -> Prepared:
    _check(opts)
    splits = read_splits(opts)
    train = splits["train"]
    if vocabs is None:
        vocabs = build_vocabs(train, opts)
    encoded = {n: encode(c, vocabs, c.source.get("path", n)) for n, c in splits.items()}
    batches = BucketBatches([len(w) for w in encoded["train"].words], collate(encoded["train"]),
                            opts.batch_size, opts.train.seed)
    scheme = schemes.scheme_name(opts.tag_scheme or opts.scheme)
    valid = encoded["valid"]
    from recurrente.tasks.tag.decode import evaluate_encoded
    evaluate = lambda model: evaluate_encoded(model, valid, scheme, opts.batch_size)  # noqa
    repaired = {c.source.get("path"): c.source.get("repaired") for c in splits.values()}
    notes = [f"{n} sentences of {path} had ill-formed {opts.scheme} tags, repaired the conlleval "
             f"way" for path, n in repaired.items() if n]
    extra = {"splits": splits, "encoded": encoded}
    if opts.vectors:
        extra["vectors"] = _vectors(opts, vocabs["source"], notes)
    return Prepared(vocabs, batches, evaluate,
                    {"data": opts.data, "sources": {n: c.source for n, c in splits.items()},
                     "sentences": {n: len(c) for n, c in splits.items()},
                     "tokens": {n: c.tokens for n, c in splits.items()},
                     "tags": vocabs["tags"].itos, "scheme": scheme},
                    fingerprint={n: c.source.get("sha256") for n, c in splits.items()},
                    description=f"{opts.data} ({len(train):,} train sentences, "
                                f"{train.tokens:,} words, {len(vocabs['tags'])} tags in "
                                f"{scheme}, vocabulary {len(vocabs['source']):,})",
                    extra=extra, notes=notes)


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


def _check(opts: TaggerOptions) -> None:
    from recurrente.layers.char_encoder import CHAR_ENCODERS
    from recurrente.layers.factory import TASK_CELLS
    from recurrente.tasks.tag.model import HEADS
    check_choice("--cell", opts.cell, TASK_CELLS)
    check_choice("--head", opts.head, HEADS)
    check_choice("--chars", opts.chars, CHAR_ENCODERS)
    schemes.scheme_name(opts.scheme)
    if opts.tag_scheme:
        schemes.scheme_name(opts.tag_scheme)
    for flag, value in (("--hidden", opts.hidden), ("--layers", opts.layers),
                        ("--batch-size", opts.batch_size), ("--embedding", opts.embedding or 1),
                        ("--min-freq", opts.min_freq)):
        if value < 1:
            raise UserError(f"expected {flag} >= 1, got {value}")
    for flag, value in (("--dropout", opts.dropout), ("--word-dropout", opts.word_dropout)):
        if not 0 <= value < 1:
            raise UserError(f"expected {flag} in [0, 1), got {value}")


def _vectors(opts, words: Vocab, notes: List[str]):
    from recurrente.data.vectors import coverage, load_vectors
    matrix, found, dim = load_vectors(opts.vectors, words.itos, dim=opts.embedding)
    cov = coverage(found, words.itos, specials=words.specials)
    notes.append(f"pretrained vectors {opts.vectors}: {cov['found']:,} of {cov['total']:,} words "
                 f"({100 * cov['fraction']:.1f}%), dimension {dim}")
    return matrix, found, dim


def build(opts: TaggerOptions, prepared: Prepared):
    from recurrente.tasks.tag.model import SequenceTagger
    v = prepared.vocabs
    try:
        model = SequenceTagger(
            len(v["source"]), len(v["chars"]), v["tags"].itos,
            schemes.scheme_name(opts.tag_scheme or opts.scheme), cell=opts.cell,
            hidden_size=opts.hidden, num_layers=opts.layers,
            embedding_size=prepared.extra["vectors"][2] if "vectors" in prepared.extra
            else opts.embedding or 100,
            bidirectional=opts.bidirectional, chars=opts.chars, head=opts.head,
            dropout=opts.dropout, word_dropout=opts.word_dropout,
            implementation=opts.implementation)
    except ValueError as e:
        raise UserError(str(e)) from None
    counts = np.zeros(len(v["source"]), dtype=np.int64)
    for ids in prepared.extra["encoded"]["train"].words:
        np.add.at(counts, ids, 1)
    model.rare.copy_(torch.from_numpy(counts == 1))  # singletons: word dropout's candidates
    if "vectors" in prepared.extra:
        matrix, found, _ = prepared.extra["vectors"]
        with torch.no_grad():
            model.embedding.weight[torch.from_numpy(np.flatnonzero(found))] = \
                torch.from_numpy(matrix[found])
    model.vocabs = v
    return model
