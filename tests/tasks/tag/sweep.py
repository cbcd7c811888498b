"""This task's part of the bad-input sweep (tests/cli/test_bad_input.py): its data, a tiny
run, and a command line for each of its commands with numeric options."""

from tests.tag_fixtures import entity_sentences, write_conll


def data(folder) -> dict:
    """Write the task's tiny data into ``folder``; name -> path."""
    write_conll(folder / "ner.txt", entity_sentences(40, seed=3))
    return {"conll": folder / "ner.txt"}


def train(files) -> list:
    """The command line that trains the tiny run the sweep uses."""
    return ["tag", "train", files["conll"], "--hidden", "8", "--chars", "none"]


def commands(files, run, work, out) -> dict:
    """A command line that would do real work, per command of the task (``out``: a new run's
    ``--out`` and a one-step budget; ``run``: the tiny run; ``work``: the sweep's cwd)."""
    return {("tag", "train"): ["tag", "train", files["conll"], *out],
            ("tag", "predict"): ["tag", "predict", run, files["lines"]]}
