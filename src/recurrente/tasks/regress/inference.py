"""A trained regressor on texts: a number per text, and the scores over encoded examples (the
evaluation the trainer runs and ``regress eval`` prints)."""

from dataclasses import dataclass
from typing import List, Optional

import numpy as np
import torch

from recurrente.data.padded import pad
from recurrente.errors import UserError
from recurrente.layers.modes import evaluating
from recurrente.tasks.regress.data import encode_texts
from recurrente.tasks.regress.metrics import scores, sums


@dataclass
class Estimate:
    """A regressor's answer for one text: its predicted value, in the data's units."""
    value: float

    def to_dict(self) -> dict:
        return {"value": self.value}


@torch.inference_mode()
def predict_values(model, sequences: List[np.ndarray], batch_size: int = 64) -> np.ndarray:
    """``(N,)`` predictions in the data's units, in the order of ``sequences``, batched by
    length, in eval mode."""
    device = next(model.parameters()).device
    order = np.argsort([len(s) for s in sequences], kind="stable")
    out = np.empty(len(sequences), dtype=np.float64)
    with evaluating(model):
        for start in range(0, len(order), batch_size):
            chunk = order[start:start + batch_size]
            ids, lengths = pad([sequences[i] for i in chunk], model.embedding.padding_idx)
            out[chunk] = model.values(ids.to(device), lengths.to(device)).double().cpu().numpy()
    return out


def predict_texts(model, texts: List[str], batch_size: int = 64,
                  max_len: Optional[int] = None) -> List[Estimate]:
    """An :class:`Estimate` per text, in their order (texts cut to the run's ``max_len``)."""
    if not model.vocabs:
        raise UserError("this model has no vocabularies; load it with SequenceRegressor.load(RUN)")
    max_len = max_len or getattr(model, "max_len", None) or 10 ** 9
    values = predict_values(model, encode_texts(texts, model.vocabs["source"], max_len),
                            batch_size)
    return [Estimate(float(v)) for v in values]


def evaluate_examples(model, examples, batch_size: int = 64, report: bool = False) -> dict:
    """``loss`` (the mean squared error in standardised units, as training sums it), ``rmse``,
    ``mae``, ``r2``, ``pearson`` and ``examples`` over encoded examples (with ``report``, also
    ``mse``)."""
    predicted = predict_values(model, examples.ids, batch_size)  # (N,)
    s = sums(examples.targets, predicted, shift=model.target_mean)
    result = scores(s)
    out = {"loss": s["ee"] / model.target_std ** 2 / max(1, s["n"]),
           **{k: result[k] for k in ("rmse", "mae", "r2", "pearson", "examples")}}
    if report:
        out["mse"] = result["mse"]
    return out
