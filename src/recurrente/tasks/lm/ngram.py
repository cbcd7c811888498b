"""The Markov model the course contrasts with: an n-gram model with interpolated Kneser-Ney
smoothing, over the same token ids as a run (words or characters), in pure Python and NumPy.

An n-gram model conditions on a fixed window of the last ``n - 1`` tokens; the recurrent model
on its hidden state, which can carry anything from the whole past. ``recurrente eval RUN
--baseline ngram:N`` trains one on the run's own training split and scores the same text as the
network, so each run says how much the hidden state buys.

Interpolated Kneser-Ney (Kneser & Ney 1995; Chen & Goodman 1998, eq. 8-9), one discount per
order, for a history ``h`` of ``n - 1`` tokens and its shortening ``h'`` (the oldest dropped)::

    P_n(w | h) = max(c_n(h w) - D_n, 0) / c_n(h ·)  +  D_n N_n(h ·) / c_n(h ·) · P_{n-1}(w | h')
    P_0(w)     = 1 / V

``c_N`` are the counts of the highest order; for lower orders ``c_n(h w)`` is the continuation
count ``N1+(· h w)``, the number of distinct tokens seen before ``h w``. ``N_n(h ·)`` is the
number of distinct tokens seen after ``h``, ``c_n(h ·) = Σ_w c_n(h w)``, and
``D_n = n_1 / (n_1 + 2 n_2)`` (Ney, Essen & Kneser 1994) with ``n_k`` the number of n-grams of
count ``k``. A history never seen backs off wholly to ``P_{n-1}``. Every ``P_n(· | h)`` sums to 1
over the vocabulary: the discounted mass is exactly what the lower order receives.
"""

import math
from collections import Counter
from typing import Dict, Sequence, Tuple

import numpy as np

from recurrente.errors import UserError

Gram = Tuple[int, ...]


def parse_baseline(spec: str) -> int:
    """The order of ``ngram:N``; UserError for anything else."""
    kind, _, order = spec.partition(":")
    if kind != "ngram" or not order.isdigit() or not 1 <= int(order) <= 10:
        raise UserError(f"expected --baseline ngram:N with an order N from 1 to 10, got {spec!r}")
    return int(order)


class KneserNey:
    """An interpolated Kneser-Ney model of ``order`` over ids ``0 .. vocab_size - 1``.

    Example::

        >>> lm = KneserNey.fit([0, 1, 2, 0, 1, 2, 0, 1], order=3, vocab_size=4)
        >>> round(float(lm.distribution([0, 1]).sum()), 12)
        1.0
    """

    def __init__(self, order: int, vocab_size: int, counts: Dict[int, Counter]):
        self.order, self.vocab_size = order, vocab_size
        self.counts = counts  # n -> Counter{gram (n ids): count (raw for N, continuation below)}
        self.discount = {n: _discount(grams) for n, grams in counts.items()}
        self.context = {n: _contexts(grams) for n, grams in counts.items()}
        self._followers = {}  # n -> history -> (words, counts), built on first use

    @classmethod
    def fit(cls, ids: Sequence[int], order: int, vocab_size: int) -> "KneserNey":
        """Count the n-grams of ``ids`` (one stream) up to ``order``."""
        if order < 1:
            raise UserError(f"expected an n-gram order >= 1, got {order}")
        ids = [int(i) for i in ids]
        if len(ids) < order:
            raise UserError(f"expected at least {order} training tokens, got {len(ids)}")
        raw = Counter(zip(*(ids[k:] for k in range(order))))
        counts = {order: raw}
        for n in range(order - 1, 0, -1):
            counts[n] = Counter(gram[1:] for gram in raw)  # N1+(. h w): distinct left tokens
            if n > 1:
                raw = Counter(zip(*(ids[k:] for k in range(n))))
        return cls(order, vocab_size, counts)

    def _orders(self, history: Sequence[int]):
        """``(n, h)`` from order 1 up to the highest the history allows."""
        history = tuple(int(i) for i in history)[-(self.order - 1):] if self.order > 1 else ()
        for n in range(1, min(self.order, len(history) + 1) + 1):
            yield n, history[len(history) - (n - 1):] if n > 1 else ()

    def probability(self, history: Sequence[int], word: int) -> float:
        """``P(word | history)``; the history may be shorter than ``order - 1`` (text start)."""
        p = 1.0 / self.vocab_size
        for n, h in self._orders(history):
            total, types = self.context[n].get(h, (0, 0))
            if total:
                d = self.discount[n]
                c = self.counts[n].get(h + (int(word),), 0)
                p = max(c - d, 0.0) / total + d * types / total * p
        return p

    def distribution(self, history: Sequence[int]) -> np.ndarray:
        """``P(· | history)`` over the whole vocabulary, ``(V,)``."""
        p = np.full(self.vocab_size, 1.0 / self.vocab_size)  # (V,)
        for n, h in self._orders(history):
            total, types = self.context[n].get(h, (0, 0))
            if total:
                d = self.discount[n]
                words, counts = self._followers_of(n)[h]
                p *= d * types / total
                p[words] += np.maximum(counts - d, 0.0) / total
        return p

    def _followers_of(self, n: int) -> dict:
        if n not in self._followers:
            follow: Dict[Gram, list] = {}
            for gram, count in self.counts[n].items():
                follow.setdefault(gram[:-1], []).append((gram[-1], count))
            self._followers[n] = {h: (np.array([w for w, _ in pairs], dtype=np.int64),
                                      np.array([c for _, c in pairs], dtype=np.float64))
                                  for h, pairs in follow.items()}
        return self._followers[n]

    def evaluate(self, ids: Sequence[int]) -> dict:
        """Cross-entropy of ``ids`` read as one stream, each token from the ``order - 1`` before
        it: the same ``len(ids) - 1`` predictions as the network's evaluation."""
        ids = [int(i) for i in ids]
        if len(ids) < 2:
            raise UserError(f"expected at least 2 tokens to evaluate, got {len(ids)}")
        k = self.order - 1
        total = -sum(math.log(self.probability(ids[max(0, t - k):t], ids[t]))
                     for t in range(1, len(ids)))
        loss = total / (len(ids) - 1)
        return {"loss": loss, "perplexity": math.exp(min(loss, 700.0)), "tokens": len(ids) - 1}


def _discount(grams: Counter) -> float:
    """``n1 / (n1 + 2 n2)``, kept inside (0, 1); 0.5 when the counts say nothing."""
    spectrum = Counter(grams.values())
    n1, n2 = spectrum.get(1, 0), spectrum.get(2, 0)
    if n1 == 0:
        return 0.5
    return min(max(n1 / (n1 + 2 * n2), 0.05), 0.95)


def _contexts(grams: Counter) -> Dict[Gram, Tuple[float, int]]:
    """``history -> (c(h ·), N(h ·))``: the total count after ``h`` and its distinct tokens."""
    context: Dict[Gram, list] = {}
    for gram, count in grams.items():
        entry = context.setdefault(gram[:-1], [0, 0])
        entry[0] += count
        entry[1] += 1
    return {h: (float(total), types) for h, (total, types) in context.items()}
