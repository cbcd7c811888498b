"""One run directory for every task: create, resume, conflict checks, vocabularies, summary.

``train_run(spec, opts, out)`` is what ``recurrente train`` and ``recurrente classify train``
(and every later task's ``train``) call; :func:`load_run` is what their ``eval`` and
``predict`` call. A run directory (see :mod:`recurrente.train.checkpoint`)::

    config.json        {"task", "model", "data", "options", "resumes"}
    vocabs/<role>.json the vocabularies (source, labels, ...): vocabs/source.json for a language
                       model
    model.safetensors  the best weights by the monitored metric
    last/              the resume point
    metrics.jsonl      the log

Nothing is written before the options are known to be valid and the model is built: the run
directory is created when training starts, so a refused run leaves the disk as it was.

Starting: ``--out`` must not hold a run. Resuming: the options must be the run's own, except
those in :data:`~recurrente.train.config.CHANGEABLE_ON_RESUME` (budgets, learning rate, ...),
whose new values are recorded; the data must have the same digests. A run killed before its
first checkpoint has a ``config.json`` but nothing to resume: ``--resume`` then starts it afresh
from its saved options, and says so.

Under torchrun every process calls :func:`train_run`: rank 0 decides how the run starts, writes
the run directory, logs and shows progress; every rank reads the data and takes its share of
each batch (:mod:`recurrente.train.distributed`).
"""

import dataclasses
import json
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Optional

import torch

from recurrente.errors import UserError
from recurrente.io import atomic_write_text
from recurrente.tasks import registry
from recurrente.tasks.base import Prepared, TaskSpec
from recurrente.train import checkpoint, distributed
from recurrente.train.checkpoint import VOCABS, load_vocabs, save_vocabs
from recurrente.train.callbacks import Checkpointer, MetricsLog, ProgressBar
from recurrente.train.config import CHANGEABLE_ON_RESUME, TrainConfig
from recurrente.train.trainer import Trainer



# ----------------------------------------------------------------------------- options

def options_record(opts) -> dict:
    """A task's options as plain JSON (``train`` as a nested section)."""
    record = {f.name: getattr(opts, f.name) for f in dataclasses.fields(opts) if f.name != "train"}
    record = {k: list(v) if isinstance(v, tuple) else v for k, v in record.items()}
    return {**record, "train": dataclasses.asdict(opts.train)}


def options_from_record(cls, record: dict, **overrides):
    """Rebuild options of class ``cls`` from :func:`options_record`'s output (unknown keys of a
    newer version are an error, missing ones take today's defaults)."""
    values = dict(record)
    train = TrainConfig(**{**values.pop("train", {}), **overrides.pop("train", {})})
    tuples = {f.name for f in dataclasses.fields(cls) if isinstance(f.default, tuple)}
    values = {k: tuple(v) if k in tuples and isinstance(v, list) else v for k, v in values.items()}
    try:
        return cls(**{**values, **overrides}, train=train)
    except TypeError as e:
        raise UserError(f"the saved options do not fit this version of recurrente ({e})") from None


def flag_name(spec: TaskSpec, name: str) -> str:
    if name == spec.positional:
        return name.upper()
    if name in spec.flag_names:
        return f"{spec.flag_names[name]} ({name})"
    return "--" + name.replace("_", "-")


def _same(old, new) -> bool:
    """Equal values, or two spellings of one existing file (``train.csv``, ``./train.csv``)."""
    if old == new:
        return True
    if isinstance(old, str) and isinstance(new, str) and os.path.exists(old) \
            and os.path.exists(new):
        return os.path.samefile(old, new)
    return False


def check_same_options(spec: TaskSpec, saved: dict, opts) -> Dict[str, Any]:
    """UserError naming the first option that differs from the run's own, unless it is one that
    may change on resume; returns those that did change ``{name: (old, new)}``."""
    now = options_record(opts)
    defaults = options_record(spec.options())
    changed = {}
    for section, names in (("", [k for k in now if k != "train"]), ("train", list(now["train"]))):
        for name in names:
            new = now[section][name] if section else now[name]
            old = (saved.get(section, {}) if section else saved).get(
                name, defaults[section][name] if section else defaults[name])
            if _same(old, new):
                continue
            if section and name in CHANGEABLE_ON_RESUME:
                changed[name] = (old, new)
                continue
            raise UserError(f"--resume: {flag_name(spec, name)} {_shown(new)} differs from the "
                            f"run's {_shown(old)}; a resumed run keeps its data, model and "
                            f"optimisation options (start a new --out to change them)")
    return changed


def _shown(value) -> str:
    return "(none)" if value is None else str(value)


# ----------------------------------------------------------------------------- training

