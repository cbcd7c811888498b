"""How long each window of the sequential partitioning is: where backpropagation is truncated.

The B streams of the sequential scheme (:mod:`recurrente.data.batching`) are cut into
consecutive windows; the state is carried across every cut and the gradient stops there.
Three ways to choose the cuts, all drawn from the epoch's random generator, so an epoch is the
same windows whenever it is replayed (an exact resume):

``fixed``
    Every window is ``T`` steps: truncated BPTT at a fixed depth.

``variable`` (Merity, Keskar & Socher 2018, AWD-LSTM, section 4.1)
    The length is drawn around ``T`` (probability 0.95) or ``T/2`` (0.05), then from
    ``N(that, σ = T/14)`` (their 70 and 5), clipped to ``[T/14, 2T]``; the cuts move from epoch to
    epoch, so every token is sometimes far from a cut. The learning rate of the step is scaled by
    ``length / T``, so that short windows do not weigh as much as long ones.

``random`` (Tallec & Ollivier 2017, "Unbiasing truncated backpropagation through time")
    Windows are whole chunks of ``m = max(1, T // 4)`` steps, and after each chunk the window
    ends with probability ``c = m / T``: ``K ~ Geometric(c)`` chunks, ``E[length] = T``, and no
    bound on how far back a gradient may reach. Inside a window, the gradient that flows back
    across a chunk boundary (one that could have been a cut but was not) is multiplied by
    ``1 / (1 - c)``. Between a step ``u`` and a later one ``s`` with ``j`` chunk boundaries in
    between, the gradient of the loss at ``s`` reaches ``u`` with probability ``(1 - c)^j`` and
    weight ``(1 - c)^{-j}``: in expectation, exactly full backpropagation through the whole
    stream (with its per-step loss weighted by ``length / T``, the same learning-rate scaling as
    ``variable``). Fixed truncation drops every dependence longer than ``T`` instead.
    The batch carries the factors as a third element, ``compensation (K-1,)``.
"""

from __future__ import annotations

from typing import List, Tuple

import numpy as np

from recurrente.errors import UserError

TRUNCATIONS = ("fixed", "variable", "random")
Window = Tuple[int, int]  # (length, chunks): ``chunks`` equal chunks of ``length // chunks``


def chunk_and_cut(seq_len: int) -> Tuple[int, float]:
    """Randomised truncation's chunk length ``m`` and cut probability ``c = m / T``."""
    chunk = max(1, seq_len // 4)
    return chunk, chunk / seq_len


def compensation(seq_len: int) -> float:
    """The factor ``1 / (1 - c)`` on the gradient across an uncut chunk boundary."""
    _, cut = chunk_and_cut(seq_len)
    return 1.0 / (1.0 - cut) if cut < 1.0 else 1.0


def check_truncation(truncation: str) -> str:
    if truncation not in TRUNCATIONS:
        raise UserError(f"expected --truncation {', '.join(TRUNCATIONS[:-1])} or "
                        f"{TRUNCATIONS[-1]}, got {truncation!r}")
    return truncation


def windows(truncation: str, seq_len: int, total: int, rng: np.random.Generator
            ) -> List[Window]:
    """Consecutive windows covering the first ``total`` steps of the streams (the last one cut
    short to fit; ``random`` drops a final part shorter than one chunk)."""
    T = seq_len
    if truncation == "fixed":
        return [(T, 1)] * (total // T)
    out, used = [], 0
    if truncation == "variable":
        low, sigma = max(1, round(T / 14)), max(1.0, T / 14)
        while used < total:
            base = T if rng.random() < 0.95 else T / 2
            length = int(np.clip(round(rng.normal(base, sigma)), low, 2 * T))
            length = min(length, total - used)
            out.append((length, 1))
            used += length
        return out
    chunk, cut = chunk_and_cut(T)
    while total - used >= chunk:
        chunks = min(int(rng.geometric(cut)), (total - used) // chunk)  # K >= 1
        out.append((chunks * chunk, chunks))
        used += chunks * chunk
    return out
