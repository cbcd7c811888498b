"""One predictor per task: the loaded model, its vocabularies, and what a request may ask of it.

A predictor never keeps a request's recurrent state on itself: a generation carries its own
:class:`Generation` (its engine buffers and random generator), a classify, tag, translate or
score call builds its state inside the call and drops it. The model's weights are shared and only
read; the app runs one call at a time per model (:class:`~recurrente.serve.limits.Gate`), so the few places where the
library toggles ``model.train()`` around inference never race.

Predictors are plain Python (no web framework): the app turns their results into JSON, their
:class:`~recurrente.errors.UserError` into a 422 with its sentence.
"""

import math
import time
from pathlib import Path
from typing import Callable, Dict, List, Optional

import numpy as np
import torch

from recurrente.errors import UserError
from recurrente.serve.limits import Limits, RequestError

SEED_LIMIT = 2 ** 63


def shown_number(n: int) -> str:
    """A number from a request, short enough for an error sentence."""
    text = str(n)
    return text if len(text) <= 20 else f"a number of {len(text)} digits"


class Predictor:
    """Base: a name (from the run directory), a task, and the endpoints it answers."""
    task = ""
    endpoints: tuple = ()

    def __init__(self, name: str, run=None):
        self.name, self.run = name, run
        self.model = run.model if run is not None else None
        self.title = run.spec.title if run is not None else ""

    def info(self) -> dict:
        return {"name": self.name, "task": self.task, "title": self.title,
                "endpoints": list(self.endpoints), **self.details()}

    def details(self) -> dict:
        return {}


# ----------------------------------------------------------------------------- language model

class SharedEngine:
    """One :class:`~recurrente.generate.engine.GenerationEngine` per model, its weights arranged
    (and its ``V x G*H`` input table computed) once at load; each request brings its own state
    buffers, pointed at before every model call. A per-request engine would redo that work, and
    hold a table of up to 128 MB, for every generation."""

    def __init__(self, model):
        from recurrente.generate.engine import GenerationEngine
        self.engine = GenerationEngine(model, batch=1)  # ValueError: this model cannot generate
        self.layers = self.engine.layers
        if not all(hasattr(layer, "xh") and hasattr(layer, "c") for layer in self.layers):
            raise TypeError("the generation engine keeps its state elsewhere")

    def new_state(self) -> list:
        return [(torch.zeros_like(layer.xh), torch.zeros_like(layer.c)) for layer in self.layers]

    def functions(self, state: list, exclude: List[int]):
        """``prime`` and ``step`` for :func:`recurrente.generate.decode.stream` on ``state``."""
        banned = torch.tensor(exclude, dtype=torch.long,
                              device=next(self.engine.model.parameters()).device)

        def use():
            for layer, (xh, c) in zip(self.layers, state):
                layer.xh, layer.c = xh, c

        def prime(ids, _):
            use()
            logits, _ = self.engine.prime(ids, None)  # (B, V)
            return logits.index_fill(-1, banned, float("-inf")), None

        def step(token, _):
            use()
            logits, _ = self.engine.step(token, None)  # (B, V)
            return logits.index_fill(-1, banned, float("-inf")), None
        return prime, step


class Generation:
    """One request's generation: its own state and random generator, advanced in chunks (each
    a short, bounded piece of model work the app runs under the model's gate)."""

    def __init__(self, predictor: "LanguageModelPredictor", prime: List[int], shown: List[int],
                 length: int, temperature: float, top_k, top_p, seed):
        model, tok = predictor.model, predictor.tokenizer
        self.tokenizer, self.model = tok, model
        self.forward = model.direction == "forward"
        prompt = [list(model.in_model_order(prime))]
        if predictor.engine is not None:
            from recurrente.generate.decode import stream
            first, step = predictor.engine.functions(predictor.engine.new_state(), [tok.unk_id])
            self.steps = stream(first, step, prompt, length, temperature, top_k, top_p, seed,
                                device=next(model.parameters()).device)
        else:  # an engine without separable state: one engine per request
            from recurrente.tasks.lm.inference import stream_tokens
            self.steps = stream_tokens(model, prompt, length, temperature, top_k, top_p, seed,
                                       exclude=[tok.unk_id])
        self.shown, self.new, self.length = shown, [], length
        self.context = prime[-1:] if self.forward else []  # decoding context of the next piece
        self.done = length == 0

    def advance(self, max_steps: int = 32, max_seconds: float = 0.02) -> str:
        """Up to ``max_steps`` new tokens (or ``max_seconds`` of work); the text they add (a
        backward model's whole text comes at the end, once it is complete)."""
        started, fresh = time.perf_counter(), []
        while len(fresh) < max_steps and time.perf_counter() - started < max_seconds:
            token = next(self.steps, None)
            if token is None:
                self.done = True
                break
            fresh.append(int(token[0]))
        self.new += fresh
        self.done = self.done or len(self.new) >= self.length
        if self.done:
            self.steps.close()
        if not self.forward:
            return self.text() if self.done else ""
        return self._piece(fresh)

    def _piece(self, fresh: List[int]) -> str:
        """What ``fresh`` adds to the text, decoded with one token of context (a word model's
        space or line break depends on the token before)."""
        if not fresh:
            return ""
        before = self.tokenizer.decode(self.context)
        after = self.tokenizer.decode(self.context + fresh)
        self.context = fresh[-1:]
        if after.startswith(before):
            return after[len(before):]
        return self.tokenizer.decode(fresh)

    def text(self) -> str:
        """The generated text (a backward model writes what comes before the prime)."""
        return self.tokenizer.decode(self.new if self.forward else self.new[::-1])

    def full_text(self) -> str:
        """Prime and generated text together, in reading order."""
        ids = self.shown + self.new if self.forward else self.new[::-1] + self.shown
        return self.tokenizer.decode(ids)


