"""Run directories and atomic checkpoints.

A run directory holds::

    config.json        the task, how to rebuild the model, the data it saw, the training options
    vocabs/            the vocabularies by role (written by :mod:`recurrente.train.run`)
    model.safetensors  the best weights so far (by the monitored metric): what eval loads
    last/              the resume point: model.safetensors + trainer_state.pt, always a pair
    metrics.jsonl      one JSON object per logged step or evaluation

Every file is written under a temporary name and ``os.replace``d; ``last/`` is replaced as a whole
directory (new one written beside it, then swapped), so a crash or SIGKILL at any moment leaves the
previous good checkpoint. Nothing is pickled but tensors and plain data: ``torch.load`` runs with
``weights_only=True``.
"""

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Optional

import torch
from safetensors import SafetensorError
from safetensors.torch import load_model as st_load_model
from safetensors.torch import save_model as st_save_model

from recurrente.errors import UserError
from recurrente.io import atomic_write, atomic_write_json

CONFIG, WEIGHTS, STATE, LAST = "config.json", "model.safetensors", "trainer_state.pt", "last"


def write_json(path: Path, data: dict) -> None:
    atomic_write_json(path, data)


def read_config(directory: Path) -> dict:
    """The run's ``config.json``; a clear error if ``directory`` is not a run."""
    directory = Path(directory)
    if not directory.is_dir():
        raise UserError(f"{directory} is not a directory; expected a run directory made by "
                        f"'recurrente train --out {directory}'")
    try:
        return json.loads((directory / CONFIG).read_text())
    except FileNotFoundError:
        raise UserError(f"{directory} is not a recurrente run: it has no {CONFIG}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise UserError(f"{directory / CONFIG} is corrupted ({e})") from None


def update_config(directory: Path, **sections) -> dict:
    """Merge ``sections`` into the run's ``config.json`` (created if missing)."""
    path = Path(directory) / CONFIG
    config = json.loads(path.read_text()) if path.exists() else {"format": "recurrente-run"}
    config.update(sections)
    write_json(path, config)
    return config


def save_weights(model: torch.nn.Module, path: Path) -> None:
    """``model.safetensors`` (tied weights stored once), atomically."""
    atomic_write(path, lambda p: st_save_model(model, str(p)))


def load_weights(model: torch.nn.Module, path: Path) -> None:
    if not path.exists():
        raise UserError(f"{path.parent} has no {path.name}; was the run stopped before its "
                        f"first checkpoint?")
    try:
        missing, unexpected = st_load_model(model, str(path), strict=False)
    except (SafetensorError, OSError, RuntimeError, ValueError) as e:
        raise UserError(f"{path} is corrupted or was not written by this model ({e})") from None
    if missing or unexpected:
        raise UserError(f"{path} does not match the model in config.json "
                        f"(missing {sorted(missing)[:3]}, unexpected {sorted(unexpected)[:3]})")


def save_model(model, directory: Path) -> None:
    """Model section of ``config.json`` plus ``model.safetensors``."""
    update_config(directory, model={"class": type(model).__name__, **model.config()})
    save_weights(model, Path(directory) / WEIGHTS)


def load_model(cls, directory: Path, device="cpu", implementation: Optional[str] = None):
    """Rebuild ``cls`` from a run directory's config and best weights."""
    config = read_config(directory)
    if "model" not in config:
        raise UserError(f"{directory}/{CONFIG} has no model section")
    model = model_from_config(cls, config, directory, implementation)
    load_weights(model, Path(directory) / WEIGHTS)
    return model.to(device)


def model_from_config(cls, config: dict, directory, implementation: Optional[str] = None):
    """A fresh ``cls`` built from the model section of a run's ``config.json``."""
    kwargs = {k: v for k, v in config.get("model", {}).items() if k != "class"}
    if implementation is not None:
        kwargs["implementation"] = implementation
    try:
        return cls(**kwargs)
    except (TypeError, ValueError) as e:
        raise UserError(f"{directory}/{CONFIG} does not describe a {cls.__name__} ({e})") from None


def save_last(directory: Path, model, trainer_state: dict) -> None:
    """Write the resume point as a new ``last/`` and swap it in (never half a checkpoint)."""
    directory = Path(directory)
    staging = Path(tempfile.mkdtemp(prefix=".last.", dir=directory))
    try:
        st_save_model(model, str(staging / WEIGHTS))
        torch.save(trainer_state, staging / STATE)
        old = directory / (LAST + ".old")
        if (directory / LAST).exists():
            shutil.rmtree(old, ignore_errors=True)
            os.replace(directory / LAST, old)
        os.replace(staging, directory / LAST)
        shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def has_last(directory: Path) -> bool:
    """Whether the run has a resume point (``last/``, or ``last.old/`` after a crash mid-swap)."""
    return any((Path(directory) / name / STATE).exists() for name in (LAST, LAST + ".old"))


def load_last(directory: Path, model) -> dict:
    """Restore ``model`` from ``last/`` (or ``last.old/`` after a crash mid-swap); return state."""
    directory = Path(directory)
    for name in (LAST, LAST + ".old"):
        if (directory / name / STATE).exists():
            load_weights(model, directory / name / WEIGHTS)
            try:
                return torch.load(directory / name / STATE, weights_only=True, map_location="cpu")
            except Exception as e:  # torch raises many types for a damaged file
                raise UserError(f"{directory / name / STATE} is corrupted ({e})") from None
    raise UserError(f"{directory} has no checkpoint to resume from (no {LAST}/{STATE})")


# ----------------------------------------------------------------------------- vocabularies

VOCABS = "vocabs"  # vocabs/<role>.json beside the weights


def save_vocabs(out: Path, vocabs: dict) -> None:
    """Each vocabulary (anything with ``save(path)``) as ``vocabs/<role>.json``."""
    for role, vocab in vocabs.items():
        vocab.save(Path(out) / VOCABS / f"{role}.json")


def load_vocabs(out) -> dict:
    """role -> vocabulary of a run (``vocabs/<role>.json``)."""
    from recurrente.data.vocab import load_vocab
    return {p.stem: load_vocab(p) for p in sorted((Path(out) / VOCABS).glob("*.json"))}


def load_task_model(cls, directory, device="cpu", implementation: Optional[str] = None):
    """``cls`` rebuilt from ``directory`` (a run's best weights, or what ``Task.save`` wrote),
    its vocabularies and limits attached, in eval mode; a directory holding another class is
    one sentence."""
    directory = Path(directory)
    config = read_config(directory)
    stored = config.get("model", {}).get("class")
    if stored != cls.__name__:
        raise UserError(f"{directory} holds a {stored or 'model of no known class'}, not a "
                        f"{cls.__name__}; recurrente.load(DIR) loads a run of any task")
    model = load_model(cls, directory, device=device, implementation=implementation)
    return model.eval().attach(load_vocabs(directory), config.get("limits", {}))
