"""Entity-level precision, recall and F1 (the tagger's judged metric), with ``seqeval``.

An *entity* is a span of tokens with a type (:mod:`recurrente.data.schemes`). A predicted
entity is correct when a gold entity has the same type, start and end. Micro scores are ratios of
counts over all sentences: ``precision = correct / predicted``, ``recall = correct / gold``,
``F1 = 2 P R / (P + R)`` (0 when a denominator is 0), so they can be summed across batches
through the counts that :func:`evaluate_tags` also returns.

Two ways of reading entities:

- ``mode="default"`` (conlleval's): lenient; an ``I-X`` that does not continue an X entity starts
  a new one, so ``O I-PER I-PER`` holds one PER entity. The CoNLL shared tasks were scored so.
- ``mode="strict"``: seqeval's strict mode with the scheme's class (IOB2 for BIO, IOBES for
  BIOES, IOB1): only sequences valid in the scheme make entities; ``O I-PER`` makes none.

``seqeval`` is an optional dependency: ``pip install 'recurrente[tag]'``.
"""

from __future__ import annotations

from recurrente.errors import UserError, check_choice
from recurrente.data import schemes

MODES = ("default", "strict")
_STRICT_CLASS = {"IOB1": "IOB1", "BIO": "IOB2", "BIOES": "IOBES"}


def _seqeval():
    """The seqeval modules used here, or a UserError that says how to install them."""
    try:
        from seqeval import scheme as seqeval_scheme
        from seqeval.metrics import sequence_labeling, v1
    except ImportError:
        raise UserError("entity F1 needs seqeval; install it with pip install "
                        "'recurrente[tag]'") from None
    return sequence_labeling, v1, seqeval_scheme


def _check_inputs(gold, predicted, scheme: str) -> None:
    """Same number of sentences and of tags in each; every tag well-formed in ``scheme``."""
    if len(gold) != len(predicted):
        raise UserError(f"expected predicted tags for each of the {len(gold)} gold sentences, "
                        f"got {len(predicted)} sentences")
    if not gold:
        raise UserError("expected at least one sentence to evaluate, got none")
    for index, (g, p) in enumerate(zip(gold, predicted)):
        if len(g) != len(p):
            raise UserError(f"sentence {index} has {len(g)} gold tags but {len(p)} predicted; "
                            f"expected one predicted tag per token")
        for what, tags in (("gold", g), ("predicted", p)):
            for i, tag in enumerate(tags):
                try:
                    schemes.parse(tag, scheme, i)
                except UserError as err:
                    raise UserError(f"sentence {index} ({what}): {err}") from None


def _entities(tags: list[list[str]], mode: str, scheme: str) -> set[tuple]:
    """``{(sentence, type, start, end_exclusive)}`` as seqeval reads them in ``mode``."""
    sequence_labeling, _, seqeval_scheme = _seqeval()
    found = set()
    for index, sentence in enumerate(tags):
        if mode == "strict":
            cls = getattr(seqeval_scheme, _STRICT_CLASS[scheme])
            spans = [(e.tag, e.start, e.end) for e in
                     seqeval_scheme.Tokens(list(sentence), cls, sent_id=index).entities]
        else:
            spans = [(t, s, e + 1) for t, s, e in sequence_labeling.get_entities(list(sentence))]
        found.update((index, kind, start, end) for kind, start, end in spans)
    return found


def _scores(gold, predicted, mode: str, scheme: str, average: str | None) -> tuple:
    """seqeval's (precision, recall, f1, support): floats for ``"micro"``, per type for None."""
    sequence_labeling, v1, seqeval_scheme = _seqeval()
    if mode == "strict":
        cls = getattr(seqeval_scheme, _STRICT_CLASS[scheme])
        return v1.precision_recall_fscore_support(gold, predicted, average=average,
                                                  zero_division=0, scheme=cls)
    return sequence_labeling.precision_recall_fscore_support(gold, predicted, average=average,
                                                             zero_division=0)


def _ratio(numerator: int, denominator: int) -> float:
    return numerator / denominator if denominator else 0.0


