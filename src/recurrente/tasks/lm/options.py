"""A language model's options (the command line's flags, one field each) and its training
defaults. Options left at ``None`` are filled by the recipe of the tokenizer, and the model size
by the time budget (:mod:`recurrente.tasks.lm.recipes`); the filled values are the run's, saved
as such."""

from dataclasses import dataclass, field
from typing import Optional

from recurrente.layers.registry import DEFAULT
from recurrente.train.config import TrainConfig


def lm_train_config(**values) -> TrainConfig:
    """A language model's training defaults, then ``values``: AdamW at a peak rate of 2e-3 on
    the warm-up/stable/decay schedule (:func:`recurrente.train.optim.wsd_factor`), gradients
    clipped at a global norm of 5, 180 s.

    Chosen on the Quijote's letters (``python -m benchmarks.lm_recipes``): a 2x512 LSTM trained
    on 400,000 characters reached 2.38 nats/char on the test text with the earlier cosine
    schedule at 3e-3 and clipping at 1, and 1.89 at a constant 2e-3 with clipping at 5; the
    cosine schedule spends most of a short run below its peak rate, while the model still
    learns fastest. At 300 s on one core, wsd then gained 0.004 nats over a constant rate.
    """
    return TrainConfig(**{"time_budget": 180.0, "lr": 2e-3, "schedule": "wsd", "clip": 5.0,
                          **values})


@dataclass
class LMOptions:
    """Everything a language-model run is made of (the CLI's options, one field each).

    ``None``: the recipe's value for the tokenizer, and for the model size (``hidden``,
    ``layers``, ``embedding``, ``seq_len``) the one chosen for the time budget; see
    :mod:`recurrente.tasks.lm.recipes`."""
    corpus: Optional[str] = None  # file, folder, "-", dataset name; None = embedded default
    encoding: str = "utf-8"
    tokenizer: str = "char"  # char | word
    normalize: str = "none"  # none | lowercase | spanish-letters
    vocab_size: Optional[int] = None
    min_freq: int = 1
    split: tuple = (0.9, 0.05, 0.05)
    direction: str = "forward"  # forward | backward (reads the text reversed)
    scheduled_sampling: Optional[str] = None  # linear | exponential | inverse_sigmoid
    sampling_k: Optional[float] = None  # the schedule's parameter (linear: its floor)
    cell: str = "lstm"
    implementation: str = DEFAULT
    layers: Optional[int] = None
    hidden: Optional[int] = None
    embedding: Optional[int] = None
    dropout: Optional[float] = None  # before the head; and input/hidden unless given
    dropout_input: Optional[float] = None  # on the embeddings (locked or not)
    dropout_hidden: Optional[float] = None  # between layers
    dropout_embedding: Optional[float] = None  # whole words
    dropout_mask: Optional[str] = None  # step | sequence (locked)
    weight_dropout: Optional[float] = None  # DropConnect on W_hh
    ar: Optional[float] = None  # activation regularisation
    tar: Optional[float] = None  # temporal activation regularisation
    tie_weights: Optional[bool] = None
    softmax: Optional[str] = None  # full | adaptive (Grave et al. 2017)
    seq_len: Optional[int] = None
    batch_size: Optional[int] = None
    truncation: str = "fixed"  # fixed | variable | random
    partition: str = "sequential"  # sequential | random
    eval_tokens: int = 20000  # validation tokens scored at each evaluation during training
    train: TrainConfig = field(default_factory=lm_train_config)
