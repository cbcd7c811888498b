"""A translator's options and data: pairs → splits → two vocabularies → padded batches.

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

from dataclasses import dataclass, field
from typing import Dict, List, Optional

import numpy as np

from recurrente.data.padded import BucketBatches, pad
from recurrente.data.parallel import Pairs, read_aligned, read_tsv_pairs
from recurrente.data.vocab import BOS, EOS, PAD, UNK, Vocab, split_text
from recurrente.errors import UserError, check_choice
from recurrente.layers.factory import TASK_CELLS
from recurrente.layers.registry import DEFAULT
from recurrente.tasks.base import Prepared
from recurrente.train.trainer import TrainConfig

MAX_HELD_OUT = 1000  # pairs per held-out split at most (greedy decoding of each at every eval)
SPLITS_DIR = "splits"


@dataclass
class TranslatorOptions:
    """Everything a translation run is made of (the CLI's options, one field each)."""
    data: Optional[str] = None  # a TSV file of pairs
    source: Optional[str] = None  # or two aligned files
    target: Optional[str] = None
    valid: Optional[str] = None
    test: Optional[str] = None
    encoding: str = "utf-8"
    reverse: bool = False
    split: tuple = (0.9, 0.05, 0.05)  # train/valid/test of the distinct pairs
    tokenizer: str = "word"  # word | char
    lowercase: bool = False
    min_freq: int = 1
    vocab_size: Optional[int] = None  # per side
    max_len: int = 50  # tokens per side
    cell: str = "lstm"
    implementation: str = DEFAULT
    layers: int = 1
    hidden: int = 128
    embedding: Optional[int] = None
    bidirectional: bool = True
    attention: str = "general"
    input_feeding: bool = True
    dropout: float = 0.2
    tie_embeddings: bool = False
    label_smoothing: float = 0.1
    teacher_forcing: float = 1.0
    scheduled_sampling: Optional[str] = None
    sampling_k: Optional[float] = None
    sampling_steps: Optional[int] = None
    batch_size: int = 32
    train: TrainConfig = field(default_factory=lambda: TrainConfig(time_budget=180.0,
                                                                   eval_every=200))


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
    if "valid" not in given:
        given.update(_held_out(train, opts, with_test="test" not in given))
    return given


def _held_out(train: Pairs, opts: TranslatorOptions, with_test: bool) -> Dict[str, Pairs]:
    """Distinct pairs held out by a seeded shuffle; training keeps every copy of the rest.
    Pairs are the same when their tokens are (after ``--lowercase``): ``"Hola."`` and
    ``"hola ."`` are one pair to a lower-casing word model, and never on both sides."""
    keys = [_key(pair, opts) for pair in train.pairs]
    distinct = list(dict.fromkeys(keys))
    n = len(distinct)
    f_train, f_valid, f_test = opts.split if with_test else (opts.split[0], opts.split[1], 0)
    total = f_train + f_valid + f_test
    n_valid = min(MAX_HELD_OUT, max(1, round(n * f_valid / total)))
    n_test = min(MAX_HELD_OUT, max(1, round(n * f_test / total))) if with_test else 0
    if n - n_valid - n_test < 1:
        raise UserError(f"{n} distinct pairs are too few to hold out validation and test "
                        f"pairs; expected at least 3, or pass --valid and --test")
    order = np.random.default_rng([opts.train.seed, 11]).permutation(n)
    part = {distinct[i]: "valid" for i in order[:n_valid]}
    part.update({distinct[i]: "test" for i in order[n_valid:n_valid + n_test]})
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


# ----------------------------------------------------------------------------- the task's hooks

def prepare(opts: TranslatorOptions, vocabs: Optional[dict] = None, stdin=None) -> Prepared:
    """Splits, vocabularies (fitted on train only, or the resumed run's), batches, evaluator."""
    _check(opts)
    from recurrente.tasks.seq2seq.metrics import require_sacrebleu
    require_sacrebleu()
    splits = read_splits(opts)
    filtered = {name: length_filter(p, opts) for name, p in splits.items()}
    if not filtered["train"][0]:
        raise UserError(f"every training pair has a side over --max-len {opts.max_len} tokens; "
                        f"expected some shorter pairs, or a larger --max-len")
    if vocabs is None:
        vocabs = build_vocabs([t for t in filtered["train"][1]], opts)
    encoded = {name: encode(kept, tokens, vocabs) for name, (kept, tokens, _) in filtered.items()}
    train, valid = encoded["train"], encoded.get("valid")
    target = vocabs["target"]
    batches = BucketBatches([len(s) for s in train.sources],
                            collate(train, target.bos_id, target.eos_id), opts.batch_size,
                            opts.train.seed)
    evaluate = None
    if valid is not None and len(valid):
        from recurrente.tasks.seq2seq.inference import evaluate_encoded
        evaluate = lambda model: evaluate_encoded(model, valid, vocabs)  # noqa: E731
    return Prepared(vocabs, batches, evaluate, _record(opts, splits, filtered),
                    fingerprint={n: p.source.get("sha256") for n, p in splits.items()},
                    description=f"{_name(opts)} ({len(train):,} train pairs, vocabularies "
                                f"{len(vocabs['source']):,} → {len(target):,} "
                                f"{'characters' if opts.tokenizer == 'char' else 'words'})",
                    extra={"splits": splits, "encoded": encoded},
                    notes=_notes(opts, splits, filtered),
                    files={f"{SPLITS_DIR}/{n}.tsv": pairs_text(encoded[n].pairs)
                           for n in ("valid", "test") if n in encoded})


def build_vocabs(tokens: List[tuple], opts) -> dict:
    """Source ``<pad> <unk>`` and target ``<pad> <unk> <bos> <eos>`` vocabularies."""
    kw = dict(min_freq=opts.min_freq, max_size=opts.vocab_size, split=opts.tokenizer,
              lowercase=opts.lowercase)
    return {"source": Vocab.build((s for s, _ in tokens), specials=(PAD, UNK), **kw),
            "target": Vocab.build((t for _, t in tokens), specials=(PAD, UNK, BOS, EOS), **kw)}


def _check(opts: TranslatorOptions) -> None:
    from recurrente.tasks.seq2seq.attention import KINDS
    from recurrente.train.teacher_forcing import KINDS as SCHEDULES
    check_choice("--tokenizer", opts.tokenizer, ("word", "char"))
    check_choice("--attention", opts.attention, KINDS)
    check_choice("--cell", opts.cell, TASK_CELLS)
    _check_schedule(opts, [k for k in SCHEDULES if k != "constant"])
    for flag, value in (("--max-len", opts.max_len), ("--hidden", opts.hidden),
                        ("--layers", opts.layers), ("--batch-size", opts.batch_size),
                        ("--min-freq", opts.min_freq), ("--embedding", opts.embedding or 1),
                        ("--sampling-steps", opts.sampling_steps or 1)):
        if value < 1:
            raise UserError(f"expected {flag} >= 1, got {value}")
    for flag, value, high in (("--dropout", opts.dropout, 1), ("--label-smoothing",
                              opts.label_smoothing, 1)):
        if not 0 <= value < high:
            raise UserError(f"expected {flag} in [0, 1), got {value}")
    if not 0 <= opts.teacher_forcing <= 1:
        raise UserError(f"expected --teacher-forcing in [0, 1], got {opts.teacher_forcing}")


def _check_schedule(opts: TranslatorOptions, kinds) -> None:
    from recurrente.train.teacher_forcing import teacher_forcing_probability
    kind = opts.scheduled_sampling
    if kind is None:
        given = [f for f, v in (("--sampling-k", opts.sampling_k),
                                ("--sampling-steps", opts.sampling_steps)) if v is not None]
        if given:
            raise UserError(f"{given[0]} sets the schedule of --scheduled-sampling, which was "
                            f"not given")
        return
    check_choice("--scheduled-sampling", kind, kinds)
    if opts.teacher_forcing != 1.0:
        raise UserError("expected either --teacher-forcing (a constant ratio) or "
                        "--scheduled-sampling (a decaying one), got both")
    if kind != "linear" and opts.sampling_k is None:
        raise UserError(f"expected --sampling-k for the {kind} schedule (e.g. 0.999 for "
                        f"exponential, 100 for inverse_sigmoid)")
    if kind != "linear" and opts.sampling_steps is not None:
        raise UserError(f"--sampling-steps sets where the linear schedule ends; the {kind} "
                        f"schedule decays by --sampling-k alone")
    try:
        teacher_forcing_probability(kind, 0, opts.sampling_steps or 1, opts.sampling_k)
    except UserError as e:
        raise UserError(f"--sampling-k: {e}") from None


def _name(opts) -> str:
    return opts.data or f"{opts.source} → {opts.target}"


def _record(opts, splits, filtered) -> dict:
    return {"data": opts.data, "sources": {n: p.source for n, p in splits.items()},
            "pairs": {n: len(kept) for n, (kept, _, _) in filtered.items()},
            "over_max_len": {n: d for n, (_, _, d) in filtered.items()},
            "splits_dir": SPLITS_DIR}


def _notes(opts, splits: Dict[str, Pairs], filtered) -> List[str]:
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


def build(opts: TranslatorOptions, prepared: Prepared):
    from recurrente.tasks.seq2seq.model import Seq2Seq
    source, target = prepared.vocabs["source"], prepared.vocabs["target"]
    try:
        model = Seq2Seq(
            len(source), len(target), cell=opts.cell, hidden_size=opts.hidden,
            num_layers=opts.layers, embedding_size=opts.embedding,
            bidirectional=opts.bidirectional, attention=opts.attention,
            input_feeding=opts.input_feeding, dropout=opts.dropout,
            tie_embeddings=opts.tie_embeddings, label_smoothing=opts.label_smoothing,
            teacher_forcing=opts.teacher_forcing, scheduled_sampling=opts.scheduled_sampling,
            sampling_k=opts.sampling_k, sampling_steps=opts.sampling_steps,
            implementation=opts.implementation, pad_id=target.pad_id, unk_id=target.unk_id,
            bos_id=target.bos_id, eos_id=target.eos_id)
    except ValueError as e:
        raise UserError(str(e)) from None
    model.vocabs = prepared.vocabs
    model.max_len = opts.max_len
    return model
