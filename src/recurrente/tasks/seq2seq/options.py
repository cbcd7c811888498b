"""A translator's options (the command line's flags, one field each) and their checks."""

from dataclasses import dataclass, field
from typing import Optional

from recurrente.errors import UserError, check_choice, check_positive, check_rates
from recurrente.layers.factory import TASK_CELLS
from recurrente.layers.registry import DEFAULT
from recurrente.train.config import TrainConfig


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


def check(opts: TranslatorOptions) -> None:
    """One sentence for the first option out of range, before any data is read."""
    from recurrente.tasks.seq2seq.attention import KINDS
    from recurrente.train.teacher_forcing import KINDS as SCHEDULES
    check_choice("--tokenizer", opts.tokenizer, ("word", "char"))
    check_choice("--attention", opts.attention, KINDS)
    check_choice("--cell", opts.cell, TASK_CELLS)
    _check_schedule(opts, [k for k in SCHEDULES if k != "constant"])
    check_positive({"--max-len": opts.max_len, "--hidden": opts.hidden, "--layers": opts.layers,
                    "--batch-size": opts.batch_size, "--min-freq": opts.min_freq,
                    "--embedding": opts.embedding or 1,
                    "--sampling-steps": opts.sampling_steps or 1})
    check_rates({"--dropout": opts.dropout, "--label-smoothing": opts.label_smoothing})
    check_rates({"--teacher-forcing": opts.teacher_forcing}, include_one=True)


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
