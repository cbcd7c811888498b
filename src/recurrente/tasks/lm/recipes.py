"""The defaults of a language model: one recipe for characters, one for words, and a model size
chosen for the time budget.

An option left at ``None`` takes the recipe's value for the tokenizer. The model size
(``layers``, ``hidden``, ``seq_len``; the embedding follows the hidden size) is chosen only when
none of them is given: when training is limited by a ``time_budget`` (the CLI's 180 s unless told
otherwise), it is the largest size in the recipe's table that will see, in that time, the number
of tokens it needs to beat the next smaller size; without a budget it is the recipe's ``base``.
The two facts the rule needs are measured:

* tokens/s, here and now: a few training steps of the table's smallest size are timed on the
  run's device (:func:`measure_rate`), giving the machine's rate in operations per second; each
  size's tokens/s is that rate over the operations one of its tokens costs
  (:func:`flops_per_token`: forward and backward of the layers and of the output layer, whose
  cost grows with the vocabulary). On this project's machine kind the rate measured the same
  for every size of the tables within 15% (``python -m benchmarks.lm_sizes``: 56, 61 and 63
  GFLOP/s per CPU-second for the 2x128, 2x256 and 2x512 character models), so one probe
  predicts them all, and a busy or a faster machine gets the size that fits it;
* tokens needed: the training tokens after which a size's held-out loss stays below the next
  smaller size's at equal time, from learning curves measured by ``python -m
  benchmarks.lm_sizes`` (docs/language-model.md).

The log says which recipe and size were chosen, and why.
"""

import time
from dataclasses import dataclass
from typing import List, Optional

from recurrente.errors import UserError, check_choice


@dataclass(frozen=True)
class Size:
    layers: int
    hidden: int
    seq_len: int
    tokens_needed: float  # training tokens after which it beats the previous size of the table

    @property
    def name(self) -> str:
        return f"{self.layers}x{self.hidden}, windows of {self.seq_len}"


@dataclass(frozen=True)
class Recipe:
    values: dict  # options the recipe sets
    sizes: tuple  # smallest first
    base: int  # index of the size used without a time budget

    def describe(self) -> str:
        return ", ".join(f"{k.replace('_', '-')} {v}" for k, v in self.values.items()
                         if v is not None)


RECIPES = {
    "char": Recipe(
        values=dict(dropout=0.0, dropout_input=None, dropout_hidden=None, dropout_embedding=0.0,
                    dropout_mask="step", weight_dropout=0.0, ar=0.0, tar=0.0, tie_weights=False,
                    softmax="full", batch_size=32),
        # 2x512 had not overtaken 2x256 after 2.8 M tokens (1,200 s on one core, gap 0.036
        # nats at 600 s, 0.017 at 1,200 s); 5.3 M extends that fall, linear in log time
        sizes=(Size(2, 128, 32, 0.0), Size(2, 256, 32, 0.72e6), Size(2, 512, 32, 5.3e6)),
        base=0),
    "word": Recipe(
        values=dict(dropout=0.3, dropout_input=0.3, dropout_hidden=0.2, dropout_embedding=0.05,
                    dropout_mask="sequence", weight_dropout=0.2, ar=2.0, tar=1.0,
                    tie_weights=False, softmax="adaptive", batch_size=20),
        sizes=(Size(2, 200, 35, 0.0), Size(2, 400, 35, 0.63e6)),
        base=0),
}
SIZE_FIELDS = ("layers", "hidden", "seq_len", "embedding")
RECIPE_FIELDS = tuple(RECIPES["char"].values) + SIZE_FIELDS
PROBE_STEPS = 2  # timed training steps of the smallest size, after one to warm up


