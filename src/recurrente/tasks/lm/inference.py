"""Evaluation and generation for :class:`~recurrente.tasks.lm.model.LanguageModel`."""

import math
import sys
from typing import Iterator, List, Optional

import numpy as np
import torch
from tqdm import tqdm

from recurrente.errors import UserError
from recurrente.generate.decode import stream
from recurrente.generate.engine import GenerationEngine
from recurrente.layers.modes import evaluating


def _device_of(model) -> torch.device:
    return next(model.parameters()).device


@torch.inference_mode()
def evaluate_stream(model, ids, chunk: int = 512, progress: bool = False) -> dict:
    """Exact per-token cross-entropy of ``ids`` (1-D, in reading order), read as one stream in
    the model's direction with the state carried.

    Token ``k`` is predicted from tokens ``0..k-1`` (a backward model: from ``k+1..``) and nothing
    is skipped, so the loss counts ``len(ids) - 1`` predictions: ``loss`` (nats/token),
    ``perplexity = exp(loss)``, ``tokens``.
    """
    ids = torch.as_tensor(np.asarray(ids), dtype=torch.long, device=_device_of(model))
    ids = model.in_model_order(ids) if hasattr(model, "in_model_order") else ids
    if ids.numel() < 2:
        raise UserError(f"expected at least 2 tokens to evaluate, got {ids.numel()}")
    total, state = 0.0, None
    bar = tqdm(total=ids.numel() - 1, unit="tok", unit_scale=True, desc="eval",
               disable=not (progress and sys.stderr.isatty()),  # no redrawn bar in a log file
               file=sys.stderr, dynamic_ncols=True)
    with evaluating(model):
        for start in range(0, ids.numel() - 1, chunk):
            x = ids[start:start + chunk].unsqueeze(1)  # (T, 1)
            y = ids[start + 1:start + chunk + 1].unsqueeze(1)  # (T', 1), T' = T except at the end
            logits, state = model(x[:y.shape[0]], state)  # (T', 1, V)
            total += float(torch.nn.functional.cross_entropy(
                logits.reshape(-1, logits.shape[-1]).float(), y.reshape(-1), reduction="sum"))
            bar.update(y.numel())
    bar.close()
    tokens = ids.numel() - 1
    loss = total / tokens
    return {"loss": loss, "perplexity": math.exp(min(loss, 700.0)), "tokens": tokens}


def stream_tokens(model, prompts: List[List[int]], n: int, temperature: float = 1.0,
                  top_k: Optional[int] = None, top_p: Optional[float] = None,
                  seed: Optional[int] = None, exclude=(), fast: bool = True,
                  precision: str = "fp32") -> Iterator[torch.Tensor]:
    """Yield ``n`` steps of new ids ``(B,)`` for B equal-length prompts (B streams at once).

    Ids in ``exclude`` (e.g. ``<unk>``, which stands for no real symbol) are never sampled.
    ``fast`` uses the :class:`~recurrente.generate.engine.GenerationEngine`; ``False`` steps the
    model's own forward (the reference the engine is tested against). ``precision="bf16"``
    runs the engine's large products in bfloat16 where the CPU has the instructions.
    """
    if n < 0:
        raise UserError(f"expected a number of tokens to generate >= 0, got {n}")
    if not prompts or not prompts[0] or len({len(p) for p in prompts}) != 1:
        raise UserError("expected one or more prompts of equal, non-zero length")
    if fast:
        engine = GenerationEngine(model, batch=len(prompts), precision=precision)
        prime, step = engine.prime, engine.step
    else:
        prime, step = _torch_steps(model)
    if exclude:
        prime, step = _excluding(prime, list(exclude)), _excluding(step, list(exclude))
    with evaluating(model):
        yield from stream(prime, step, prompts, n, temperature, top_k, top_p, seed,
                          device=_device_of(model))


def _torch_steps(model):
    """The plain path: the model's own forward, one token per call."""
    def prime(ids, state):
        logits, state = model(ids, state)  # (T, B, V)
        return logits[-1], state

    def step(token, state):
        logits, state = model(token.unsqueeze(0), state)  # (1, B, V)
        return logits[0], state
    return prime, step


def _excluding(fn, ids):
    def wrapped(tokens, state):
        logits, state = fn(tokens, state)  # (B, V)
        return logits.index_fill(-1, torch.tensor(ids, device=logits.device), float("-inf")), state
    return wrapped


def generate_batch(model, prompts: List[List[int]], n: int, temperature: float = 1.0,
                   top_k: Optional[int] = None, top_p: Optional[float] = None,
                   seed: Optional[int] = None, exclude=()) -> List[List[int]]:
    """Each prompt followed by its ``n`` sampled continuation ids, in reading order (for a
    backward model the new ids precede the prompt)."""
    order = getattr(model, "in_model_order", lambda ids: ids)
    prompts = [order(list(p)) for p in prompts]
    steps = [t.tolist() for t in
             stream_tokens(model, prompts, n, temperature, top_k, top_p, seed, exclude)]
    return [order(list(p) + [s[b] for s in steps]) for b, p in enumerate(prompts)]
