"""A tagger's options (the command line's flags, one field each), the heads it may have, and
the options' checks."""

from dataclasses import dataclass, field
from typing import Optional

from recurrente.errors import check_choice, check_positive, check_rates
from recurrente.layers.registry import DEFAULT
from recurrente.train.config import TrainConfig

HEADS = ("crf", "softmax")


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


def check(opts: TaggerOptions) -> None:
    """One sentence for the first option out of range, before any data is read."""
    from recurrente.data import schemes
    from recurrente.layers.char_encoder import CHAR_ENCODERS
    from recurrente.layers.factory import TASK_CELLS
    check_choice("--cell", opts.cell, TASK_CELLS)
    check_choice("--head", opts.head, HEADS)
    check_choice("--chars", opts.chars, CHAR_ENCODERS)
    schemes.scheme_name(opts.scheme)
    if opts.tag_scheme:
        schemes.scheme_name(opts.tag_scheme)
    check_positive({"--hidden": opts.hidden, "--layers": opts.layers,
                    "--batch-size": opts.batch_size, "--embedding": opts.embedding or 1,
                    "--min-freq": opts.min_freq})
    check_rates({"--dropout": opts.dropout, "--word-dropout": opts.word_dropout})
