"""The sequence classifier on ``recurrente serve``: its predictor and its endpoint.

``POST /v1/models/{name}/classify`` takes ``text`` (or ``texts``) and ``top_k`` (classes per
text, default all) and answers ``results``: per text its ``label``, ``probability`` and ``top``
classes, each ``{label, probability}``, most likely first.
"""

from typing import List, Optional

from pydantic import Field

from recurrente.serve.limits import RequestError
from recurrente.serve.predictors import Endpoint, Predictor, shown_number
from recurrente.serve.requests import TextsRequest
from recurrente.tasks.classify.task import SPEC


class ClassifyRequest(TextsRequest):
    top_k: Optional[int] = Field(None, description="classes per text (default: all)")


async def classify(p: "ClassifierPredictor", body: ClassifyRequest, call) -> dict:
    texts = call.texts(body)
    p.check(body.top_k)
    return {"results": await call.run(lambda: p.classify(texts, body.top_k))}


ROUTES = (Endpoint("classify", ClassifyRequest, classify,
                   "classifier: label and class probabilities per text"),)


class ClassifierPredictor(Predictor):
    task = SPEC.name
    routes = ROUTES

    def __init__(self, name: str, run):
        super().__init__(name, run)
        self.labels = list(run.vocabs["labels"].itos)

    def details(self) -> dict:
        return {"labels": self.labels}

    def check(self, top_k: Optional[int]) -> None:
        if top_k is not None and top_k < 1:
            raise RequestError(422, f"expected top_k >= 1, got {shown_number(top_k)}")

    def classify(self, texts: List[str], top_k: Optional[int] = None) -> List[dict]:
        """Label and probability of each text, with the ``top_k`` (default: all) classes."""
        k = len(self.labels) if top_k is None else min(top_k, len(self.labels))
        out = []
        for result in self.model.predict(texts, top_k=k):
            out.append({"label": result.label, "probability": result.probability,
                        "top": [{"label": label, "probability": p} for label, p in
                                result.top]})
        return out


PREDICTOR = ClassifierPredictor
