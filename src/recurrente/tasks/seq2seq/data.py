"""A translator's data: pairs → splits → two vocabularies → ids → padded batches.

Pairs come from a tab-separated file or two aligned files (:mod:`recurrente.data.parallel`),
``--reverse`` swapping the direction. Without ``--valid``/``--test``, 5% and 5% of the
*distinct* pairs (at most :data:`MAX_HELD_OUT` each; one copy of each) are held out by a seeded
shuffle, so a pair repeated in the data is never both trained on and scored; the held-out pairs
are saved with the run (``splits/valid.tsv``, ``splits/test.tsv``) and ``eval`` reads them
from there.
Given ``--valid``/``--test`` files, their pairs that also occur in training are counted in
the log. Pairs with a side longer than ``--max-len`` tokens are left out of every split (the
log says how many).
"""

from dataclasses import dataclass
from typing import Dict, List

import numpy as np

from recurrente.data.padded import pad
from recurrente.data.parallel import Pairs, read_aligned, read_tsv_pairs
from recurrente.data.splits import hold_out, parts_to_hold
from recurrente.data.vocab import BOS, EOS, PAD, UNK, Vocab, split_text
from recurrente.errors import UserError
from recurrente.tasks.seq2seq.options import TranslatorOptions

MAX_HELD_OUT = 1000  # pairs per held-out split at most (greedy decoding of each at every eval)
SPLITS_DIR = "splits"


@dataclass
class Encoded:
    """Pairs as ids (no ``<bos>``/``<eos>``: the batches add them) and the raw pairs."""
    sources: List[np.ndarray]
    targets: List[np.ndarray]
    pairs: List[tuple]

    def __len__(self) -> int:
        return len(self.sources)


# ----------------------------------------------------------------------------- reading

def read_splits(opts: TranslatorOptions) -> Dict[str, Pairs]:
    """``{"train", "valid", "test"}`` -> Pairs, before the length filter."""
    if opts.data is not None and (opts.source or opts.target):
        raise UserError("expected either DATA (a tab-separated file) or --source and --target, "
                        "got both")
    if opts.data is None:
        if not (opts.source and opts.target):
            raise UserError("expected DATA, a file of source<TAB>target lines, or --source F "
                            "and --target F, two files aligned by line")
        train = read_aligned(opts.source, opts.target, opts.encoding, opts.reverse)
    else:
        train = read_tsv_pairs(opts.data, opts.encoding, opts.reverse)
    given = {"train": train}
    for name in ("valid", "test"):
        if getattr(opts, name):
            given[name] = read_tsv_pairs(getattr(opts, name), opts.encoding, opts.reverse)
    given.update(_held_out(given, opts))
    return given


def _held_out(given: Dict[str, Pairs], opts: TranslatorOptions) -> Dict[str, Pairs]:
    """Without ``--valid``: distinct pairs held out by a seeded shuffle (test ones too without
    ``--test``); training keeps every copy of the rest. Pairs are the same when their tokens
    are (after ``--lowercase``): ``"Hola."`` and ``"hola ."`` are one pair to a lower-casing
    word model, and never on both sides."""
    if not parts_to_hold(given, test_needs_valid=True):
        return {}  # before splitting every training pair into tokens
    train = given["train"]
    keys = [_key(pair, opts) for pair in train.pairs]
    distinct = list(dict.fromkeys(keys))
    held = hold_out(given, opts.split, opts.train.seed, size=len(distinct), salt=11,
                    cap=MAX_HELD_OUT, test_needs_valid=True, items="pairs",
                    counted="distinct pairs")
    part = {distinct[i]: name for name in ("valid", "test") for i in held.get(name, ())}
    parts = {"train": [], "valid": [], "test": []}
    placed = set()
    for pair, key in zip(train.pairs, keys):
        name = part.get(key, "train")
        if name == "train" or key not in placed:  # one copy of each held-out pair
            parts[name].append(pair)
            placed.add(key)
    return {name: Pairs(pairs, {**train.source, "part": name}) for name, pairs in parts.items()
            if pairs}


