"""This task's part of the bad-input sweep (tests/cli/test_bad_input.py): its data, a tiny
run, and a command line for each of its commands with numeric options."""

from tests.classify_fixtures import order_examples, write_csv


def data(folder) -> dict:
    """Write the task's tiny data into ``folder``; name -> path."""
    write_csv(folder / "order.csv", order_examples(80, seed=3))
    return {"table": folder / "order.csv"}


def train(files) -> list:
    """The command line that trains the tiny run the sweep uses."""
    return ["classify", "train", files["table"], "--hidden", "8"]


def commands(files, run, work, out) -> dict:
    """A command line that would do real work, per command of the task (``out``: a new run's
    ``--out`` and a one-step budget; ``run``: the tiny run; ``work``: the sweep's cwd)."""
    return {("classify", "train"): ["classify", "train", files["table"], *out],
            ("classify", "predict"): ["classify", "predict", run, files["lines"]]}
