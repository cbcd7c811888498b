"""A trained classifier on texts: class probabilities, labels with their top-k, and scores
over encoded examples (the evaluation the trainer runs and ``classify eval`` prints)."""

from dataclasses import dataclass, field
from typing import List, Optional, Tuple

import numpy as np
import torch
import torch.nn.functional as F

from recurrente.data.padded import pad
from recurrente.errors import UserError
from recurrente.layers.modes import evaluating
from recurrente.tasks.classify.data import encode_texts
from recurrente.tasks.classify.metrics import confusion, scores


@dataclass
class Label:
    """A classifier's answer for one text: the likeliest label, its probability, and the
    ``top_k`` likeliest ``(label, probability)`` pairs, best first."""
    label: str
    probability: float
    top: List[Tuple[str, float]] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"label": self.label, "probability": self.probability, "top": list(self.top)}


@torch.inference_mode()
def probabilities(model, sequences: List[np.ndarray], batch_size: int = 64) -> np.ndarray:
    """``(N, C)`` class probabilities, in the order of ``sequences``, batched by length."""
    device = next(model.parameters()).device
    order = np.argsort([len(s) for s in sequences], kind="stable")
    out = np.empty((len(sequences), model.num_classes), dtype=np.float64)
    with evaluating(model):
        for start in range(0, len(order), batch_size):
            chunk = order[start:start + batch_size]
            ids, lengths = pad([sequences[i] for i in chunk], model.embedding.padding_idx)
            logits = model(ids.to(device), lengths.to(device))  # (B, C)
            out[chunk] = torch.softmax(logits.double(), dim=-1).cpu().numpy()
    return out


def predict_texts(model, texts: List[str], top_k: int = 1, batch_size: int = 64,
                  max_len: Optional[int] = None) -> List[Label]:
    """A :class:`Label` per text: its label, probability and ``top_k`` most likely labels."""
    if not model.vocabs:
        raise UserError("this model has no vocabularies; load it with SequenceClassifier.load(RUN)")
    source, labels = model.vocabs["source"], model.vocabs["labels"]
    max_len = max_len or getattr(model, "max_len", None) or 10 ** 9
    probs = probabilities(model, encode_texts(texts, source, max_len), batch_size)  # (N, C)
    k = max(1, min(top_k, len(labels)))
    results = []
    for row in probs:
        best = np.argsort(-row, kind="stable")[:k]
        top = [(labels.itos[i], float(row[i])) for i in best]
        results.append(Label(top[0][0], top[0][1], top))
    return results


@torch.inference_mode()
def evaluate_examples(model, examples, batch_size: int = 64, report: bool = False) -> dict:
    """Summed cross-entropy over the examples, accuracy and macro-F1 (and, with ``report``, the
    per-class scores and the confusion matrix)."""
    probs = probabilities(model, examples.ids, batch_size)  # (N, C)
    gold = np.asarray(examples.labels, dtype=np.int64)
    nll = F.nll_loss(torch.from_numpy(np.log(np.clip(probs, 1e-300, None))),
                     torch.from_numpy(gold), reduction="sum")
    matrix = confusion(gold, probs.argmax(1), probs.shape[1])
    result = scores(matrix)
    out = {"loss": float(nll) / max(1, len(gold)), "accuracy": result["accuracy"],
           "macro_f1": result["macro_f1"], "examples": int(len(gold))}
    if report:
        out.update({k: result[k] for k in ("precision", "recall", "f1", "support")},
                   confusion=matrix.tolist())
    return out