def train_run(spec: TaskSpec, opts, out, resume: bool = False, progress: bool = True,
              stdin=None, log=print) -> dict:
    """Train (or resume) ``spec``'s model with ``opts`` into run directory ``out``; return a
    summary dict (steps, stop reason, throughput, the best validation metrics, ...)."""
    out = Path(out)
    opts.train.validate()  # a refusal before any data is read or anything written
    world = distributed.join(opts.train.device)  # torchrun's processes, or this one alone
    if not world.is_main:  # rank 0 logs, shows progress and writes the run directory
        log, progress = (lambda *args, **kwargs: None), False
    if world.size > 1 and getattr(opts, spec.positional, None) == "-":
        raise UserError("every process of a data-parallel run reads the data itself; save "
                        "stdin to a file and pass its name")
    start = world.on_main(_how_to_start, out, resume, log)  # decided before anyone writes
    config = checkpoint.read_config(out) if start != "fresh" else {}
    opts.train.monitor = opts.train.monitor or spec.default_monitor
    saved = config.get("options", {})
    for name in spec.guessed:
        if getattr(opts, name) is None and saved.get(name) is not None:
            setattr(opts, name, saved[name])
    changed = check_same_options(spec, saved, opts) if config else {}
    data = spec.prepare(opts, vocabs=load_vocabs(out) if start == "resume" else None,
                        stdin=stdin)
    if start == "resume":
        _check_same_data(config, data, out)
        model = checkpoint.model_from_config(registry.model_class(spec.model_class), config, out)
    else:
        torch.manual_seed(opts.train.seed)  # the initial weights are part of the experiment
        model = spec.build(opts, data)
        world.seed(opts.train.seed)  # ranks > 0: their own random stream (dropout)
    model.attach(data.vocabs, {name: getattr(opts, name) for name in spec.limits})
    monitor = _check_monitor(spec, opts.train.monitor)
    trainer = Trainer(model, world.shard(data.batches), opts.train, data.evaluate,
                      callbacks=world.callbacks([
                          ProgressBar(progress),
                          MetricsLog(out / "metrics.jsonl", opts.train.log_every),
                          Checkpointer(out, every=opts.train.eval_every)]),
                      monitor=monitor, mode=spec.metrics[monitor], world=world)
    out.mkdir(parents=True, exist_ok=True)  # the options held: training starts
    if start == "resume":
        trainer.load_state_dict(checkpoint.load_last(out, trainer.task))
        if world.is_main:
            _record_resume(out, config, opts, changed)
    elif world.is_main:
        for name, value in data.extra.get("resolved", {}).items():
            setattr(opts, name, value)  # what the data decided (guessed columns) is the run's
        save_vocabs(out, data.vocabs)
        for name, text in data.files.items():
            path = out / name
            path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write_text(path, text)
        checkpoint.update_config(out, format="recurrente-run", task=spec.name,
                                 model={"class": type(model).__name__, **model.config()},
                                 limits=model.limits,
                                 data={**data.record, "fingerprint": _jsonable(data.fingerprint)},
                                 options=options_record(opts))
    for note in data.notes + world.notes:
        log(note)
    running = trainer.task.rnn.implementation_for(trainer.device, training=True)
    log(f"training a {spec.title}, {model.describe()}, on {data.description} "
        f"(device {trainer.device}; {trainer.precision.describe(running)}; "
        f"{world.describe() or '1 process'}; best checkpoint by valid {monitor})")
    started = time.perf_counter()
    result = world.fit(trainer)  # trainer.fit(), and a lost process said in one sentence
    world.close()
    return _summary(spec, trainer, result, data, out, time.perf_counter() - started)


def _check_monitor(spec: TaskSpec, monitor: str) -> str:
    if monitor not in spec.metrics:
        raise UserError(f"expected --monitor {' or '.join(spec.metrics)} for a {spec.title}, "
                        f"got {monitor!r}")
    return monitor


def _how_to_start(out: Path, resume: bool, log) -> str:
    """``fresh``, ``resume`` or ``restart`` (a run with options but no checkpoint yet)."""
    exists = (out / checkpoint.CONFIG).exists()
    if exists and not resume:
        raise UserError(f"{out} already holds a run; pass --resume to continue it, or choose "
                        f"another --out")
    if resume and not exists:
        raise UserError(f"--resume: {out} is not a run to resume (no {checkpoint.CONFIG})")
    if not resume:
        return "fresh"
    if checkpoint.has_last(out):
        return "resume"
    log(f"{out} has no checkpoint yet (the run stopped before its first one): starting it "
        f"afresh from its saved options")
    for stale in (checkpoint.WEIGHTS, "metrics.jsonl"):
        (out / stale).unlink(missing_ok=True)
    shutil.rmtree(out / VOCABS, ignore_errors=True)
    return "restart"


