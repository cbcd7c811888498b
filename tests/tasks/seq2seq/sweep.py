"""This task's part of the bad-input sweep (tests/cli/test_bad_input.py): its data, a tiny
run, and a command line for each of its commands with numeric options."""

from tests.translate_fixtures import reverse_pairs, write_tsv


def data(folder) -> dict:
    """Write the task's tiny data into ``folder``; name -> path."""
    write_tsv(folder / "pairs.tsv", reverse_pairs(80, seed=3))
    return {"pairs": folder / "pairs.tsv"}


def train(files) -> list:
    """The command line that trains the tiny run the sweep uses."""
    return ["translate", "train", files["pairs"], "--hidden", "8"]


def commands(files, run, work, out) -> dict:
    """A command line that would do real work, per command of the task (``out``: a new run's
    ``--out`` and a one-step budget; ``run``: the tiny run; ``work``: the sweep's cwd)."""
    return {("translate", "train"): ["translate", "train", files["pairs"], *out],
            ("translate", "predict"): ["translate", "predict", run, files["lines"]],
            ("translate", "eval"): ["translate", "eval", run, "--output", work / "o.txt"]}
