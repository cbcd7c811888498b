"""The sequence tagger on ``recurrente serve``: its predictor and its endpoint.

``POST /v1/models/{name}/tag`` takes ``text`` (or ``texts``) and ``nbest`` (k-best tag
sequences, above 1 only for a CRF tagger; at most ``--max-beam``) and answers ``results``: per
text its ``tokens``, ``tags`` and ``entities`` (type, token span, text, score and character
offsets), with ``nbest`` sequences when asked for.
"""

from typing import List

from pydantic import Field

from recurrente.serve.limits import Limits, RequestError
from recurrente.serve.predictors import Endpoint, Predictor, shown_number
from recurrente.serve.requests import TextsRequest
from recurrente.tasks.tag.task import SPEC


class TagRequest(TextsRequest):
    nbest: int = Field(1, description="k-best tag sequences (a CRF tagger)")


async def tag(p: "TaggerPredictor", body: TagRequest, call) -> dict:
    texts = call.texts(body)
    p.check(body.nbest, call.limits)
    return {"results": await call.run(lambda: p.tag(texts, body.nbest))}


ROUTES = (Endpoint("tag", TagRequest, tag,
                   "tagger: tokens, tags, entities with offsets and scores"),)


class TaggerPredictor(Predictor):
    task = SPEC.name
    routes = ROUTES

    def details(self) -> dict:
        return {"tags": list(self.model.tags), "scheme": self.model._config.get("scheme"),
                "crf": self.model.crf is not None}

    def check(self, nbest: int, limits: Limits) -> None:
        if not 1 <= nbest <= limits.max_beam:
            raise RequestError(422, f"expected nbest from 1 to {limits.max_beam} (--max-beam), "
                                    f"got {shown_number(nbest)}")
        if nbest > 1 and self.model.crf is None:
            raise RequestError(422, f"nbest above 1 needs a CRF tagger; model {self.name!r} "
                                    f"has a softmax head")

    def tag(self, texts: List[str], nbest: int = 1) -> List[dict]:
        return [result.to_dict() for result in self.model.predict(texts, nbest=nbest)]


PREDICTOR = TaggerPredictor
