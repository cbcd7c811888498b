"""Autoregressive generation: feed one token per step, carry the state (O(1) work per token).

The loop is model-agnostic: it needs ``step(ids (B,), state) -> (logits (B, V), state)`` and
``prime(ids (T, B), state) -> (logits of the last step (B, V), state)``. The language model
provides both, using the fastest path available for its cell.
"""

from typing import Callable, Iterator, List, Optional

import torch

from recurrente.generate.sampling import check_sampling_options, pick_next


@torch.inference_mode()
def stream(prime: Callable, step: Callable, prompt: List[List[int]], n: int,
           temperature: float = 1.0, top_k: Optional[int] = None, top_p: Optional[float] = None,
           seed: Optional[int] = None, device="cpu") -> Iterator[torch.Tensor]:
    """Yield ``n`` new token ids ``(B,)`` one step at a time, for B prompts of equal length."""
    check_sampling_options(temperature, top_k, top_p)
    generator = torch.Generator(device=device)
    if seed is None:
        generator.seed()  # fresh entropy, leaving the global torch RNG untouched
    else:
        generator.manual_seed(seed)
    ids = torch.tensor(prompt, dtype=torch.long, device=device).t()  # (T, B)
    logits, state = prime(ids, None)  # (B, V)
    for i in range(n):
        token = pick_next(logits, temperature, top_k, top_p, generator)  # (B,)
        yield token
        if i + 1 < n:
            logits, state = step(token, state)
