"""The server's generations: one shared engine per model, each request with its own state.

:class:`SharedEngine` arranges a model's weights once; a :class:`Generation` is one request's
text, advanced in short chunks (the app runs each under the model's gate, so other requests
take turns between them) and streamed as it is written (``recurrente.serve.app``'s events).
"""

import time
from typing import List

import torch


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
    a short, bounded piece of model work). What the app's event stream reads: ``done``, ``new``
    (the tokens so far), :meth:`advance`, :meth:`text` and :meth:`full_text`."""

    def __init__(self, model, tokenizer, engine, prime: List[int], shown: List[int],
                 length: int, temperature: float, top_k, top_p, seed):
        self.tokenizer, self.model = tokenizer, model
        self.forward = model.direction == "forward"
        prompt = [list(model.in_model_order(prime))]
        if engine is not None:
            from recurrente.generate.decode import stream
            first, step = engine.functions(engine.new_state(), [tokenizer.unk_id])
            self.steps = stream(first, step, prompt, length, temperature, top_k, top_p, seed,
                                device=next(model.parameters()).device)
        else:  # an engine without separable state: one engine per request
            from recurrente.tasks.lm.inference import stream_tokens
            self.steps = stream_tokens(model, prompt, length, temperature, top_k, top_p, seed,
                                       exclude=[tokenizer.unk_id])
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
