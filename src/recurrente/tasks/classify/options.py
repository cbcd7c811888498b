"""A classifier's options (the command line's flags, one field each) and their checks."""

from dataclasses import dataclass, field
from typing import Optional

from recurrente.errors import check_choice, check_positive, check_rates
from recurrente.layers.registry import DEFAULT
from recurrente.train.config import TrainConfig


@dataclass
class ClassifierOptions:
    """Everything a classifier run is made of (the CLI's options, one field each)."""
    data: Optional[str] = None  # a CSV/TSV/JSONL file, a folder of class folders, or "sst2"
    valid: Optional[str] = None
    test: Optional[str] = None
    text_column: Optional[str] = None
    label_column: Optional[str] = None
    encoding: str = "utf-8"
    split: tuple = (0.9, 0.05, 0.05)  # train/valid/test when no --valid/--test is given
    tokenizer: str = "word"  # word | char
    lowercase: bool = True
    min_freq: int = 1
    vocab_size: Optional[int] = None
    max_len: int = 400
    vectors: Optional[str] = None  # word2vec/GloVe text file
    cell: str = "lstm"
    implementation: str = DEFAULT
    layers: int = 1
    hidden: int = 128
    embedding: Optional[int] = None
    bidirectional: bool = True
    pooling: str = "max"
    dropout: float = 0.3
    batch_size: int = 32
    train: TrainConfig = field(default_factory=lambda: TrainConfig(time_budget=180.0,
                                                                   eval_every=100))


def check(opts: ClassifierOptions) -> None:
    """One sentence for the first option out of range, before any data is read."""
    from recurrente.layers.factory import TASK_CELLS
    from recurrente.layers.pooling import POOLINGS
    check_choice("--cell", opts.cell, TASK_CELLS)
    check_choice("--tokenizer", opts.tokenizer, ("word", "char"))
    check_choice("--pooling", opts.pooling, POOLINGS)
    check_positive({"--max-len": opts.max_len, "--hidden": opts.hidden, "--layers": opts.layers,
                    "--batch-size": opts.batch_size, "--min-freq": opts.min_freq})
    check_rates({"--dropout": opts.dropout})
