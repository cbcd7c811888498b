"""Span encodings for tagging: IOB1, BIO (IOB2) and BIOES (IOBES), read the conlleval way.

A tag is ``O`` (outside) or ``P-TYPE``: a prefix and an entity type (``B-PER``; the type is
everything after the first ``-``). The schemes differ in how a span is marked:

====== ====================================================================================
IOB1   ``I-X`` inside; ``B-X`` only on the first token of an X entity that directly follows
       another X entity (it separates the two), so an entity usually starts with ``I-X``.
BIO    ``B-X`` on the first token of every entity, ``I-X`` on the others (IOB2).
BIOES  ``S-X`` on a one-token entity; ``B-X``, ``I-X`` ..., ``E-X`` on longer ones (IOBES).
====== ====================================================================================

**Reading** (:func:`spans`) is lenient and follows conlleval: an ``I-X`` (or ``E-X``) that does
not continue an open X entity starts a new one; ``B-X`` and ``S-X`` always start one; ``E-X`` and
``S-X`` close it; ``O`` or a tag of another type closes it. Every sequence of well-formed tags
therefore encodes one set of spans, and:

- :func:`render` writes spans in a scheme, the one valid way;
- :func:`convert` = render(spans(tags, source), target): entity F1 never changes by conversion;
- :func:`repair` = convert(tags, scheme, scheme): the valid sequence conlleval reads the same;
- :func:`check` raises :class:`UserError` at the first tag that repair would change.

**Transitions** (:func:`allowed_transitions`, for a CRF): with ``^`` the sentence start and ``$``
its end, a sequence passes :func:`check` iff every step ``^ y_1, y_1 y_2, ..., y_T $`` is allowed:

- BIO: ``I-X`` only after ``B-X`` or ``I-X`` (so never after ``O``, another type, or ``^``).
- IOB1: ``B-X`` only after ``B-X`` or ``I-X`` (never after ``O``, another type, or ``^``);
  ``I-X`` anywhere (after ``I-X`` it continues the entity, elsewhere it starts one).
- BIOES: after ``B-X`` or ``I-X`` only ``I-X`` or ``E-X``; after ``O``, ``E-*``, ``S-*`` or ``^``
  only ``O``, ``B-*`` or ``S-*``; ``$`` only after ``O``, ``E-*`` or ``S-*``.
"""

from typing import List, Optional, Sequence, Tuple

import torch
from torch import Tensor

from recurrente.errors import UserError

NAMES = {"IOB1": "IOB1", "BIO": "BIO", "IOB2": "BIO", "BIOES": "BIOES", "IOBES": "BIOES"}
PREFIXES = {"IOB1": ("B", "I"), "BIO": ("B", "I"), "BIOES": ("B", "I", "E", "S")}
Span = Tuple[str, int, int]  # (type, start, end exclusive)
Tag = Tuple[str, Optional[str]]  # (prefix, type); ("O", None) outside


def scheme_name(scheme: str) -> str:
    """The canonical name of ``scheme`` (case-insensitive; IOB2 is BIO, IOBES is BIOES)."""
    name = NAMES.get(str(scheme).upper())
    if name is None:
        raise UserError(f"expected a tag scheme among IOB1, BIO (IOB2), BIOES (IOBES), "
                        f"got {scheme!r}")
    return name


def parse(tag: str, scheme: str, position: Optional[int] = None) -> Tag:
    """``'B-PER'`` -> ``('B', 'PER')``, ``'O'`` -> ``('O', None)``; UserError if not in it."""
    name = scheme_name(scheme)
    if tag == "O":
        return "O", None
    prefix, dash, kind = str(tag).partition("-")
    if dash and kind and prefix in PREFIXES[name]:
        return prefix, kind
    where = "" if position is None else f" at position {position}"
    allowed = ", ".join(f"{p}-" for p in PREFIXES[name])
    raise UserError(f"expected a tag of {name}{where} ('O', or {allowed} and a type), got {tag!r}")


def spans(tags: Sequence[str], scheme: str) -> List[Span]:
    """The entities ``[(type, start, end_exclusive), ...]`` that ``tags`` encode, read leniently."""
    name = scheme_name(scheme)
    found: List[Span] = []
    open_type, begin = None, 0
    for i, tag in enumerate(tags):
        prefix, kind = parse(tag, name, i)
        continues = open_type is not None and kind == open_type and prefix in ("I", "E")
        if open_type is not None and not continues:
            found.append((open_type, begin, i))
            open_type = None
        if kind is not None and not continues:
            open_type, begin = kind, i
        if prefix in ("E", "S"):
            found.append((kind, begin, i + 1))
            open_type = None
    if open_type is not None:
        found.append((open_type, begin, len(tags)))
    return found


