"""This task's part of the bad-input sweep (tests/cli/test_bad_input.py): its data, a tiny
run, and a command line for each of its commands with numeric options."""

from tests.lm_fixtures import word_corpus


def data(folder) -> dict:
    """Write the task's tiny data into ``folder``; name -> path."""
    (folder / "words.txt").write_text(word_corpus(2000))
    return {"corpus": folder / "words.txt"}


def train(files) -> list:
    """The command line that trains the tiny run the sweep uses."""
    return ["train", files["corpus"], "--preset", "tiny", "--hidden", "8", "--seq-len", "16",
            "--batch-size", "8"]


def commands(files, run, work, out) -> dict:
    """A command line that would do real work, per command of the task (``out``: a new run's
    ``--out`` and a one-step budget; ``run``: the tiny run; ``work``: the sweep's cwd)."""
    return {("train",): ["train", files["corpus"], "--preset", "tiny", *out]}
