"""Tag schemes: round trips through random span sets, conlleval repairs, checks, CRF masks."""

import itertools
import random

import pytest
import torch

from recurrente.errors import UserError
from recurrente.data import schemes
from recurrente.tasks.tag.crf import CRF
from recurrente.data.schemes import (allowed_transitions, check, convert, render, repair,
                                          spans)

SCHEMES = ["IOB1", "BIO", "BIOES"]
TYPES = ["PER", "LOC"]


def labels(scheme):
    prefixes = schemes.PREFIXES[schemes.scheme_name(scheme)]
    return ["O"] + [f"{p}-{t}" for t in TYPES for p in prefixes]


def random_spans(rng, length):
    """Non-overlapping spans, often adjacent and of the same type (what IOB1's B- is for)."""
    found, i = [], 0
    while i < length:
        if rng.random() < 0.3:
            i += 1
            continue
        end = min(length, i + rng.randint(1, 3))
        found.append((rng.choice(TYPES), i, end))
        i = end
    return found


def test_round_trips_on_random_span_sets():
    rng = random.Random(0)
    for _ in range(300):
        length = rng.randint(0, 12)
        entities = random_spans(rng, length)
        for source in SCHEMES:
            tags = render(entities, length, source)
            check(tags, source)
            assert spans(tags, source) == entities
            for target in SCHEMES:
                converted = convert(tags, source, target)
                assert converted == render(entities, length, target)
                assert spans(converted, target) == entities
                assert convert(converted, target, source) == tags


def test_render_examples():
    entities = [("PER", 0, 2), ("PER", 2, 3), ("LOC", 4, 5)]
    assert render(entities, 5, "BIO") == ["B-PER", "I-PER", "B-PER", "O", "B-LOC"]
    assert render(entities, 5, "IOB1") == ["I-PER", "I-PER", "B-PER", "O", "I-LOC"]
    assert render(entities, 5, "BIOES") == ["B-PER", "E-PER", "S-PER", "O", "S-LOC"]
    with pytest.raises(UserError, match="non-overlapping"):
        render([("PER", 0, 2), ("LOC", 1, 3)], 4, "BIO")


@pytest.mark.parametrize("scheme, tags, repaired, entities", [
    ("BIO", "O I-PER I-PER", "O B-PER I-PER", [("PER", 1, 3)]),
    ("BIO", "B-PER I-LOC", "B-PER B-LOC", [("PER", 0, 1), ("LOC", 1, 2)]),
    ("BIO", "I-PER B-PER I-PER", "B-PER B-PER I-PER", [("PER", 0, 1), ("PER", 1, 3)]),
    ("IOB1", "B-PER I-PER O B-LOC", "I-PER I-PER O I-LOC", [("PER", 0, 2), ("LOC", 3, 4)]),
    ("IOB1", "I-PER B-PER", "I-PER B-PER", [("PER", 0, 1), ("PER", 1, 2)]),
    ("BIOES", "B-PER O", "S-PER O", [("PER", 0, 1)]),
    ("BIOES", "B-PER I-PER O", "B-PER E-PER O", [("PER", 0, 2)]),
    ("BIOES", "I-PER E-PER", "B-PER E-PER", [("PER", 0, 2)]),
    ("BIOES", "E-PER E-PER", "S-PER S-PER", [("PER", 0, 1), ("PER", 1, 2)]),
    ("BIOES", "B-PER E-LOC", "S-PER S-LOC", [("PER", 0, 1), ("LOC", 1, 2)]),
    ("BIOES", "S-PER I-PER", "S-PER S-PER", [("PER", 0, 1), ("PER", 1, 2)]),
])
def test_repair_reads_like_conlleval(scheme, tags, repaired, entities):
    tags, repaired = tags.split(), repaired.split()
    assert repair(tags, scheme) == repaired
    assert spans(tags, scheme) == spans(repaired, scheme) == entities
    check(repaired, scheme)


