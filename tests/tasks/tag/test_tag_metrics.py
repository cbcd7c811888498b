"""Tests of entity-level precision/recall/F1 and token accuracy (through seqeval, which the
``dev`` extra installs)."""

from __future__ import annotations

import builtins
import random

import pytest

from recurrente.errors import UserError
from recurrente.data import schemes
from recurrente.tasks.tag.metrics import evaluate_tags, table


def error(call) -> str:
    with pytest.raises(UserError) as info:
        call()
    return str(info.value)


def test_hand_computed_example():
    # gold: PER (0-2), LOC (3); predicted: PER right, ORG instead of LOC, a spurious MISC (4)
    gold = [["B-PER", "I-PER", "O", "B-LOC", "O"]]
    pred = [["B-PER", "I-PER", "O", "B-ORG", "B-MISC"]]
    r = evaluate_tags(gold, pred, "BIO")
    assert (r["gold_entities"], r["predicted_entities"], r["correct_entities"]) == (2, 3, 1)
    assert r["precision"] == pytest.approx(1 / 3) and r["recall"] == pytest.approx(1 / 2)
    assert r["f1"] == pytest.approx(2 * (1 / 3) * (1 / 2) / (1 / 3 + 1 / 2))  # 0.4
    assert r["token_accuracy"] == pytest.approx(3 / 5)
    assert (r["sentences"], r["tokens"]) == (1, 5)
    assert r["per_type"]["PER"] == {"precision": 1.0, "recall": 1.0, "f1": 1.0, "support": 1,
                                    "predicted": 1, "correct": 1}
    assert r["per_type"]["LOC"]["support"] == 1 and r["per_type"]["LOC"]["recall"] == 0.0
    assert r["per_type"]["MISC"]["support"] == 0 and r["per_type"]["MISC"]["predicted"] == 1
    # without the spurious entity: 1 right out of 2 predicted and 2 gold
    r = evaluate_tags(gold, [["B-PER", "I-PER", "O", "B-ORG", "O"]], "BIO")
    assert (r["precision"], r["recall"], r["f1"]) == (0.5, 0.5, 0.5)


def test_boundaries_must_match_and_counts_sum_over_sentences():
    gold = [["B-LOC", "I-LOC", "O"], ["B-PER"], []]
    pred = [["B-LOC", "O", "O"], ["B-PER"], []]
    r = evaluate_tags(gold, pred)
    assert (r["correct_entities"], r["gold_entities"], r["predicted_entities"]) == (1, 2, 2)
    assert r["f1"] == 0.5 and (r["sentences"], r["tokens"], r["correct_tokens"]) == (3, 4, 3)


def test_conlleval_reading_of_invalid_bio():
    # I- after O starts a new entity (conlleval); strict mode sees no entity in the gold
    gold, pred = [["O", "I-PER", "I-PER", "O"]], [["O", "B-PER", "I-PER", "O"]]
    assert evaluate_tags(gold, pred)["f1"] == 1.0
    strict = evaluate_tags(gold, pred, mode="strict")
    assert (strict["gold_entities"], strict["predicted_entities"], strict["f1"]) == (0, 1, 0.0)
    # B-PER I-LOC: two entities when read leniently, PER (0) and LOC (1)
    r = evaluate_tags([["B-PER", "B-LOC"]], [["B-PER", "I-LOC"]])
    assert r["f1"] == 1.0 and r["token_accuracy"] == 0.5


def test_seqeval_default_mode_reads_entities_as_our_schemes_do():
    from seqeval.metrics.sequence_labeling import get_entities

    rng = random.Random(0)
    for scheme, prefixes in (("BIO", "BI"), ("IOB1", "BI"), ("BIOES", "BIES")):
        tags = ["O"] + [f"{p}-{t}" for p in prefixes for t in ("A", "B")]
        for _ in range(2000):
            seq = [rng.choice(tags) for _ in range(rng.randint(0, 7))]
            ours = sorted(schemes.spans(seq, scheme))
            assert ours == sorted((t, s, e + 1) for t, s, e in get_entities(seq)), (scheme, seq)


