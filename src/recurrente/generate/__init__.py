"""Decoding: pure logit transforms (sampling.py) and the generation loop (decode.py)."""

from recurrente.generate.decode import stream
from recurrente.generate.sampling import apply_temperature, apply_top_k, apply_top_p, pick_next

__all__ = ["stream", "pick_next", "apply_temperature", "apply_top_k", "apply_top_p"]
