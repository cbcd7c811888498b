"""The language model as a registered task, and its Python entry point.

``recurrente train`` (:mod:`recurrente.cli.train_cmd`) and :func:`train_language_model` both go
through the shared run plumbing (:func:`recurrente.train.run.train_run`) with :data:`SPEC`.
"""

import math
from typing import Optional

import numpy as np

from recurrente.data.batching import make_batches
from recurrente.data.windows import check_truncation
from recurrente.errors import UserError, check_positive
from recurrente.tasks.base import Prepared, TaskSpec
from recurrente.tasks.lm.data import prepare_data
from recurrente.tasks.lm.inference import evaluate_stream
from recurrente.tasks.lm.model import DIRECTIONS, LanguageModel
from recurrente.tasks.lm.options import LMOptions
from recurrente.tasks.lm.recipes import RECIPE_FIELDS, resolve


def prepare(opts: LMOptions, vocabs: Optional[dict] = None, stdin=None) -> Prepared:
    """The corpus read and split, the recipe and size filled in, batches of its training part
    (reversed for a backward model), and an evaluator on the first ``eval_tokens`` of its
    validation part (the whole part is scored by ``recurrente eval``)."""
    if opts.direction not in DIRECTIONS:
        raise UserError(f"expected --direction forward or backward, got {opts.direction!r}")
    check_truncation(opts.truncation)
    data = prepare_data(opts, stdin=stdin, tokenizer=(vocabs or {}).get("source"))
    notes = resolve(opts, data.tokenizer.vocab_size)
    train = data.splits["train"]
    if opts.direction == "backward":
        train = np.ascontiguousarray(train[::-1])
    batches = make_batches(train, opts.partition, opts.batch_size, opts.seq_len,
                           opts.train.seed, opts.truncation)
    valid = data.splits["valid"][:opts.eval_tokens + 1]
    evaluate = (lambda model: evaluate_stream(model, valid)) if len(valid) > 1 else None
    source = data.record["source"]
    description = (f"{data.corpus.name} ({data.record['tokens']['train']:,} train tokens, "
                   f"vocabulary {data.tokenizer.vocab_size})")
    return Prepared({"source": data.tokenizer}, batches, evaluate, data.record,
                    fingerprint=[source.get("sha256"), source.get("splits_sha256"),
                                 opts.tokenizer, opts.normalize],
                    description=description, notes=notes,
                    extra={"data": data, "resolved": {k: getattr(opts, k) for k in RECIPE_FIELDS}})


def build(opts: LMOptions, prepared: Prepared) -> LanguageModel:
    return build_model(opts, prepared.vocabs["source"].vocab_size)


def build_model(opts: LMOptions, vocab_size: int) -> LanguageModel:
    check_positive({"--hidden": opts.hidden, "--layers": opts.layers, "--seq-len": opts.seq_len,
                    "--batch-size": opts.batch_size, "--embedding": opts.embedding or 1})
    try:
        return LanguageModel(vocab_size, cell=opts.cell, hidden_size=opts.hidden,
                             num_layers=opts.layers, embedding_size=opts.embedding,
                             dropout=opts.dropout, tie_weights=opts.tie_weights,
                             implementation=opts.implementation,
                             dropout_input=opts.dropout_input, dropout_hidden=opts.dropout_hidden,
                             dropout_embedding=opts.dropout_embedding,
                             dropout_mask=opts.dropout_mask, weight_dropout=opts.weight_dropout,
                             ar=opts.ar, tar=opts.tar, direction=opts.direction,
                             scheduled_sampling=opts.scheduled_sampling,
                             sampling_k=opts.sampling_k, softmax=opts.softmax)
    except ValueError as e:
        raise UserError(str(e)) from None


def _summarize(best: dict, prepared) -> dict:
    """Perplexity, and bits per character for a character model, of the best evaluation."""
    loss = best.get("loss")
    if loss is None:
        return {}
    out = {"valid_perplexity": math.exp(min(loss, 700.0))}
    if prepared.vocabs["source"].kind == "char":
        out["valid_bits_per_char"] = loss / math.log(2)
    return out


SPEC = TaskSpec(name="lm", title="language model", model_class="LanguageModel",
                package=__package__, options=LMOptions,
                prepare=prepare, build=build,
                metrics={"loss": "min"}, positional="corpus", summarize=_summarize,
                guessed=RECIPE_FIELDS)


def train_language_model(opts: LMOptions, out, resume: bool = False,
                         progress: bool = True, stdin=None, log=print) -> dict:
    """Train (or resume) a language model into run directory ``out``; return a summary dict
    (``valid_loss``, ``valid_perplexity``, ``steps``, ``stop_reason``, ``items_per_s``, ...)."""
    from recurrente.train.run import train_run
    return train_run(SPEC, opts, out, resume=resume, progress=progress, stdin=stdin, log=log)
