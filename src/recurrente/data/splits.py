"""Validation and test parts held out of the training data when no ``--valid``/``--test`` is
given: which parts, in what proportions, and which items, deterministic in the seed (so
``eval`` re-creates the same test part from the run's recorded options).

:func:`hold_out` is what the classifier, the tagger and the translator share. The parts held
are the missing ones (:func:`parts_to_hold`); their sizes come from the task's ``--split``
fractions of train and of the held parts alone, scaled to sum to 1 (a missing validation part
with a given test file takes ``0.05 / 0.95`` of the data, not 0.05). The items are chosen
either within each class (:func:`recurrente.data.formats.stratified_split`, for labels) or by
one seeded shuffle of them all.

A language model's text is cut in contiguous pieces instead:
:func:`recurrente.data.batching.split_contiguous`.
"""

from __future__ import annotations

from typing import Optional, Sequence

import numpy as np

from recurrente.errors import UserError

PARTS = ("train", "valid", "test")


def parts_to_hold(given, test_needs_valid: bool = False) -> list[str]:
    """The parts (``valid``, ``test``) to cut from the training data: those not in ``given``.

    ``test_needs_valid``: a test part is held out only together with a validation part (a
    given ``--valid`` file alone leaves the run without a test part)."""
    missing = [name for name in PARTS[1:] if name not in given]
    if test_needs_valid and "valid" not in missing:
        return []
    return missing


def held_fractions(split: Sequence[float], held: Sequence[str]) -> list[float]:
    """``split``'s (train, valid, test) fractions with 0 for the parts not held (unscaled)."""
    return [f if name == "train" or name in held else 0.0 for name, f in zip(PARTS, split)]


def hold_out(given, split: Sequence[float], seed: int, *, labels: Optional[Sequence[str]] = None,
             size: Optional[int] = None, salt: int = 0, cap: Optional[int] = None,
             test_needs_valid: bool = False, items: str = "items",
             counted: Optional[str] = None) -> dict[str, np.ndarray]:
    """Sorted indices of the training items that make ``train`` and each held part, or ``{}``
    when nothing is to be held out.

    Args:
        given: the parts there are already (``"train"``, and ``"valid"``/``"test"`` when their
            files were given); the missing ones are held (:func:`parts_to_hold`).
        split: the (train, valid, test) fractions; see the module docstring for the scaling.
        seed: the run's seed; the same seed gives the same indices.
        labels: stratify by these (one per training item): every class cut in the proportions
            (:func:`~recurrente.data.formats.stratified_split`). A part whose fraction is 0
            comes out empty, and nothing is held when every held part's fraction is 0.
        size: without ``labels``, the number of items, shuffled by
            ``np.random.default_rng([seed, salt])``: the first ones are validation, the next
            test, the rest train. Each held part gets ``round(size · fraction)`` items, at least
            1 and at most ``cap``; ``salt`` is the task's own number, so tasks shuffle apart.
        test_needs_valid: see :func:`parts_to_hold`.
        items, counted: the words of the error when too few items are left for training
            (``"pairs"``, ``"distinct pairs"``; ``counted`` defaults to ``items``).
    """
    held = parts_to_hold(given, test_needs_valid)
    if not held:
        return {}
    wanted = held_fractions(split, held)
    total = sum(wanted)
    if labels is not None:
        if sum(wanted[PARTS.index(name)] for name in held) == 0:
            return {}
        from recurrente.data.formats import stratified_split
        parts = stratified_split(labels, [w / total for w in wanted], seed)
        return {name: idx for name, idx in zip(PARTS, parts) if name == "train" or name in held}
    counts = {}
    for name in PARTS[1:]:
        count = max(1, round(size * wanted[PARTS.index(name)] / total)) if name in held else 0
        counts[name] = min(cap, count) if cap is not None else count
    if size - counts["valid"] - counts["test"] < 1:
        raise UserError(f"{size} {counted or items} are too few to hold out validation and test "
                        f"{items}; expected at least 3, or pass --valid and --test")
    order = np.random.default_rng([seed, salt]).permutation(size)
    n_valid, n_held = counts["valid"], counts["valid"] + counts["test"]
    parts = {"train": order[n_held:], "valid": order[:n_valid], "test": order[n_valid:n_held]}
    return {name: np.sort(idx) for name, idx in parts.items() if name == "train" or name in held}


# ----------------------------------------------------------------------------- leaks

OVERLAP_NOTE = 0.05  # a held-out part sharing more of its texts with training is said in the log
CONTAINED_SAMPLE = 200  # held-out texts searched for inside the training texts


def _normal(text: str) -> str:
    return " ".join(text.lower().split())


def overlap(train: Sequence[str], held: Sequence[str], seed: int = 0) -> dict:
    """How much of ``held`` training has already seen, after lower-casing and collapsing spaces:
    ``duplicates`` (held texts equal to a training text, counted over all of them) and
    ``contained`` (the fraction, among up to ``CONTAINED_SAMPLE`` held texts drawn with
    ``seed``, that are a training text or a phrase inside one: the sub-phrases of a sentiment
    treebank)."""
    seen = {_normal(t) for t in train}
    normal = [_normal(t) for t in held]
    duplicates = sum(t in seen for t in normal)
    corpus = "\n".join(f" {t} " for t in seen)
    most = CONTAINED_SAMPLE if len(corpus) < 20_000_000 else CONTAINED_SAMPLE // 10  # bounded work
    pick = np.random.default_rng(seed).permutation(len(normal))[:most]
    contained = sum(f" {normal[i]} " in corpus for i in pick if normal[i])
    return {"held": len(normal), "duplicates": duplicates,
            "contained": contained / max(1, len(pick)), "sample": int(len(pick))}


def overlap_notes(train: Sequence[str], held: dict, seed: int = 0) -> list[str]:
    """A sentence per held-out part (``{"valid": texts, ...}``) that overlaps training by more
    than :data:`OVERLAP_NOTE`: its scores then overstate how the model does on new text."""
    notes = []
    for name, texts in held.items():
        if not len(texts):
            continue
        found = overlap(train, texts, seed)
        share = found["duplicates"] / found["held"]
        if max(share, found["contained"]) > OVERLAP_NOTE:
            notes.append(f"warning: {found['duplicates']:,} of the {found['held']:,} {name} texts "
                         f"({share:.0%}) are also training texts, and {found['contained']:.0%} of "
                         f"{found['sample']} drawn are a training text or a phrase inside one: "
                         f"{name} scores will overstate how the model does on new text (a "
                         f"--{name} file from elsewhere avoids it)")
    return notes