def _per_type(gold_set: set, pred_set: set, per_type_scores) -> dict:
    """``{type: {precision, recall, f1, support, predicted, correct}}``, types sorted."""
    kinds = sorted({e[1] for e in gold_set | pred_set})
    precision, recall, f1, support = per_type_scores
    out = {}
    for i, kind in enumerate(kinds):
        g = {e for e in gold_set if e[1] == kind}
        p = {e for e in pred_set if e[1] == kind}
        assert int(support[i]) == len(g), "seqeval and our entity sets disagree"
        out[kind] = {"precision": float(precision[i]), "recall": float(recall[i]),
                     "f1": float(f1[i]), "support": len(g), "predicted": len(p),
                     "correct": len(g & p)}
    return out


def evaluate_tags(gold: list[list[str]], predicted: list[list[str]], scheme: str = "BIO",
                  mode: str = "default") -> dict:
    """Entity precision/recall/F1 (micro and per type) and token accuracy.

    Args:
        gold, predicted: one list of tags per sentence, aligned token for token.
        scheme: the tag scheme both are written in (``IOB1``, ``BIO``/``IOB2``, ``BIOES``/
            ``IOBES``); every tag must be well-formed in it (``B-PER``, ``O``...).
        mode: ``"default"`` (conlleval's lenient reading) or ``"strict"`` (see the module doc).

    Returns:
        ``{"f1", "precision", "recall", "token_accuracy", "per_type": {type: {"precision",
        "recall", "f1", "support", "predicted", "correct"}}, "sentences", "tokens",
        "gold_entities", "predicted_entities", "correct_entities", "correct_tokens", "scheme",
        "mode"}``; scores are in [0, 1].

    Example::

        >>> r = evaluate_tags([["B-PER", "I-PER", "O", "B-LOC"]],
        ...                   [["B-PER", "I-PER", "O", "B-ORG"]])   # doctest: +SKIP
        >>> r["precision"], r["recall"], r["token_accuracy"]         # doctest: +SKIP
        (0.5, 0.5, 0.75)
    """
    scheme = schemes.scheme_name(scheme)
    check_choice("mode", mode, MODES)
    gold = [list(s) for s in gold]
    predicted = [list(s) for s in predicted]
    _check_inputs(gold, predicted, scheme)
    gold_set, pred_set = _entities(gold, mode, scheme), _entities(predicted, mode, scheme)
    precision, recall, f1, _ = _scores(gold, predicted, mode, scheme, "micro")
    per_type_scores = _scores(gold, predicted, mode, scheme, None)
    tokens = sum(len(s) for s in gold)
    correct_tokens = sum(g == p for gs, ps in zip(gold, predicted) for g, p in zip(gs, ps))
    return {
        "f1": float(f1), "precision": float(precision), "recall": float(recall),
        "token_accuracy": _ratio(correct_tokens, tokens),
        "per_type": _per_type(gold_set, pred_set, per_type_scores),
        "sentences": len(gold), "tokens": tokens, "correct_tokens": correct_tokens,
        "gold_entities": len(gold_set), "predicted_entities": len(pred_set),
        "correct_entities": len(gold_set & pred_set), "scheme": scheme, "mode": mode,
    }


def table(result: dict, digits: int = 4) -> str:
    """An aligned text table of :func:`evaluate_tags`'s result: one row per type, then micro."""
    header = ("type", "precision", "recall", "f1", "support", "predicted", "correct")
    rows = [(kind, s["precision"], s["recall"], s["f1"], s["support"], s["predicted"],
             s["correct"]) for kind, s in result["per_type"].items()]
    rows.append(("micro", result["precision"], result["recall"], result["f1"],
                 result["gold_entities"], result["predicted_entities"],
                 result["correct_entities"]))
    cells = [header] + [tuple(f"{v:.{digits}f}" if isinstance(v, float) else str(v) for v in row)
                        for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    lines = ["  ".join(c.ljust(w) if i == 0 else c.rjust(w)
                       for i, (c, w) in enumerate(zip(row, widths))) for row in cells]
    lines.insert(len(lines) - 1, "-" * len(lines[0]))
    lines.append(f"token accuracy {result['token_accuracy']:.{digits}f} "
                 f"({result['correct_tokens']}/{result['tokens']} tokens, "
                 f"{result['sentences']} sentences; {result['scheme']}, {result['mode']} mode)")
    return "\n".join(lines)