def test_conversion_does_not_change_default_f1():
    rng = random.Random(1)
    tags = ["O", "B-A", "I-A", "B-B", "I-B"]
    gold = [[rng.choice(tags) for _ in range(8)] for _ in range(50)]
    pred = [[rng.choice(tags) for _ in range(8)] for _ in range(50)]
    bio = evaluate_tags(gold, pred, "BIO")
    bioes = evaluate_tags([schemes.convert(s, "BIO", "BIOES") for s in gold],
                          [schemes.convert(s, "BIO", "BIOES") for s in pred], "BIOES")
    assert bio["f1"] == pytest.approx(bioes["f1"]) and 0 < bio["f1"] < 1


@pytest.mark.parametrize("scheme, gold, pred, f1", [
    ("BIOES", ["S-PER", "B-LOC", "E-LOC"], ["S-PER", "B-LOC", "E-LOC"], 1.0),
    ("BIOES", ["S-PER", "B-LOC", "E-LOC"], ["S-PER", "B-LOC", "I-LOC"], 2 / 3),  # no E-: strict
    ("IOBES", ["B-LOC", "I-LOC", "E-LOC"], ["B-LOC", "E-LOC", "S-LOC"], 0.0),
    ("BIO", ["B-PER", "I-PER"], ["B-PER", "I-PER"], 1.0),
])
def test_strict_mode_with_the_scheme_class(scheme, gold, pred, f1):
    assert evaluate_tags([gold], [pred], scheme, mode="strict")["f1"] == pytest.approx(f1)


def test_table_is_aligned():
    r = evaluate_tags([["B-PER", "I-PER", "O", "B-LOC"]], [["B-PER", "I-PER", "O", "B-ORG"]])
    text = table(r)
    lines = text.split("\n")
    assert lines[0].split() == ["type", "precision", "recall", "f1", "support", "predicted",
                                "correct"]
    assert [line.split()[0] for line in lines[1:4]] == ["LOC", "ORG", "PER"]
    assert lines[5].split()[:4] == ["micro", "0.5000", "0.5000", "0.5000"]
    assert len({len(line) for line in lines[:6]}) == 1  # every row has the header's width
    assert "token accuracy 0.7500" in lines[-1] and "(3/4 tokens, 1 sentences" in lines[-1]


@pytest.mark.parametrize("gold, pred, kwargs, words", [
    ([["O"]], [], {}, ["1 gold sentences", "got 0"]),
    ([], [], {}, ["at least one sentence"]),
    ([["O", "O"]], [["O"]], {}, ["sentence 0", "2 gold tags", "1 predicted"]),
    ([["O"]], [["S-PER"]], {"scheme": "BIO"}, ["sentence 0 (predicted)", "'S-PER'"]),
    ([["PER"]], [["O"]], {}, ["sentence 0 (gold)", "'PER'"]),
    ([["O"]], [["O"]], {"scheme": "BILOU"}, ["'BILOU'"]),
    ([["O"]], [["O"]], {"mode": "lenient"}, ["default or strict", "'lenient'"]),
])
def test_bad_inputs(gold, pred, kwargs, words):
    message = error(lambda: evaluate_tags(gold, pred, **kwargs))
    assert all(w in message for w in words), message


def test_missing_seqeval_says_how_to_install(monkeypatch):
    real_import = builtins.__import__

    def no_seqeval(name, *args, **kwargs):
        if name.startswith("seqeval"):
            raise ImportError(f"No module named {name!r}")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_seqeval)
    message = error(lambda: evaluate_tags([["O"]], [["O"]]))
    assert message == ("entity F1 needs seqeval; install it with pip install "
                       "'recurrente[tag]'")
