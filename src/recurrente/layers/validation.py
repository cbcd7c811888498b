"""Checks at the public boundary of the layers: each says what was expected and what came."""

from typing import Optional, Tuple

import torch
from torch import Tensor


def _shape(t: Tensor) -> Tuple[int, ...]:
    return tuple(t.shape)


def check_input(x: Tensor, input_size: int, batch_first: bool) -> bool:
    """Validate the input's rank and feature size; return whether it is batched (3-D)."""
    layout = "(B, T, D)" if batch_first else "(T, B, D)"
    if not isinstance(x, Tensor):
        raise ValueError(f"expected input to be a torch.Tensor, got {type(x).__name__}")
    if x.dim() not in (2, 3):
        raise ValueError(f"expected input of shape {layout.replace('D', f'D={input_size}')} "
                         f"or unbatched (T, D={input_size}), got {_shape(x)}")
    if x.shape[-1] != input_size:
        raise ValueError(f"expected input with {input_size} features in its last dimension, "
                         f"got shape {_shape(x)}")
    if not x.is_floating_point():
        raise ValueError(f"expected a floating-point input, got dtype {x.dtype}")
    return x.dim() == 3


def check_state(state, cell: str, expected: Tuple[int, ...]) -> None:
    """Validate an initial state against its expected shape ``(L*K, B, H)``."""
    if cell == "lstm":
        if not (isinstance(state, tuple) and len(state) == 2):
            raise ValueError(f"expected the LSTM state to be a pair (h, c) of shape {expected}, "
                             f"got {type(state).__name__}")
        tensors = {"h": state[0], "c": state[1]}
    else:
        if isinstance(state, tuple):
            raise ValueError(f"expected the {cell.upper()} state to be one tensor of shape "
                             f"{expected}, got a tuple of {len(state)}")
        tensors = {"state": state}
    for name, t in tensors.items():
        if not isinstance(t, Tensor) or _shape(t) != expected:
            got = _shape(t) if isinstance(t, Tensor) else type(t).__name__
            raise ValueError(f"expected {name} of shape {expected} (L*K, B, H), got {got}")


def check_lengths(lengths: Optional[Tensor], batch_size: int, steps: int) -> Optional[Tensor]:
    """Validate per-sequence lengths; return them as an int64 CPU tensor (or ``None``)."""
    if lengths is None:
        return None
    lengths = torch.as_tensor(lengths)
    if lengths.dim() != 1 or lengths.numel() != batch_size:
        raise ValueError(f"expected lengths of shape ({batch_size},), one per sequence, "
                         f"got {_shape(lengths)}")
    if lengths.is_floating_point() or lengths.is_complex() or lengths.dtype == torch.bool:
        raise ValueError(f"expected integer lengths, got dtype {lengths.dtype}")
    lengths = lengths.to("cpu", torch.int64)
    low, high = int(lengths.min()), int(lengths.max())
    if low < 1 or high > steps:
        raise ValueError(f"expected lengths between 1 and {steps} (the padded length), "
                         f"got values from {low} to {high}")
    return lengths
