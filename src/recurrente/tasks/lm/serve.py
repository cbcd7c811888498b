"""The language model on ``recurrente serve``: its predictor and its two endpoints.

``POST /v1/models/{name}/generate`` takes ``prime``, ``length``, ``temperature``, ``top_k``,
``top_p``, ``seed`` and answers with server-sent events as the text is written (``text``
pieces, then ``done`` or ``error``); ``POST /v1/models/{name}/score`` takes ``text`` and answers
its loss and perplexity (and bits per character for a character model). A bidirectional model
scores but cannot write: it answers ``score`` only.
"""

import math
from typing import Optional

from pydantic import Field

from recurrente.errors import UserError
from recurrente.serve.limits import Limits, RequestError
from recurrente.serve.predictors import Endpoint, Predictor, shown_number
from recurrente.serve.requests import Strict
from recurrente.tasks.lm.generation import Generation, SharedEngine
from recurrente.tasks.lm.task import SPEC

SEED_LIMIT = 2 ** 63


class GenerateRequest(Strict):
    prime: Optional[str] = Field(None, description="text to start from (default: a line break)")
    length: int = Field(200, description="tokens to generate (at most --max-tokens)")
    temperature: float = Field(1.0, description="0 = greedy")
    top_k: Optional[int] = Field(None, description="sample among the k most likely tokens")
    top_p: Optional[float] = Field(None, description="nucleus: smallest set with mass p")
    seed: Optional[int] = Field(None, description="make the sample reproducible")


class ScoreRequest(Strict):
    text: str


async def generate(p: "LanguageModelPredictor", body: GenerateRequest, call):
    if body.prime is not None:
        call.chars(body.prime, "the prime")
    return call.stream(p.start(body.prime, body.length, body.temperature, body.top_k,
                               body.top_p, body.seed, call.limits))


async def score(p: "LanguageModelPredictor", body: ScoreRequest, call) -> dict:
    text = call.chars(body.text)
    return await call.run(lambda: p.score(text))


ROUTES = (
    Endpoint("generate", GenerateRequest, generate,
             "language model: server-sent events as the text is written",
             {200: {"content": {"text/event-stream": {}},
                    "description": "events `text` {text}, then `done` {tokens, text, "
                                   "full_text, seconds} or `error` {error}"}}),
    Endpoint("score", ScoreRequest, score,
             "language model: loss and perplexity of a text"),
)


class LanguageModelPredictor(Predictor):
    task = SPEC.name
    routes = ROUTES

    def __init__(self, name: str, run):
        super().__init__(name, run)
        self.tokenizer = run.vocabs["source"]
        self.engine = None
        try:
            self.engine = SharedEngine(self.model)
        except TypeError:  # an engine without separable state: one per request
            pass
        except ValueError:  # a bidirectional model scores text but cannot write it
            self.endpoints = ("score",)

    def details(self) -> dict:
        return {"tokenizer": self.tokenizer.kind, "vocab_size": self.tokenizer.vocab_size,
                "direction": self.model.direction}

    def prime_ids(self, prime: Optional[str]):
        """``(ids to start from, ids shown as the prime)``: an absent prime starts from a line
        break (or ``<eos>``), which is not shown."""
        tok = self.tokenizer
        if prime is None or prime == "":
            for start in ("\n", "<eos>", " "):
                if start in tok.stoi:
                    return [tok.stoi[start]], []
            return [1 if tok.vocab_size > 1 else 0], []
        ids = [int(i) for i in tok.encode_strict(prime)]
        if not ids:
            raise UserError("the prime is empty once normalised; give some text the model knows")
        return ids, ids

    def start(self, prime: Optional[str], length: int, temperature: float, top_k, top_p,
              seed, limits: Limits) -> Generation:
        """Check a generate request and prepare it (no model work yet)."""
        from recurrente.generate.sampling import check_sampling_options
        if not 0 <= length <= limits.max_tokens:
            raise RequestError(422, f"expected a length from 0 to {limits.max_tokens} tokens "
                                    f"(--max-tokens), got {shown_number(length)}")
        if seed is not None and not 0 <= seed < SEED_LIMIT:
            raise RequestError(422, f"expected a seed from 0 to 2**63 - 1, got "
                                    f"{shown_number(seed)}")
        if top_k is not None and top_k > self.tokenizer.vocab_size:
            top_k = self.tokenizer.vocab_size  # every token: the same as no top-k
        check_sampling_options(temperature, top_k, top_p)
        ids, shown = self.prime_ids(prime)
        return Generation(self.model, self.tokenizer, self.engine, ids, shown, length,
                          temperature, top_k, top_p, seed)

    def score(self, text: str) -> dict:
        """Perplexity of ``text`` under the model (unknown symbols scored as ``<unk>``)."""
        from recurrente.tasks.lm.inference import evaluate_stream
        ids = self.tokenizer.encode(text)
        if len(ids) < 2:
            raise UserError(f"expected a text of at least 2 tokens to score, got {len(ids)}")
        result = evaluate_stream(self.model, ids)
        result["unknown_tokens"] = self.tokenizer.count_unknown(text)
        if self.tokenizer.kind == "char":
            result["bits_per_char"] = result["loss"] / math.log(2)
        return result


PREDICTOR = LanguageModelPredictor
