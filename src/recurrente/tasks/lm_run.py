"""Reading a trained language-model run back: model, tokenizer, and the texts it was split from."""

from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np

from recurrente.data.corpora import load_file
from recurrente.data.tokenizers import load_tokenizer
from recurrente.errors import UserError
from recurrente.tasks.language_model import LanguageModel
from recurrente.train import checkpoint


@dataclass
class LoadedRun:
    directory: Path
    config: dict
    model: LanguageModel
    tokenizer: object


def load_run(directory, device: str = "cpu", implementation: Optional[str] = None) -> LoadedRun:
    """Model (best weights) and tokenizer of a run directory; clear errors if it is not one."""
    directory = Path(directory)
    config = checkpoint.read_config(directory)
    if config.get("model", {}).get("class") != "LanguageModel":
        raise UserError(f"{directory} is not a language-model run")
    if not (directory / "tokenizer.json").exists():
        raise UserError(f"{directory} has no tokenizer.json; it is not a complete run")
    from recurrente.train.trainer import resolve_device
    model = LanguageModel.load(directory, device=resolve_device(device),
                               implementation=implementation)
    model.eval()
    return LoadedRun(directory, config, model, load_tokenizer(directory / "tokenizer.json"))


def split_ids(run: LoadedRun, split: str) -> np.ndarray:
    """Re-create the run's own ``split`` from its recorded corpus, checking it is the same text."""
    from recurrente.tasks.lm_training import LMOptions, prepare_data
    data = run.config.get("data", {})
    spec = data.get("corpus")
    if data.get("source", {}).get("kind") == "stdin":
        raise UserError("this run was trained on standard input, which cannot be read again; "
                        "pass --text FILE")
    opts = LMOptions(corpus=spec, encoding=data.get("encoding", "utf-8"),
                     split=tuple(data.get("split", (0.9, 0.05, 0.05))))
    try:
        prepared = prepare_data(opts, tokenizer=run.tokenizer)
    except UserError as e:
        raise UserError(f"the run's corpus {spec or '(embedded default)'} cannot be read any more "
                        f"({e}); pass --text FILE") from None
    if prepared.record["source"].get("sha256") != data.get("source", {}).get("sha256"):
        raise UserError(f"the run's corpus {spec or '(embedded default)'} has changed since "
                        f"training; pass --text FILE to evaluate another text")
    if split not in prepared.splits:
        raise UserError(f"expected --split train, valid or test, got {split!r}")
    return prepared.splits[split]


def text_ids(run: LoadedRun, path, encoding: str = "utf-8"):
    """Ids of a user's text file, and how many of its tokens the vocabulary lacks."""
    text = load_file(Path(path), encoding).text
    return run.tokenizer.encode(text), int(run.tokenizer.count_unknown(text))
