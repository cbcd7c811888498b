"""The translator as a registered task: its spec, ``prepare`` (pairs → splits, vocabularies,
batches, evaluator) and ``build`` (the model), and its Python entry points."""

from pathlib import Path
from typing import Optional

from recurrente.data.padded import BucketBatches
from recurrente.errors import UserError
from recurrente.tasks.base import Prepared, TaskSpec
from recurrente.tasks.seq2seq.data import (SPLITS_DIR, Encoded, build_vocabs, collate, encode,
                                           length_filter, pairs_text, read_splits, split_notes,
                                           split_pair)
from recurrente.tasks.seq2seq.options import TranslatorOptions, check


def prepare(opts: TranslatorOptions, vocabs: Optional[dict] = None, stdin=None) -> Prepared:
    """Splits, vocabularies (fitted on train only, or the resumed run's), batches, evaluator."""
    check(opts)
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
        evaluate = lambda model: evaluate_encoded(model, valid)  # noqa: E731
    return Prepared(vocabs, batches, evaluate, _record(opts, splits, filtered),
                    fingerprint={n: p.source.get("sha256") for n, p in splits.items()},
                    description=f"{_name(opts)} ({len(train):,} train pairs, vocabularies "
                                f"{len(vocabs['source']):,} → {len(target):,} "
                                f"{'characters' if opts.tokenizer == 'char' else 'words'})",
                    extra={"splits": splits, "encoded": encoded},
                    notes=split_notes(opts, splits, filtered),
                    files={f"{SPLITS_DIR}/{n}.tsv": pairs_text(encoded[n].pairs)
                           for n in ("valid", "test") if n in encoded})


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
    return model


def _name(opts) -> str:
    return opts.data or f"{opts.source} → {opts.target}"


def _record(opts, splits, filtered) -> dict:
    return {"data": opts.data, "sources": {n: p.source for n, p in splits.items()},
            "pairs": {n: len(kept) for n, (kept, _, _) in filtered.items()},
            "over_max_len": {n: d for n, (_, _, d) in filtered.items()},
            "splits_dir": SPLITS_DIR}


SPEC = TaskSpec(name="translate", title="translator", model_class="Seq2Seq",
                package=__package__, options=TranslatorOptions,
                prepare=prepare, build=build,
                metrics={"bleu": "max", "chrf": "max", "exact": "max", "loss": "min"},
                positional="data", limits=("max_len",),
                flag_names={"bidirectional": "--unidirectional",
                            "input_feeding": "--no-input-feeding"})


def train_translator(opts: TranslatorOptions, out, resume: bool = False,
                     progress: bool = True, log=print) -> dict:
    """Train (or resume) a translator into run directory ``out``; return a summary dict
    (``valid_bleu``, ``valid_chrf``, ``valid_exact``, ``steps``, ``stop_reason``, ...)."""
    from recurrente.train.run import train_run
    return train_run(SPEC, opts, out, resume=resume, progress=progress, log=log)


def examples_of(run, split: str = "test", path=None, encoding=None, max_len=None):
    """Encoded pairs to score a run on: a tab-separated file, or the held-out ``split`` saved
    with the run (``splits/<split>.tsv``), which never holds a training pair."""
    from recurrente.data.parallel import read_tsv_pairs
    from recurrente.tasks.seq2seq.inference import encode_sources
    opts = run.options
    if path is None:
        saved = Path(run.directory) / SPLITS_DIR / f"{split}.tsv"
        if not saved.exists():
            held = sorted(p.stem for p in (Path(run.directory) / SPLITS_DIR).glob("*.tsv"))
            raise UserError(f"this run saved no {split} split (it has "
                            f"{', '.join(held) or 'none'}); pass --data FILE")
        pairs = read_tsv_pairs(saved, "utf-8")  # saved in the model's direction already
    else:
        pairs = read_tsv_pairs(path, encoding or opts.encoding, opts.reverse)
    model = run.model
    sources = encode_sources(model, [s for s, _ in pairs.pairs], max_len or opts.max_len,
                             where="line")
    targets = [run.vocabs["target"].encode(split_pair(p, opts)[1]) for p in pairs.pairs]
    return Encoded(sources, targets, list(pairs.pairs))