def render(entities: Sequence[Span], length: int, scheme: str) -> List[str]:
    """The valid ``scheme`` tags of ``length`` tokens that mark ``entities`` (non-overlapping)."""
    name = scheme_name(scheme)
    tags = ["O"] * length
    ends = {(kind, end) for kind, _, end in entities}
    for kind, begin, end in sorted(entities, key=lambda span: span[1]):
        if not (0 <= begin < end <= length) or any(t != "O" for t in tags[begin:end]):
            raise UserError(f"expected non-overlapping spans inside [0, {length}), got "
                            f"{(kind, begin, end)!r}")
        tags[begin:end] = [f"I-{kind}"] * (end - begin)
        if name == "BIO" or (name == "IOB1" and (kind, begin) in ends):
            tags[begin] = f"B-{kind}"
        elif name == "BIOES" and end - begin == 1:
            tags[begin] = f"S-{kind}"
        elif name == "BIOES":
            tags[begin], tags[end - 1] = f"B-{kind}", f"E-{kind}"
    return tags


def convert(tags: Sequence[str], source: str, target: str) -> List[str]:
    """``tags`` written in ``target``: the same entities as conlleval reads them in ``source``."""
    return render(spans(tags, source), len(tags), target)


def repair(tags: Sequence[str], scheme: str) -> List[str]:
    """The valid ``scheme`` sequence with the entities conlleval reads in ``tags``.

    ``O I-PER I-PER`` -> ``O B-PER I-PER`` in BIO; ``B-PER I-LOC`` -> ``B-PER B-LOC``;
    ``B-PER O`` -> ``S-PER O`` in BIOES; ``B-PER I-PER`` -> ``I-PER I-PER`` in IOB1.
    """
    return convert(tags, scheme, scheme)


def check(tags: Sequence[str], scheme: str) -> None:
    """Raise :class:`UserError` at the first tag inconsistent with ``scheme``; return ``None``."""
    name = scheme_name(scheme)
    expected = repair(tags, name)
    for i, (got, want) in enumerate(zip(tags, expected)):
        if got != want:
            after = repr(tags[i - 1]) if i else "the sentence start"
            raise UserError(f"invalid {name} sequence at position {i}: got {got!r} after {after}, "
                            f"expected {want!r} (what conlleval reads there)")


def follows(previous: Optional[Tag], current: Optional[Tag], scheme: str) -> bool:
    """Whether ``current`` may follow ``previous`` (``None``: the sentence start or end)."""
    name = scheme_name(scheme)
    prev_prefix, prev_kind = previous or ("O", None)
    prefix, kind = current or ("O", None)
    same = prev_kind is not None and prev_kind == kind
    if name == "BIO":
        return prefix != "I" or same
    if name == "IOB1":
        return prefix != "B" or same
    if prev_prefix in ("B", "I"):
        return prefix in ("I", "E") and same
    return prefix in ("O", "B", "S")


def allowed_transitions(labels: Sequence[str], scheme: str) -> Tuple[Tensor, Tensor, Tensor]:
    """The CRF masks of ``labels`` under ``scheme`` (see the module docstring for the rules).

    Returns:
        ``allowed (N, N)`` bool, ``allowed[i, j]``: ``labels[j]`` may follow ``labels[i]``;
        ``allowed_start (N,)`` and ``allowed_end (N,)``: may begin, may end a sentence.
    """
    name = scheme_name(scheme)
    if len(set(labels)) != len(labels):
        raise UserError(f"expected distinct labels, got {list(labels)!r}")
    parsed = [parse(label, name, i) for i, label in enumerate(labels)]
    allowed = torch.tensor([[follows(p, c, name) for c in parsed] for p in parsed],
                           dtype=torch.bool).view(len(parsed), len(parsed))  # (N, N)
    first = torch.tensor([follows(None, c, name) for c in parsed], dtype=torch.bool)  # (N,)
    last = torch.tensor([follows(p, None, name) for p in parsed], dtype=torch.bool)  # (N,)
    return allowed, first, last
