"""The sequence regressor on ``recurrente serve``: its predictor and its endpoint.

``POST /v1/models/{name}/regress`` takes ``text`` (or ``texts``) and answers ``results``: per
text its ``value``, the model's prediction in the units of the data it was trained on.
"""

from typing import List

from recurrente.serve.predictors import Endpoint, Predictor
from recurrente.serve.requests import TextsRequest
from recurrente.tasks.regress.task import SPEC


class RegressRequest(TextsRequest):
    """``text`` or ``texts``: the texts to put a number on."""


async def regress(p: "RegressorPredictor", body: RegressRequest, call) -> dict:
    texts = call.texts(body)
    return {"results": await call.run(lambda: p.regress(texts))}


ROUTES = (Endpoint("regress", RegressRequest, regress,
                   "regressor: a number per text, in the training data's units"),)


class RegressorPredictor(Predictor):
    task = SPEC.name
    routes = ROUTES

    def details(self) -> dict:
        data = self.run.config.get("data", {})
        return {"target": {"column": data.get("label_column"),
                           "mean": self.model.target_mean, "std": self.model.target_std}}

    def regress(self, texts: List[str]) -> List[dict]:
        """The predicted value of each text."""
        return [r.to_dict() for r in self.model.predict(texts)]


PREDICTOR = RegressorPredictor