def split_pair(pair: tuple, opts) -> tuple:
    """The pair's two token lists, as the vocabularies split them."""
    return tuple(split_text(s, opts.tokenizer, opts.lowercase) for s in pair)


def _key(pair: tuple, opts) -> tuple:
    source, target = split_pair(pair, opts)
    return tuple(source), tuple(target)


def length_filter(pairs: Pairs, opts) -> tuple:
    """``(kept pairs, their token lists, how many were over --max-len)``."""
    kept, tokens, dropped = [], [], 0
    for pair in pairs.pairs:
        src, tgt = split_pair(pair, opts)
        if len(src) > opts.max_len or len(tgt) > opts.max_len:
            dropped += 1
            continue
        kept.append(pair)
        tokens.append((src, tgt))
    return kept, tokens, dropped


def encode(pairs: List[tuple], tokens: List[tuple], vocabs: dict) -> Encoded:
    source, target = vocabs["source"], vocabs["target"]
    return Encoded([source.encode(s) for s, _ in tokens], [target.encode(t) for _, t in tokens],
                   list(pairs))


def collate(data: Encoded, bos: int, eos: int, pad_id: int = 0):
    """``indices -> batch dict``: ``src (S, B)``, ``src_lengths (B,)``, ``tgt_in (T, B)``
    (``<bos> y``), ``tgt_out (T, B)`` (``y <eos>``), ``tgt_lengths (B,)`` (``n + 1``)."""
    def batch(indices):
        src, src_lengths = pad([data.sources[i] for i in indices], pad_id)  # (S, B), (B,)
        tgt_in, tgt_lengths = pad([np.concatenate([[bos], data.targets[i]]) for i in indices],
                                  pad_id)  # (T, B), (B,)
        tgt_out, _ = pad([np.concatenate([data.targets[i], [eos]]) for i in indices],
                         pad_id)  # (T, B)
        return {"src": src, "src_lengths": src_lengths, "tgt_in": tgt_in, "tgt_out": tgt_out,
                "tgt_lengths": tgt_lengths}
    return batch


def pairs_text(pairs: List[tuple]) -> str:
    """Pairs as a tab-separated file (what ``splits/*.tsv`` hold)."""
    return "".join(f"{s}\t{t}\n" for s, t in pairs)


# ----------------------------------------------------------------------------- vocabularies, notes

def build_vocabs(tokens: List[tuple], opts) -> dict:
    """Source ``<pad> <unk>`` and target ``<pad> <unk> <bos> <eos>`` vocabularies."""
    kw = dict(min_freq=opts.min_freq, max_size=opts.vocab_size, split=opts.tokenizer,
              lowercase=opts.lowercase)
    return {"source": Vocab.build((s for s, _ in tokens), specials=(PAD, UNK), **kw),
            "target": Vocab.build((t for _, t in tokens), specials=(PAD, UNK, BOS, EOS), **kw)}


def split_notes(opts, splits: Dict[str, Pairs], filtered) -> List[str]:
    """The log's lines about the splits: training pairs that repeat, ``--valid``/``--test``
    pairs that also occur in training, pairs left out for ``--max-len``."""
    notes = []
    train = splits["train"]
    seen = {_key(p, opts) for p in train.pairs}
    repeats = len(train) - len(seen)
    if "part" in train.source and repeats:
        notes.append(f"{repeats:,} training pairs repeat an earlier pair exactly; each distinct "
                     f"pair is either trained on or held out, never both")
    for name in ("valid", "test"):
        if name in splits and "part" not in splits[name].source:
            both = sum(_key(p, opts) in seen for p in splits[name].pairs)
            if both:
                notes.append(f"{both:,} of the {len(splits[name]):,} {name} pairs also occur "
                             f"in the training data (exact duplicates)")
    dropped = {n: d for n, (_, _, d) in filtered.items() if d}
    if dropped:
        notes.append(f"pairs with a side over --max-len {opts.max_len} tokens are left out ("
                     + ", ".join(f"{v:,} in {k}" for k, v in dropped.items()) + ")")
    return notes
