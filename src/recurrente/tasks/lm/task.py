"""The language model as a registered task, and its Python entry point.

``recurrente train`` (:mod:`recurrente.cli.train_cmd`) and :func:`train_language_model` both go
through the shared run plumbing (:func:`recurrente.train.run.train_run`) with :data:`SPEC`.
"""

import math

from recurrente.tasks.base import TaskSpec
from recurrente.tasks.lm import data
from recurrente.tasks.lm.recipes import RECIPE_FIELDS


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
                options=data.LMOptions, prepare=data.prepare, build=data.build,
                metrics={"loss": "min"}, positional="corpus", summarize=_summarize,
                guessed=RECIPE_FIELDS)


def train_language_model(opts: "data.LMOptions", out, resume: bool = False,
                         progress: bool = True, stdin=None, log=print) -> dict:
    """Train (or resume) a language model into run directory ``out``; return a summary dict
    (``valid_loss``, ``valid_perplexity``, ``steps``, ``stop_reason``, ``items_per_s``, ...)."""
    from recurrente.train.run import train_run
    return train_run(SPEC, opts, out, resume=resume, progress=progress, stdin=stdin, log=log)
