"""This task's part of the bad-input sweep (tests/cli/test_bad_input.py): its data, a tiny
run, and a command line for each of its commands with numeric options."""

from tests.classify_fixtures import order_examples, write_csv


def data(folder) -> dict:
    """Write the task's tiny data into ``folder``; name -> path."""
    rows = [(t, str(t.count("alfa") + len(t) / 100)) for t, _ in order_examples(80, seed=4)]
    write_csv(folder / "numbers.csv", rows, ("text", "target"))
    return {"numbers": folder / "numbers.csv"}


def train(files) -> list:
    """The command line that trains the tiny run the sweep uses."""
    return ["regress", "train", files["numbers"], "--hidden", "8"]


def commands(files, run, work, out) -> dict:
    """A command line that would do real work, per command of the task (``out``: a new run's
    ``--out`` and a one-step budget; ``run``: the tiny run; ``work``: the sweep's cwd)."""
    return {("regress", "train"): ["regress", "train", files["numbers"], *out],
            ("regress", "predict"): ["regress", "predict", run, files["lines"]]}