def test_repair_is_valid_and_idempotent_on_random_tags():
    rng = random.Random(1)
    for scheme in SCHEMES:
        for _ in range(200):
            tags = [rng.choice(labels(scheme)) for _ in range(rng.randint(0, 8))]
            fixed = repair(tags, scheme)
            check(fixed, scheme)
            assert repair(fixed, scheme) == fixed
            assert spans(fixed, scheme) == spans(tags, scheme)


def test_check_names_position_and_tag():
    with pytest.raises(UserError, match=r"BIO sequence at position 1: got 'I-PER' after 'O', "
                                        r"expected 'B-PER'"):
        check(["O", "I-PER", "I-PER"], "BIO")
    with pytest.raises(UserError, match=r"position 0: got 'I-PER' after the sentence start"):
        check(["I-PER"], "IOB2")
    with pytest.raises(UserError, match=r"position 2: got 'I-PER' after 'B-PER', expected 'E-PER'"):
        check(["O", "B-PER", "I-PER"], "IOBES")
    with pytest.raises(UserError, match=r"expected a tag of BIO at position 1 \('O', or B-, I- "
                                        r"and a type\), got 'E-PER'"):
        check(["B-PER", "E-PER"], "BIO")
    for bad in ["PER", "B-", "b-PER", "<pad>", "S-LOC"]:
        with pytest.raises(UserError, match=repr(bad)):
            spans(["O", bad], "IOB1")
    check([], "BIO")


def test_scheme_names():
    assert convert(["S-PER"], "iobes", "iob2") == ["B-PER"]
    assert schemes.scheme_name("IOBES") == "BIOES"
    with pytest.raises(UserError, match=r"IOB1, BIO \(IOB2\), BIOES \(IOBES\), got 'BILOU'"):
        repair(["O"], "BILOU")


@pytest.mark.parametrize("scheme", SCHEMES)
def test_allowed_transitions_agree_with_check(scheme):
    names = labels(scheme)
    allowed, first, last = allowed_transitions(names, scheme)
    assert allowed.shape == (len(names), len(names)) and first.shape == last.shape == (len(names),)
    for length in range(1, 4):  # every sequence of up to 3 tags
        for ids in itertools.product(range(len(names)), repeat=length):
            steps_ok = (bool(first[ids[0]]) and bool(last[ids[-1]])
                        and all(bool(allowed[i, j]) for i, j in zip(ids, ids[1:])))
            try:
                check([names[i] for i in ids], scheme)
                valid = True
            except UserError:
                valid = False
            assert valid == steps_ok, [names[i] for i in ids]


def test_allowed_transitions_examples_and_errors():
    names = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"]
    allowed, first, last = allowed_transitions(names, "BIO")
    assert not allowed[0, 2] and not allowed[1, 4] and not allowed[4, 2] and allowed[1, 2]
    assert first.tolist() == [True, True, False, True, False] and last.all()
    allowed, first, last = allowed_transitions(["O", "B-PER", "I-PER", "E-PER", "S-PER"], "BIOES")
    assert allowed[1].tolist() == [False, False, True, True, False]
    assert last.tolist() == [True, False, False, True, True]
    with pytest.raises(UserError, match="distinct labels"):
        allowed_transitions(["O", "O"], "BIO")
    with pytest.raises(UserError, match="'<pad>'"):
        allowed_transitions(["<pad>", "O"], "BIO")


@pytest.mark.parametrize("scheme", SCHEMES)
def test_constrained_crf_decodes_only_valid_sequences(scheme):
    names = labels(scheme)
    crf = CRF.for_scheme(names, scheme)
    emissions = 3 * torch.randn(7, 16, len(names))  # (T, B, N)
    lengths = torch.randint(1, 8, (16,))
    for path in crf.decode(emissions, lengths):
        check([names[i] for i in path], scheme)
    for paths in crf.nbest(emissions, lengths, k=4):
        for p in paths:
            check([names[i] for i in p.tags], scheme)