def flops_per_token(size: Size, vocab_size: int, cell: str = "lstm",
                    softmax: str = "full") -> float:
    """Training operations per token: 3 × (2 × multiply-adds of the forward pass), the input
    and recurrent products of each layer and the output layer over the vocabulary (an adaptive
    one: its head, and each tail for the share of tokens in it, taken as 15% for the first tail
    and 5% for the others: about what Zipf's law gives words)."""
    # the mLSTM: 4H+2 projection rows, and its (H, H) memory written and read: ~6 H-row blocks
    gates = {"lstm": 4, "gru": 3, "rnn": 1, "mingru": 2, "minlstm": 3, "slstm": 4,
             "mlstm": 6}[cell]
    H = size.hidden
    reads = H if cell in ("mingru", "minlstm", "mlstm") else H + H  # their gates read X_t only
    layers = gates * H * reads * size.layers  # embedding size = H
    if softmax == "full":
        return 3 * 2 * (layers + H * vocab_size)
    from recurrente.tasks.lm.softmax import DIV_VALUE, cutoffs_for
    cuts = cutoffs_for(vocab_size)
    edges = cuts + [vocab_size]
    out = H * (cuts[0] + len(cuts))
    for k in range(len(cuts)):
        d = max(1, int(H // DIV_VALUE ** (k + 1)))
        out += (0.15 if k == 0 else 0.05) * (H * d + d * (edges[k + 1] - edges[k]))
    return 3 * 2 * (layers + out)


def tokens_per_s(size: Size, vocab_size: int, rate: float, cell: str = "lstm",
                 softmax: str = "full") -> float:
    return rate / flops_per_token(size, vocab_size, cell, softmax)


def measure_rate(opts, size: Size, vocab_size: int) -> float:
    """Training operations per second on ``opts``'s device: ``PROBE_STEPS`` steps of ``size``
    (with the options' regularisers and batch size) on random ids, timed after one warm-up."""
    import torch

    from recurrente.tasks.lm.model import LanguageModel
    from recurrente.device import resolve_device
    device = resolve_device(opts.train.device)
    state = torch.get_rng_state()  # the probe must not move the run's random streams
    cuda_state = torch.cuda.get_rng_state_all() if device.type == "cuda" else None
    try:
        model = LanguageModel(vocab_size, cell=opts.cell, hidden_size=size.hidden,
                              num_layers=size.layers, dropout=opts.dropout,
                              dropout_mask=opts.dropout_mask, weight_dropout=opts.weight_dropout,
                              implementation=opts.implementation,
                              softmax=opts.softmax).to(device)
    except ValueError as e:
        raise UserError(str(e)) from None
    try:
        optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)
        zipf = 1.0 / torch.arange(1, vocab_size + 1, dtype=torch.float64)  # ids by frequency
        ids = torch.multinomial(zipf, (size.seq_len + 1) * opts.batch_size, replacement=True)
        ids = ids.view(size.seq_len + 1, opts.batch_size).to(device)  # (T+1, B)
        for k in range(PROBE_STEPS + 1):
            if k == 1:
                if device.type == "cuda":
                    torch.cuda.synchronize()
                start = time.perf_counter()
            loss_sum, count, _ = model.loss((ids[:-1], ids[1:]))
            optimizer.zero_grad()
            (loss_sum / count).backward()
            optimizer.step()
        if device.type == "cuda":
            torch.cuda.synchronize()
        seconds = max(time.perf_counter() - start, 1e-6)
    finally:
        torch.set_rng_state(state)
        if cuda_state is not None:
            torch.cuda.set_rng_state_all(cuda_state)
    tokens = PROBE_STEPS * size.seq_len * opts.batch_size
    return tokens / seconds * flops_per_token(size, vocab_size, opts.cell, opts.softmax)


def choose_size(recipe: Recipe, vocab_size: int, budget: Optional[float], rate: float,
                cell: str = "lstm", softmax: str = "full"):
    """``(size, reason)``: the largest size that sees the tokens it needs within ``budget`` at
    ``rate`` operations per second."""
    if not budget:
        return recipe.sizes[recipe.base], "no time budget: the recipe's base size"
    chosen, why_not = recipe.sizes[0], None
    for size in recipe.sizes:
        seen = budget * tokens_per_s(size, vocab_size, rate, cell, softmax)
        if seen >= size.tokens_needed:
            chosen = size
        elif why_not is None:
            why_not = (f"{size.layers}x{size.hidden} would see {seen / 1e6:.1f} M but needs "
                       f"{size.tokens_needed / 1e6:.1f} M to beat the next smaller size")
    speed = tokens_per_s(chosen, vocab_size, rate, cell, softmax)
    reason = f"at {speed:,.0f} tokens/s it sees {budget * speed / 1e6:.1f} M tokens in {budget:g} s"
    if chosen.tokens_needed:
        reason += f", more than the {chosen.tokens_needed / 1e6:.1f} M it needs"
    return chosen, reason + (f"; {why_not}" if why_not else "")


def resolve(opts, vocab_size: int) -> List[str]:
    """Fill ``opts``'s ``None`` fields from the tokenizer's recipe and the size rule; return
    the sentences the log should show."""
    from recurrente.layers.factory import TASK_CELLS
    check_choice("--tokenizer", opts.tokenizer, tuple(RECIPES))
    check_choice("--cell", opts.cell, TASK_CELLS)
    recipe = RECIPES[opts.tokenizer]
    given = [f for f in RECIPE_FIELDS if getattr(opts, f) is not None]
    for name, value in recipe.values.items():
        if getattr(opts, name) is not None:
            continue
        if name in ("dropout_input", "dropout_hidden") and "dropout" in given:
            continue  # a given --dropout stands for all three places
        setattr(opts, name, value)
    check_options(opts)
    notes = []
    if not any(f in given for f in SIZE_FIELDS):
        c = opts.train
        budget = c.time_budget if not (c.max_steps or c.epochs) else None
        probe = recipe.sizes[0]
        rate = measure_rate(opts, probe, vocab_size) if budget else 0.0
        size, reason = choose_size(recipe, vocab_size, budget, rate, opts.cell, opts.softmax)
        opts.layers, opts.hidden, opts.seq_len = size.layers, size.hidden, size.seq_len
        speed = tokens_per_s(probe, vocab_size, rate, opts.cell, opts.softmax)
        measured = (f" (measured here: {speed:,.0f} tokens/s for {probe.layers}x{probe.hidden})"
                    if budget else "")
        notes.append(f"model size {size.name}{measured}: {reason}")
    base = recipe.sizes[recipe.base]
    for name in ("layers", "hidden", "seq_len"):
        if getattr(opts, name) is None:
            setattr(opts, name, getattr(base, name))
    unset = [f"{f.replace('_', '-')} {getattr(opts, f)}" for f in recipe.values
             if f not in given and getattr(opts, f) is not None]  # None: follows --dropout
    if unset:
        notes.insert(0, f"{opts.tokenizer} recipe: " + ", ".join(unset))
    return notes


def check_options(opts) -> None:
    """One sentence for a regularisation option out of range."""
    check_choice("--dropout-mask", opts.dropout_mask, ("step", "sequence"))
    check_choice("--softmax", opts.softmax, ("full", "adaptive"))
    if opts.tie_weights and opts.softmax == "adaptive":
        raise UserError("--tie-weights needs --softmax full; an adaptive softmax has no matrix "
                        "the size of the embedding's")
    for name in ("dropout", "dropout_input", "dropout_hidden", "dropout_embedding",
                 "weight_dropout"):
        value = getattr(opts, name)
        if value is not None and not 0.0 <= value < 1.0:
            raise UserError(f"expected --{name.replace('_', '-')} in [0, 1), got {value}")
    for name in ("ar", "tar"):
        if getattr(opts, name) < 0:
            raise UserError(f"expected --{name} >= 0, got {getattr(opts, name)}")
