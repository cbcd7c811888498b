"""Pure transforms of next-token logits, and drawing one token from them.

Each function takes logits ``(..., V)`` and returns new logits of the same shape; masked entries
become ``-inf``. They compose: ``top_p(top_k(temperature(z, 0.8), 40), 0.95)``.
"""

import math
from typing import Optional

import torch
from torch import Tensor

from recurrente.errors import UserError


def check_sampling_options(temperature: float, top_k: Optional[int], top_p: Optional[float]) -> None:
    """One clear sentence for each option out of range."""
    if not (math.isfinite(temperature) and temperature >= 0):
        raise UserError(f"expected a finite temperature >= 0 (0 means greedy), got {temperature}")
    if top_k is not None and top_k < 1:
        raise UserError(f"expected top-k >= 1, got {top_k}")
    if top_p is not None and not 0.0 < top_p <= 1.0:  # NaN fails too
        raise UserError(f"expected top-p in (0, 1], got {top_p}")


def apply_temperature(logits: Tensor, temperature: float) -> Tensor:
    """``z / τ``: τ < 1 sharpens the distribution, τ > 1 flattens it (τ > 0)."""
    return logits / temperature


def apply_top_k(logits: Tensor, k: Optional[int]) -> Tensor:
    """Keep the ``k`` largest logits (ties at the k-th value are kept)."""
    if k is None or k >= logits.shape[-1]:
        return logits
    kth = torch.topk(logits, k, dim=-1).values[..., -1:]  # (..., 1)
    return logits.masked_fill(logits < kth, float("-inf"))


def apply_top_p(logits: Tensor, p: Optional[float]) -> Tensor:
    """Nucleus sampling (Holtzman et al. 2020): keep the smallest set of most likely tokens whose
    probability adds up to at least ``p``."""
    if p is None or p >= 1.0:
        return logits
    sorted_logits, order = torch.sort(logits, descending=True, dim=-1)  # (..., V)
    cumulative = sorted_logits.softmax(-1).cumsum(-1)
    drop_sorted = cumulative - sorted_logits.softmax(-1) >= p  # mass before this token already >= p
    drop = drop_sorted.scatter(-1, order, drop_sorted)
    return logits.masked_fill(drop, float("-inf"))


def pick_next(logits: Tensor, temperature: float = 1.0, top_k: Optional[int] = None,
              top_p: Optional[float] = None, generator: Optional[torch.Generator] = None) -> Tensor:
    """Draw one token id per row of ``logits (B, V)``; temperature 0 is greedy (argmax)."""
    if temperature == 0:
        return logits.argmax(-1)  # (B,)
    z = logits.float() if temperature == 1.0 else apply_temperature(logits.float(), temperature)
    z = apply_top_p(apply_top_k(z, top_k), top_p)
    cdf = z.softmax(-1).cumsum(-1)  # (B, V)
    u = torch.rand(cdf.shape[0], 1, generator=generator, device=cdf.device) * cdf[:, -1:]
    # Inverse-CDF draw: the first token whose cumulative probability exceeds u (right side, so
    # a token of probability 0 is never chosen). Three small ops; torch.multinomial costs more.
    return torch.searchsorted(cdf, u, right=True).squeeze(-1).clamp_(max=cdf.shape[-1] - 1)
