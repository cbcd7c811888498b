"""Scores of generated text: corpus BLEU and chrF (sacrebleu), exact match, character error rate.

BLEU (Papineni et al. 2002) is the geometric mean of the modified n-gram precisions
``p_1 … p_4`` of the whole output against the references, times a brevity penalty::

    BLEU = BP · exp(Σ_{n=1..4} ¼ log p_n),   BP = min(1, exp(1 - r / c))

(``c`` output words, ``r`` reference words, both summed over the corpus: a corpus score, not a
mean of sentence scores). chrF (Popović 2015) is the F-score (β = 2) of character n-grams up to
6, kinder to morphology and to character-level models. Both come from sacrebleu, the reference
implementation, with its default tokenisation, so the numbers compare with published ones;
it is the optional extra ``recurrente[translate]``.

The character error rate is ``Σ edit distance / Σ reference length`` over the corpus (sums
over counts, not a mean of per-sentence rates).
"""

from typing import Dict, List, Sequence

from recurrente.errors import UserError


def require_sacrebleu():
    """The sacrebleu module, or one sentence naming the extra that installs it."""
    try:
        import sacrebleu
    except ImportError:
        raise UserError("translation scores BLEU and chrF with sacrebleu, which is not "
                        "installed: pip install 'recurrente[translate]'") from None
    return sacrebleu


def corpus_scores(hypotheses: Sequence[str], references: Sequence[str]) -> Dict[str, float]:
    """``{"bleu", "chrf"}`` (0–100) of detokenised hypotheses against one reference each, and
    ``exact``: the fraction of hypotheses equal to their reference."""
    if len(hypotheses) != len(references):
        raise ValueError(f"expected as many hypotheses as references, got {len(hypotheses)} "
                         f"and {len(references)}")
    if not hypotheses:
        return {"bleu": 0.0, "chrf": 0.0, "exact": 0.0}
    sacrebleu = require_sacrebleu()
    hyps, refs = list(hypotheses), [list(references)]
    return {"bleu": float(sacrebleu.corpus_bleu(hyps, refs).score),
            "chrf": float(sacrebleu.corpus_chrf(hyps, refs).score),
            "exact": exact_match(hypotheses, references)}


def exact_match(hypotheses: Sequence, references: Sequence) -> float:
    """The fraction of outputs identical to their reference."""
    return sum(h == r for h, r in zip(hypotheses, references)) / max(1, len(references))


def edit_distance(a: Sequence, b: Sequence) -> int:
    """Levenshtein distance (insertions, deletions, substitutions each cost 1)."""
    previous = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        current = [i]
        for j, y in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (x != y)))
        previous = current
    return previous[-1]


def error_rate(hypotheses: Sequence[Sequence], references: Sequence[Sequence]) -> float:
    """``Σ edit_distance(h, r) / Σ len(r)``: the character error rate for strings."""
    edits = sum(edit_distance(h, r) for h, r in zip(hypotheses, references))
    return edits / max(1, sum(len(r) for r in references))


def sentence_table(rows: List[Dict[str, float]]) -> str:
    """``decoding  BLEU  chrF  exact`` lines for :func:`corpus_scores` results by name."""
    lines = [f"{'decoding':<12}{'BLEU':>8}{'chrF':>8}{'exact':>8}"]
    for row in rows:
        lines.append(f"{row['name']:<12}{row['bleu']:>8.2f}{row['chrf']:>8.2f}"
                     f"{row['exact']:>8.3f}")
    return "\n".join(lines)
