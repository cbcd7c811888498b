"""How well a classifier does: accuracy, per-class precision/recall/F1, macro-F1, confusion.

With ``M[i, j]`` the number of examples of true class ``i`` predicted as ``j``::

    accuracy      = Σ_i M[i, i] / Σ_ij M[i, j]
    precision_c   = M[c, c] / Σ_i M[i, c]        (0 when class c is never predicted)
    recall_c      = M[c, c] / Σ_j M[c, j]        (0 when class c never occurs)
    F1_c          = 2 P_c R_c / (P_c + R_c)      (0 when both are 0)
    macro-F1      = mean of F1_c over the classes that occur or are predicted

All from counts (sums over examples), never averages of batch averages.
"""

import json
from typing import List, Optional

import numpy as np


def confusion(gold: np.ndarray, predicted: np.ndarray, classes: int) -> np.ndarray:
    """``M (C, C)``: row = true class, column = predicted class."""
    return np.bincount(gold * classes + predicted, minlength=classes * classes).reshape(
        classes, classes)


def scores(matrix: np.ndarray) -> dict:
    """Accuracy, macro-F1 and per-class precision, recall, F1 and support from ``M``."""
    tp = np.diag(matrix).astype(np.float64)
    predicted, actual = matrix.sum(0), matrix.sum(1)
    precision = np.divide(tp, predicted, out=np.zeros_like(tp), where=predicted > 0)
    recall = np.divide(tp, actual, out=np.zeros_like(tp), where=actual > 0)
    denom = precision + recall
    f1 = np.divide(2 * precision * recall, denom, out=np.zeros_like(tp), where=denom > 0)
    seen = (predicted + actual) > 0
    return {"accuracy": float(tp.sum() / max(1, matrix.sum())),
            "macro_f1": float(f1[seen].mean()) if seen.any() else 0.0,
            "precision": precision.tolist(), "recall": recall.tolist(), "f1": f1.tolist(),
            "support": actual.astype(int).tolist()}


def table(result: dict, labels: List[str]) -> str:
    """The per-class scores and the confusion matrix as aligned text."""
    width = max(8, *(len(label) for label in labels))
    lines = [f"{'class':<{width}}  precision  recall     f1  support"]
    for i, label in enumerate(labels):
        lines.append(f"{label:<{width}}  {result['precision'][i]:9.3f}  {result['recall'][i]:6.3f}"
                     f"  {result['f1'][i]:5.3f}  {result['support'][i]:7d}")
    lines += [f"{'accuracy':<{width}}  {result['accuracy']:9.3f}",
              f"{'macro F1':<{width}}  {result['macro_f1']:9.3f}", "",
              "confusion (rows: true, columns: predicted)",
              " " * width + "  " + " ".join(f"{label[:7]:>7}" for label in labels)]
    for i, label in enumerate(labels):
        lines.append(f"{label:<{width}}  " + " ".join(f"{n:7d}" for n in result["confusion"][i]))
    return "\n".join(lines)


def plot_confusion(result: dict, labels: List[str], path, title: Optional[str] = None) -> None:
    """A PNG of the confusion matrix, each row normalised (the recall of every class), counts
    written in the cells."""
    from recurrente.diagnostics.plotting import pyplot, save
    plt = pyplot()
    matrix = np.asarray(result["confusion"], dtype=np.float64)
    rates = matrix / np.maximum(1, matrix.sum(1, keepdims=True))
    size = 2.5 + 0.5 * len(labels)
    fig, ax = plt.subplots(figsize=(size + 1.5, size))
    image = ax.imshow(rates, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(len(labels)), labels, rotation=45, ha="right")
    ax.set_yticks(range(len(labels)), labels)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    for i in range(len(labels)):
        for j in range(len(labels)):
            ax.text(j, i, int(matrix[i, j]), ha="center", va="center",
                    color="white" if rates[i, j] > 0.6 else "black", fontsize=8)
    ax.set_title(title or f"accuracy {result['accuracy']:.3f}, macro F1 {result['macro_f1']:.3f}",
                 fontsize=9)
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
    fig.tight_layout()
    save(fig, path)


def as_json(result: dict, labels: List[str]) -> str:
    per_class = {label: {"precision": result["precision"][i], "recall": result["recall"][i],
                         "f1": result["f1"][i], "support": result["support"][i]}
                 for i, label in enumerate(labels)}
    return json.dumps({"accuracy": result["accuracy"], "macro_f1": result["macro_f1"],
                       "loss": result["loss"], "examples": result["examples"],
                       "labels": labels, "per_class": per_class, "confusion": result["confusion"]})
