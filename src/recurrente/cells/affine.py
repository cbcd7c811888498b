"""The affine map every cell starts from."""

from typing import Optional

from torch import Tensor


def affine(x: Tensor, weight: Tensor, bias: Optional[Tensor]) -> Tensor:
    """``x W^T + b`` with torch.nn's ``(out, in)`` weight layout; ``bias`` may be ``None``."""
    out = x @ weight.t()  # (..., out)
    return out if bias is None else out + bias
