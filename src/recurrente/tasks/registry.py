"""Every task, found by its folder: ``tasks/<t>/task.py`` holding ``SPEC``.

A new task is a new folder; nothing else is edited. The task's name is its folder's, unless the
package's ``__init__.py`` sets ``NAME`` (the encoder-decoder in ``seq2seq/`` is ``translate``).
Listing the tasks imports only their packages; a task's ``task.py`` (its spec, and with it torch
and its data code) is imported the first time that task is asked for, and ``import recurrente``
imports none of them. The command line, the server and export then ask for a task's parts
(:func:`part`, :meth:`~recurrente.tasks.base.TaskSpec.part`: ``cli``, ``serve``, ``export``).
"""

import importlib
import pkgutil
from functools import lru_cache
from pathlib import Path
from typing import Dict

from recurrente.errors import UserError

_PACKAGE = "recurrente.tasks"


@lru_cache(maxsize=None)
def _folders() -> Dict[str, str]:
    """task name -> its package, for every sub-package of :mod:`recurrente.tasks` that has a
    ``task`` module, in their ``ORDER`` (default 50), then by name."""
    import recurrente.tasks as tasks
    found = {}
    for info in pkgutil.iter_modules(tasks.__path__):
        if not (info.ispkg and (Path(info.module_finder.path) / info.name / "task.py").exists()):
            continue
        package = importlib.import_module(f"{_PACKAGE}.{info.name}")
        order = getattr(package, "ORDER", 50)
        found[getattr(package, "NAME", info.name)] = (order, package.__name__)
    return {name: package for name, (_, package) in sorted(found.items(),
                                                           key=lambda kv: (kv[1][0], kv[0]))}


def names() -> list:
    """The registered task names, the language model first."""
    return list(_folders())


def part(name: str, part_name: str):
    """The module ``part_name`` of task ``name``'s folder, or None where it has none; imports
    nothing of the task besides it (the command line's ``cli`` parts stay light)."""
    module = f"{_folders()[name]}.{part_name}"
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as e:
        if e.name != module:
            raise
        return None


def task(name: str):
    """The :class:`~recurrente.tasks.base.TaskSpec` registered as ``name``."""
    folders = _folders()
    if name not in folders:
        raise UserError(f"unknown task {name!r}; expected one of {', '.join(folders)}")
    return importlib.import_module(f"{folders[name]}.task").SPEC


def task_of_model(name: str):
    """The spec of the task whose model class is ``name`` (as a run's ``config.json`` stores it);
    the tasks are imported in order until it is found."""
    for spec in map(task, names()):
        if spec.model_class == name:
            return spec
    known = ", ".join(task(n).model_class for n in names())
    raise UserError(f"unknown model class {name!r} in config.json; this version of recurrente "
                    f"knows {known}")


def model_class(name: str):
    """The model class a run's ``config.json`` names (``"class"`` of its model section)."""
    spec = task_of_model(name)
    return getattr(spec.part("model", required=True), spec.model_class)
