"""The translator as a registered task, and its Python entry points."""

from pathlib import Path

from recurrente.errors import UserError
from recurrente.tasks.base import TaskSpec
from recurrente.tasks.seq2seq import data

SPEC = TaskSpec(name="translate", title="translator", model_class="Seq2Seq",
                options=data.TranslatorOptions, prepare=data.prepare, build=data.build,
                metrics={"bleu": "max", "chrf": "max", "exact": "max", "loss": "min"},
                positional="data",
                flag_names={"bidirectional": "--unidirectional",
                            "input_feeding": "--no-input-feeding"})


def train_translator(opts: "data.TranslatorOptions", out, resume: bool = False,
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
        saved = Path(run.directory) / data.SPLITS_DIR / f"{split}.tsv"
        if not saved.exists():
            held = sorted(p.stem for p in (Path(run.directory) / data.SPLITS_DIR).glob("*.tsv"))
            raise UserError(f"this run saved no {split} split (it has "
                            f"{', '.join(held) or 'none'}); pass --data FILE")
        pairs = read_tsv_pairs(saved, "utf-8")  # saved in the model's direction already
    else:
        pairs = read_tsv_pairs(path, encoding or opts.encoding, opts.reverse)
    model = run.model
    model.vocabs = run.vocabs
    sources = encode_sources(model, [s for s, _ in pairs.pairs], max_len or opts.max_len,
                             where="line")
    targets = [run.vocabs["target"].encode(data.split_pair(p, opts)[1]) for p in pairs.pairs]
    return data.Encoded(sources, targets, list(pairs.pairs))
