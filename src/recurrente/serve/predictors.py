"""What the server knows of a task: the predictor base class, its endpoints, and the loading.

A task is served when its folder has a ``serve`` module (``recurrente/tasks/<t>/serve.py``)
exposing ``PREDICTOR``: a subclass of :class:`Predictor` whose ``routes`` are the task's
:class:`Endpoint` s. The app adds one route per endpoint name and hands each request to the
predictor it names; the page gives each task the panel its folder holds (``panel.js`` and
``panel.css`` beside ``serve.py``, see :mod:`recurrente.serve.page`). Nothing here knows a task.

A predictor never keeps a request's state on itself: a call builds what it needs inside the
call (a streamed generation carries its own) and drops it. The model's weights are shared and
only read; the app runs one call at a time per model (:class:`~recurrente.serve.limits.Gate`),
so the few places where the library toggles ``model.train()`` around inference never race.
Predictors are plain Python (no web framework): the app turns their results into JSON, their
:class:`~recurrente.errors.UserError` into a 422 with its sentence.
"""

from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Callable, List, Optional, Tuple

from recurrente.errors import UserError


def shown_number(n: int) -> str:
    """A number from a request, short enough for an error sentence."""
    text = str(n)
    return text if len(text) <= 20 else f"a number of {len(text)} digits"


@dataclass(frozen=True)
class Endpoint:
    """One route, ``POST /v1/models/{name}/<name>``, of a task.

    ``request``: its body, a pydantic model (built on :mod:`recurrente.serve.requests`).
    ``answer``: ``async answer(predictor, body, call)``, returning a dict (the JSON answer,
    which the app puts after ``"model": name``) or a response of its own (an event stream);
    ``call`` is the app's :class:`~recurrente.serve.app.Call`: the limits, the text checks,
    and the model's gate that every piece of model work goes through. ``summary``: what the
    endpoint takes and returns, for the OpenAPI page; ``responses``: OpenAPI extras (another
    content type). Tasks that share an endpoint name must share its request body.
    """
    name: str
    request: type
    answer: Callable
    summary: str = ""
    responses: Optional[dict] = None


class Predictor:
    """Base: a name (from the run directory), a task, and the endpoints it answers.

    A task's predictor sets ``task`` (its task's name: the page's panels and ``GET
    /v1/models`` go by it), ``routes`` (every :class:`Endpoint` the task has) and
    :meth:`details` (what the model listing adds: labels, tags ...). ``endpoints``: the names
    of the routes this model answers: all of them, unless the predictor narrows it (a model
    that cannot do one).
    """
    task = ""
    routes: Tuple[Endpoint, ...] = ()

    def __init__(self, name: str, run=None):
        self.name, self.run = name, run
        self.model = run.model if run is not None else None
        self.title = run.spec.title if run is not None else ""
        self.endpoints = tuple(e.name for e in self.routes)

    def info(self) -> dict:
        return {"name": self.name, "task": self.task, "title": self.title,
                "endpoints": list(self.endpoints), **self.details()}

    def details(self) -> dict:
        return {}

    @classmethod
    def page_part(cls, suffix: str) -> str:
        """The task's panel on the web page: ``panel.js`` (``suffix="js"``) or ``panel.css``
        beside the predictor's module; "" when the task has none."""
        package = cls.__module__.rpartition(".")[0]
        if not package:
            return ""
        part = resources.files(package).joinpath(f"panel.{suffix}")
        return part.read_text(encoding="utf-8") if part.is_file() else ""


# ----------------------------------------------------------------------------- loading

def unique_names(directories) -> List[str]:
    """The base name of each run directory, made unique with ``-2``, ``-3`` ..."""
    names: List[str] = []
    for directory in directories:
        base = Path(directory).resolve().name or "model"
        name, k = base, 2
        while name in names:
            name, k = f"{base}-{k}", k + 1
        names.append(name)
    return names


def servable() -> List[str]:
    """The names of the tasks whose folder has a serve module."""
    from recurrente.tasks import registry
    return [name for name in registry.names() if registry.task(name).part("serve") is not None]


def serve_module(directory):
    """The serve module of the task of the run in ``directory`` (by the model class its
    ``config.json`` names); a :class:`UserError` for a task that has none."""
    from recurrente.tasks import registry
    from recurrente.train.checkpoint import CONFIG, read_config
    name = read_config(directory).get("model", {}).get("class")
    if name is None:
        raise UserError(f"{directory}/{CONFIG} has no model section; the run stopped before it "
                        f"was set up")
    spec = registry.task_of_model(name)
    module = spec.part("serve")
    if module is None:
        raise UserError(f"{directory} is a {spec.title} run, a task this version of recurrente "
                        f"cannot serve; it serves {', '.join(servable()) or 'no task'}")
    return module


def load_predictors(directories, device: str = "cpu", log=print) -> List[Predictor]:
    """A predictor for each run directory (read only, nothing written). Every run's task is
    checked first, so a run that cannot be served is refused before any model is loaded; a path
    that is not a run, or a corrupt checkpoint, is a :class:`UserError` too; any other error
    while loading is a bug, and raised as it is. ``log``: kept for callers (loading says
    nothing)."""
    from recurrente.train.run import load_run
    modules = [serve_module(directory) for directory in directories]
    return [module.PREDICTOR(name, load_run(directory, device=device))
            for name, directory, module in zip(unique_names(directories), directories, modules)]
