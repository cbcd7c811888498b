"""Every task, and every model class a run directory can name, by name.

Entries are ``"module:attribute"`` strings imported on first use: asking for one task never
imports another, and ``import recurrente`` imports none of them. A new task adds one line to
:data:`TASKS` and one per model class to :data:`MODELS`; the run plumbing, checkpoint loading
and the command line then serve it (``recurrente eval RUN`` loads any run by the model class
its ``config.json`` names).
"""

import importlib

from recurrente.errors import UserError

TASKS = {
    "lm": "recurrente.tasks.lm.task:SPEC",
    "classify": "recurrente.tasks.classify.task:SPEC",
    "tag": "recurrente.tasks.tag.task:SPEC",
    "translate": "recurrente.tasks.seq2seq.task:SPEC",
}
MODELS = {  # model class name (as stored in config.json) -> (class, task)
    "LanguageModel": ("recurrente.tasks.lm.model:LanguageModel", "lm"),
    "SequenceClassifier": ("recurrente.tasks.classify.model:SequenceClassifier", "classify"),
    "SequenceTagger": ("recurrente.tasks.tag.model:SequenceTagger", "tag"),
    "Seq2Seq": ("recurrente.tasks.seq2seq.model:Seq2Seq", "translate"),
}


def _resolve(reference: str):
    module, attribute = reference.split(":")
    return getattr(importlib.import_module(module), attribute)


def task(name: str):
    """The :class:`~recurrente.tasks.base.TaskSpec` registered as ``name``."""
    if name not in TASKS:
        raise UserError(f"unknown task {name!r}; expected one of {', '.join(TASKS)}")
    return _resolve(TASKS[name])


def model_class(name: str):
    """The model class a run's ``config.json`` names (``"class"`` of its model section)."""
    if name not in MODELS:
        raise UserError(f"unknown model class {name!r} in config.json; this version of "
                        f"recurrente knows {', '.join(MODELS)}")
    return _resolve(MODELS[name][0])


def task_of_model(name: str):
    """The spec of the task whose model class is ``name``."""
    model_class(name)  # the same error for an unknown class
    return task(MODELS[name][1])
