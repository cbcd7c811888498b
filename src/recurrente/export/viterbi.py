"""The CRF's best path in NumPy, for an exported tagger run without torch.

With ``emit (T, N)`` from the ONNX graph and the CRF's ``transitions (N, N)``, ``start (N,)``,
``end (N,)`` (forbidden transitions already ``-inf``, as ``crf.json`` stores them)::

    δ_1(j) = start_j + emit_1(j)
    δ_t(j) = emit_t(j) + max_i(δ_{t-1}(i) + trans_ij),    bp_t(j) = argmax_i(...)
    y_T = argmax_j(δ_T(j) + end_j),  then y_{t-1} = bp_t(y_t)

Nothing here is particular to one model: any linear-chain CRF's exported scores decode so.
This module imports NumPy only.
"""

import json

import numpy as np


def crf_json(transitions, start, end) -> dict:
    """What ``crf.json`` holds, from arrays ``(N, N)``, ``(N,)``, ``(N,)``: nested lists with
    ``None`` for ``-inf`` (JSON has no infinity); :func:`load_crf` reads it back."""
    finite = lambda v: [None if not np.isfinite(x) else float(x) for x in v]  # noqa: E731
    return {"transitions": [finite(row) for row in np.asarray(transitions)],
            "start": finite(np.asarray(start)), "end": finite(np.asarray(end))}


def load_crf(path) -> dict:
    """``crf.json`` as arrays: ``transitions``, ``start``, ``end`` (``None`` entries -> -inf)."""
    with open(path, encoding="utf-8") as f:
        raw = json.load(f)
    as_array = lambda v: np.array([[-np.inf if x is None else x for x in row] for row in v]  # noqa
                                  if v and isinstance(v[0], list) else
                                  [-np.inf if x is None else x for x in v], dtype=np.float64)
    return {k: as_array(raw[k]) for k in ("transitions", "start", "end")}


def viterbi(emit: np.ndarray, transitions: np.ndarray, start: np.ndarray,
            end: np.ndarray) -> list:
    """The best tag path of one sentence's emissions ``(T, N)``."""
    delta = start + emit[0]  # (N,)
    pointers = []
    for t in range(1, emit.shape[0]):
        scores = delta[:, None] + transitions  # (N_i, N_j)
        pointers.append(scores.argmax(0))  # (N,)
        delta = emit[t] + scores.max(0)
    path = [int((delta + end).argmax())]
    for bp in reversed(pointers):
        path.append(int(bp[path[-1]]))
    return path[::-1]
