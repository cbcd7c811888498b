"""The translator on ``recurrente serve``: its predictor and its endpoint.

``POST /v1/models/{name}/translate`` takes ``text`` (or ``texts``), ``beam`` (1: greedy; at
most ``--max-beam``) and ``attention`` and answers ``results``: per text its ``translation``,
and with ``attention`` (a model that attends) the ``source_tokens``, the ``output_tokens``
(ending in ``<eos>``) and the ``attention`` weights, one row per output token.
"""

from typing import List

import numpy as np
import torch
from pydantic import Field

from recurrente.serve.limits import Limits, RequestError
from recurrente.serve.predictors import Endpoint, Predictor, shown_number
from recurrente.serve.requests import TextsRequest
from recurrente.tasks.seq2seq.task import SPEC


class TranslateRequest(TextsRequest):
    beam: int = Field(1, description="beam size (1: greedy; at most --max-beam)")
    attention: bool = Field(False, description="also return the attention weights")


async def translate(p: "TranslatorPredictor", body: TranslateRequest, call) -> dict:
    texts = call.texts(body)
    p.check(body.beam, body.attention, call.limits)
    return {"results": await call.run(lambda: p.translate(texts, body.beam, body.attention))}


ROUTES = (Endpoint("translate", TranslateRequest, translate,
                   "translator: translations (and attention weights)"),)


class TranslatorPredictor(Predictor):
    """Over :meth:`~recurrente.tasks.seq2seq.model.Seq2Seq.translate`, and for the heat map
    its ``attention`` with :mod:`recurrente.tasks.seq2seq.inference`."""
    task = SPEC.name
    routes = ROUTES

    def __init__(self, name: str, run):
        super().__init__(name, run)
        self.attends = self.model.decoder.attention.enabled

    def details(self) -> dict:
        return {"attention": self.attends}

    def check(self, beam: int, attention: bool, limits: Limits) -> None:
        if not 1 <= beam <= limits.max_beam:
            raise RequestError(422, f"expected a beam from 1 to {limits.max_beam} (--max-beam), "
                                    f"got {shown_number(beam)}")
        if attention and not self.attends:
            raise RequestError(422, f"model {self.name!r} has no attention weights to show")

    def translate(self, texts: List[str], beam: int = 1, attention: bool = False) -> List[dict]:
        if not attention:
            return [{"translation": t.text} for t in self.model.translate(texts, beam=beam)]
        return [self._with_attention(text, beam) for text in texts]

    def _with_attention(self, text: str, beam: int) -> dict:
        """The translation and the weights ``(output tokens + <eos>, source tokens)``."""
        from recurrente.data.padded import pad
        from recurrente.tasks.seq2seq.inference import decode_ids, encode_sources, target_text
        model = self.model
        ids = encode_sources(model, [text])[0]
        if ids is None:
            return {"translation": "", "source_tokens": [], "output_tokens": [], "attention": []}
        tokens = decode_ids(model, [ids], beam=beam, nbest=1)[0][0][0]
        device = next(model.parameters()).device
        src, lengths = pad([ids], model._config["pad_id"])  # (S, 1)
        out = torch.tensor(list(tokens), dtype=torch.long).view(-1, 1)  # (T-1, 1)
        weights = model.attention(src.to(device), lengths.to(device), out.to(device))  # (T, S, 1)
        target = model.vocabs["target"]
        return {"translation": target_text(model, tokens),
                "source_tokens": model.vocabs["source"].tokens(text),
                "output_tokens": [target.itos[i] for i in tokens] + ["<eos>"],
                "attention": np.round(weights[:, :, 0].double().cpu().numpy(), 4).tolist()}


PREDICTOR = TranslatorPredictor