def _check_same_data(config: dict, data: Prepared, out: Path) -> None:
    if config.get("data", {}).get("fingerprint") != _jsonable(data.fingerprint):
        raise UserError(f"--resume: the data differs from what {out} was trained on (its digest "
                        f"changed); resume with the same data, or start a new --out")


def _jsonable(value):
    return json.loads(json.dumps(value))


def _record_resume(out: Path, config: dict, opts, changed: dict) -> None:
    resumes = config.get("resumes", [])
    resumes.append({"changed": {k: {"from": a, "to": b} for k, (a, b) in changed.items()}})
    checkpoint.update_config(out, options=options_record(opts), resumes=resumes)


def _summary(spec: TaskSpec, trainer, progress, data: Prepared, out: Path, wall: float) -> dict:
    best = next((r for r in reversed(progress.history) if r["improved"]), None)
    metrics = {k[len("valid_"):]: v for k, v in (best or {}).items() if k.startswith("valid_")}
    summary = {"task": spec.name, "steps": progress.step, "stop_reason": progress.stop_reason,
               "train_seconds": progress.elapsed, "wall_seconds": wall,
               "items_per_s": progress.tokens / max(progress.elapsed, 1e-9),
               "unit": trainer.task.count_unit, "out": str(out),
               "implementation": trainer.task.rnn.implementation_for(trainer.device, training=True),
               "monitor": trainer.monitor, "best_step": best["step"] if best else None,
               **{f"valid_{k}": v for k, v in metrics.items()}}
    summary.update(spec.summarize(metrics, data))
    summary.update(precision=trainer.config.precision, processes=trainer.world.size)
    if trainer.world.size > 1:
        summary["rank"] = trainer.world.rank
    return summary


# ----------------------------------------------------------------------------- vocabularies

# ----------------------------------------------------------------------------- loading

def recorded_split(run, split: str, read_splits):
    """The run's own ``split``, re-read with ``read_splits(options) -> {name: data}`` (each with
    ``source["sha256"]``) and checked against the digest recorded at training."""
    try:
        splits = read_splits(run.options)
    except UserError as e:
        raise UserError(f"the run's data cannot be read any more ({e}); pass --data FILE") \
            from None
    if split not in splits:
        raise UserError(f"this run has no {split} split (it has {', '.join(splits)}); pass "
                        f"--data FILE")
    saved = run.config.get("data", {}).get("fingerprint", {})
    if saved.get(split) != splits[split].source.get("sha256"):
        raise UserError(f"the run's {split} data has changed since training; pass --data FILE")
    return splits[split]


def task_of_run(directory, config: Optional[dict] = None) -> TaskSpec:
    """The spec of the task that trained ``directory``, by the model class its ``config.json``
    names (a UserError if it is not a run, or stopped before its model was set up)."""
    config = checkpoint.read_config(directory) if config is None else config
    name = config.get("model", {}).get("class")
    if name is None:
        raise UserError(f"{directory}/{checkpoint.CONFIG} has no model section; the run stopped "
                        f"before it was set up")
    return registry.task_of_model(name)


@dataclass
class LoadedRun:
    """A trained run, ready for evaluation or prediction."""
    directory: Path
    config: dict
    spec: TaskSpec
    model: Any
    vocabs: dict

    @property
    def options(self):
        return options_from_record(self.spec.options, self.config.get("options", {}))


def load_run(directory, device: str = "cpu", implementation: Optional[str] = None,
             task: Optional[str] = None) -> LoadedRun:
    """Model (best weights, vocabularies and limits attached), spec and config of any task's run
    directory, by the model class its ``config.json`` names; ``task``: refuse a run of another
    task, in one sentence."""
    directory = Path(directory)
    config = checkpoint.read_config(directory)
    spec = task_of_run(directory, config)
    if task is not None and spec.name != task:
        raise UserError(f"{directory} is a {spec.title} run, not a "
                        f"{registry.task(task).title} one")
    model = registry.model_class(spec.model_class).load(directory, device, implementation)
    if not model.vocabs:
        raise UserError(f"{directory} has no vocabularies ({VOCABS}/); it is not a complete run")
    return LoadedRun(directory, config, spec, model, model.vocabs)


def load_model(directory, device: str = "cpu", implementation: Optional[str] = None):
    """The model of a run directory or of ``Task.save``, whatever its task (what
    :func:`recurrente.load` is): the class its ``config.json`` names, through that class's
    :meth:`~recurrente.tasks.base.Task.load` (best weights, vocabularies and limits, eval mode)."""
    directory = Path(directory)
    spec = task_of_run(directory)
    return registry.model_class(spec.model_class).load(directory, device, implementation)
