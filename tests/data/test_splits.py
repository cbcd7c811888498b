"""The held-out parts every task cuts from its training data (recurrente.data.splits.hold_out):
which parts, their sizes from the --split fractions, and the same indices for the same seed."""

import numpy as np
import pytest

from recurrente.data.formats import stratified_split
from recurrente.data.splits import hold_out, parts_to_hold
from recurrente.errors import UserError

SPLIT = (0.9, 0.05, 0.05)


def test_the_parts_held_are_the_missing_ones():
    assert parts_to_hold({"train": 1}) == ["valid", "test"]
    assert parts_to_hold({"train": 1, "valid": 1}) == ["test"]
    assert parts_to_hold({"train": 1, "test": 1}) == ["valid"]
    assert parts_to_hold({"train": 1, "valid": 1, "test": 1}) == []
    # the tagger's and the translator's rule: no test part without a validation part
    assert parts_to_hold({"train": 1, "valid": 1}, test_needs_valid=True) == []
    assert parts_to_hold({"train": 1, "test": 1}, test_needs_valid=True) == ["valid"]


def test_a_shuffle_cuts_validation_then_test_from_one_seeded_permutation():
    parts = hold_out({"train": 1}, SPLIT, 3, size=100, salt=7)
    order = np.random.default_rng([3, 7]).permutation(100)
    assert parts["valid"].tolist() == sorted(order[:5])
    assert parts["test"].tolist() == sorted(order[5:10])
    assert parts["train"].tolist() == sorted(order[10:])
    again = hold_out({"train": 1}, SPLIT, 3, size=100, salt=7)
    assert all(np.array_equal(parts[k], again[k]) for k in parts)
    other = hold_out({"train": 1}, SPLIT, 3, size=100, salt=11)
    assert not np.array_equal(parts["valid"], other["valid"])


def test_the_fractions_are_those_of_train_and_the_held_parts_only():
    # a given test file: valid takes 0.05 / 0.95 of the data, round(40 / 19) = 2 items
    parts = hold_out({"train": 1, "test": 1}, SPLIT, 0, size=40, salt=7)
    assert set(parts) == {"train", "valid"} and len(parts["valid"]) == 2
    assert len(parts["train"]) == 38
    # every held part gets one item at least, and at most cap
    assert len(hold_out({"train": 1}, SPLIT, 0, size=3)["test"]) == 1
    capped = hold_out({"train": 1}, SPLIT, 0, size=10000, cap=100)
    assert len(capped["valid"]) == len(capped["test"]) == 100


def test_nothing_is_held_when_the_parts_are_given():
    assert hold_out({"train": 1, "valid": 1, "test": 1}, SPLIT, 0, size=10) == {}
    assert hold_out({"train": 1, "valid": 1}, SPLIT, 0, size=10, test_needs_valid=True) == {}


def test_too_few_items_is_one_sentence_in_the_tasks_words():
    with pytest.raises(UserError, match="^2 distinct pairs are too few to hold out validation "
                                        "and test pairs; expected at least 3"):
        hold_out({"train": 1}, SPLIT, 0, size=2, items="pairs", counted="distinct pairs")


def test_labels_are_split_within_each_class_as_stratified_split_does():
    labels = ["a"] * 30 + ["b"] * 10
    parts = hold_out({"train": 1}, SPLIT, 4, labels=labels)
    for got, want in zip((parts[k] for k in ("train", "valid", "test")),
                         stratified_split(labels, SPLIT, 4)):
        assert np.array_equal(got, want)
    only_test = hold_out({"train": 1, "valid": 1}, SPLIT, 4, labels=labels)
    assert set(only_test) == {"train", "test"}
    assert np.array_equal(only_test["test"], stratified_split(labels, (0.9 / 0.95, 0.0,
                                                                        0.05 / 0.95), 4)[2])
    assert hold_out({"train": 1}, (1.0, 0.0, 0.0), 4, labels=labels) == {}


# ----------------------------------------------------------------------------- leaks

def test_overlap_counts_duplicates_and_phrases_inside_training_texts():
    from recurrente.data.splits import overlap, overlap_notes
    train = ["A very good film", "bad acting and a bad plot", "the end"]
    held = ["very  good", "The End", "new text here", "good film"]
    found = overlap(train, held)
    assert found["duplicates"] == 1 and found["held"] == 4 and found["sample"] == 4
    assert found["contained"] == 0.75  # "very good", "the end", "good film": whole words only
    assert overlap(train, ["ery goo"])["contained"] == 0.0  # not inside a word
    notes = overlap_notes(train, {"valid": held, "test": ["nothing seen", "at all"]})
    assert len(notes) == 1 and notes[0].startswith("warning: 1 of the 4 valid texts (25%)")


def test_a_leaky_validation_file_is_said_in_the_classifiers_log(tmp_path, capsys):
    from recurrente.cli.main import main
    from tests.classify_fixtures import order_examples, write_csv
    rows = order_examples(120, seed=1)
    write_csv(tmp_path / "train.csv", rows)
    write_csv(tmp_path / "valid.csv", [(" ".join(t.split()[:4]), y) for t, y in rows[:30]])
    write_csv(tmp_path / "fresh.csv", order_examples(30, seed=9))
    common = ["--hidden", "8", "--max-steps", "1", "--test", str(tmp_path / "fresh.csv")]
    assert main(["classify", "train", str(tmp_path / "train.csv"), "--valid",
                 str(tmp_path / "valid.csv"), "--out", str(tmp_path / "a"), *common]) == 0
    assert "valid scores will overstate" in capsys.readouterr().out
    assert main(["classify", "train", str(tmp_path / "train.csv"), "--valid",
                 str(tmp_path / "fresh.csv"), "--out", str(tmp_path / "b"), *common]) == 0
    assert "overstate" not in capsys.readouterr().out
