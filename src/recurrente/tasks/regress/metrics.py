"""How well a regressor does: MSE, RMSE, MAE, R² and Pearson's r, from sums over examples.

With gold values ``y_i``, predictions ``ŷ_i``, ``n`` examples and ``e_i = ŷ_i - y_i``::

    MSE     = Σ e_i² / n                 RMSE = √MSE              MAE = Σ |e_i| / n
    SS_res  = Σ e_i²                     SS_tot = Σ (y_i - ȳ)² = Σ y_i² - (Σ y_i)² / n
    R²      = 1 - SS_res / SS_tot        (SS_tot = 0: 1 when SS_res = 0, else 0)
    r       = (n Σ y ŷ - Σ y Σ ŷ) / √((n Σ y² - (Σ y)²) (n Σ ŷ² - (Σ ŷ)²))   (0 if either is 0)

A constant prediction at the data's own mean has R² = 0; R² < 0 is worse than that. Everything
comes from the sums of :func:`sums` (``n``, ``Σ y``, ``Σ ŷ``, ``Σ y²``, ``Σ ŷ²``, ``Σ y ŷ``,
``Σ e²``, ``Σ |e|``), which add over batches (:func:`add`): never averages of averages. The sums
of ``y`` and ``ŷ`` are taken about a ``shift`` (the training mean, say), which changes none of
the scores but keeps ``Σ y² - (Σ y)²/n`` exact for values far from 0.
"""

import json
import math

import numpy as np

KEYS = ("n", "y", "p", "yy", "pp", "yp", "ee", "ae")


def sums(gold, predicted, shift: float = 0.0) -> dict:
    """The sums of the module docstring over ``gold`` and ``predicted`` (``(N,)`` each), with
    ``y`` and ``ŷ`` taken as ``y - shift`` and ``ŷ - shift``."""
    y = np.asarray(gold, dtype=np.float64)
    p = np.asarray(predicted, dtype=np.float64)
    if y.shape != p.shape:
        raise ValueError(f"expected as many predictions as gold values, got {p.shape} and "
                         f"{y.shape}")
    e = p - y
    y, p = y - shift, p - shift
    return {"n": int(y.size), "y": float(y.sum()), "p": float(p.sum()), "yy": float(y @ y),
            "pp": float(p @ p), "yp": float(y @ p), "ee": float(e @ e),
            "ae": float(np.abs(e).sum()), "shift": float(shift)}


def add(a: dict, b: dict) -> dict:
    """The sums of two sets of examples together (taken about the same shift)."""
    if a["shift"] != b["shift"]:
        raise ValueError("expected sums taken about the same shift")
    return {**{k: a[k] + b[k] for k in KEYS}, "shift": a["shift"]}


def scores(s: dict) -> dict:
    """``mse``, ``rmse``, ``mae``, ``r2``, ``pearson`` and ``examples`` from :func:`sums`."""
    n = s["n"]
    if n == 0:
        return {"mse": 0.0, "rmse": 0.0, "mae": 0.0, "r2": 0.0, "pearson": 0.0, "examples": 0}
    mse = s["ee"] / n
    ss_tot = max(0.0, s["yy"] - s["y"] ** 2 / n)
    if ss_tot > 0:
        r2 = 1.0 - s["ee"] / ss_tot
    else:
        r2 = 1.0 if s["ee"] == 0 else 0.0
    var_y = max(0.0, n * s["yy"] - s["y"] ** 2)
    var_p = max(0.0, n * s["pp"] - s["p"] ** 2)
    cov = n * s["yp"] - s["y"] * s["p"]
    pearson = cov / math.sqrt(var_y * var_p) if var_y > 0 and var_p > 0 else 0.0
    return {"mse": mse, "rmse": math.sqrt(mse), "mae": s["ae"] / n, "r2": r2,
            "pearson": max(-1.0, min(1.0, pearson)), "examples": n}


def score(gold, predicted, shift: float = 0.0) -> dict:
    """:func:`scores` of :func:`sums`: the metrics of ``predicted`` against ``gold``."""
    return scores(sums(gold, predicted, shift))


def table(result: dict) -> str:
    """The scores as aligned lines."""
    rows = [("MSE", result["mse"]), ("RMSE", result["rmse"]), ("MAE", result["mae"]),
            ("R²", result["r2"]), ("Pearson r", result["pearson"])]
    return "\n".join(f"{name:<10} {value:12.6g}" for name, value in rows)


def as_json(result: dict) -> str:
    return json.dumps({k: result[k] for k in ("loss", "mse", "rmse", "mae", "r2", "pearson",
                                              "examples")})