class LanguageModelPredictor(Predictor):
    task = "lm"
    endpoints = ("generate", "score")

    def __init__(self, name: str, run):
        super().__init__(name, run)
        self.tokenizer = run.vocabs["source"]
        self.engine = None
        try:
            self.engine = SharedEngine(self.model)
        except TypeError:
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
        return Generation(self, ids, shown, length, temperature, top_k, top_p, seed)

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


# ----------------------------------------------------------------------------- classifier, tagger

class ClassifierPredictor(Predictor):
    task = "classify"
    endpoints = ("classify",)

    def __init__(self, name: str, run):
        super().__init__(name, run)
        self.model.vocabs = run.vocabs
        self.model.max_len = run.options.max_len
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
            out.append({"label": result["label"], "probability": result["probability"],
                        "top": [{"label": label, "probability": p} for label, p in
                                result["top"]]})
        return out


class TaggerPredictor(Predictor):
    task = "tag"
    endpoints = ("tag",)

    def __init__(self, name: str, run):
        super().__init__(name, run)
        self.model.vocabs = run.vocabs

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
        return self.model.predict(texts, nbest=nbest)


# ----------------------------------------------------------------------------- translator

class TranslatorPredictor(Predictor):
    """Written against :class:`recurrente.tasks.seq2seq.model.Seq2Seq` (``translate``, and for
    the heat map ``attention`` with :mod:`recurrente.tasks.seq2seq.inference`)."""
    task = "translate"
    endpoints = ("translate",)

    def __init__(self, name: str, run):
        super().__init__(name, run)
        if not callable(getattr(self.model, "translate", None)):
            raise Unavailable(f"{type(self.model).__name__} has no translate() in this version "
                              f"of recurrente")
        self.model.vocabs = run.vocabs
        self.model.max_len = getattr(run.options, "max_len", None)
        self.attends = self._attends()

    def _attends(self) -> bool:
        try:
            from recurrente.tasks.seq2seq import inference
        except ImportError:
            return False
        needed = (getattr(inference, "encode_sources", None), getattr(inference, "decode_ids",
                  None), getattr(inference, "target_text", None),
                  getattr(self.model, "attention", None))
        layer = getattr(getattr(self.model, "decoder", None), "attention", None)
        return all(map(callable, needed)) and bool(getattr(layer, "enabled", False))

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
            return [{"translation": t} for t in self.model.translate(texts, beam=beam)]
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


class Unavailable(Exception):
    """A run the server cannot serve with this version of the code; the sentence says why."""


class UnavailablePredictor(Predictor):
    """A run listed but not served (a task whose code is not in this version), with its reason."""

    def __init__(self, name: str, task: str, reason: str):
        super().__init__(name)
        self.task, self.reason = task, reason

    def details(self) -> dict:
        return {"unavailable": self.reason}


PREDICTORS: Dict[str, Callable] = {"lm": LanguageModelPredictor,
                                   "classify": ClassifierPredictor,
                                   "tag": TaggerPredictor,
                                   "translate": TranslatorPredictor}
DEFERRED = {"translate", "Seq2Seq"}  # tasks (or model classes) still being written: skip, say why


# ----------------------------------------------------------------------------- loading

def unique_names(directories) -> List[str]:
    """The base name of each run directory, made unique with ``-2``, ``-3`` ..."""
    names: List[str] = []
    for directory in directories:
        base = Path(directory).resolve().name or "model"
        name, k = base, 2
        while name in names:
            name, k = f"{base}-{k}", k + 1
        names.append(name)
    return names


def load_predictors(directories, device: str = "cpu", log=print) -> List[Predictor]:
    """A predictor for each run directory (read only, nothing written). A run of a task this
    version cannot serve yet is listed as unavailable, with its reason; any other problem (a
    path that is not a run, a corrupt checkpoint) is a :class:`UserError`."""
    from recurrente.train.checkpoint import read_config
    from recurrente.train.run import load_run
    out = []
    for name, directory in zip(unique_names(directories), directories):
        config = read_config(directory)
        kind = config.get("task") or config.get("model", {}).get("class", "")
        deferred = kind in DEFERRED or config.get("model", {}).get("class") in DEFERRED
        try:
            run = load_run(directory, device=device)
            predictor = PREDICTORS.get(run.spec.name)
            if predictor is None:
                raise Unavailable(f"the server has no predictor for a {run.spec.title} yet")
            out.append(predictor(name, run))
        except (Unavailable, UserError, ImportError, AttributeError) as e:
            if not deferred and not isinstance(e, Unavailable):
                raise
            task = config.get("task") or "translate"
            log(f"note: {directory} is a {task} run that this version cannot serve yet ({e}); "
                f"listed as {name!r}, unavailable")
            out.append(UnavailablePredictor(name, task, f"this version of recurrente cannot "
                                                        f"serve a {task} run yet"))
    return out
