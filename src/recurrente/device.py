"""Where tensors run: ``--device`` read into a ``torch.device`` (one sentence for a device this
machine lacks), and batches moved there. Below the trainer and the tasks, which both use it."""

import torch

from recurrente.errors import UserError


def move_to(batch, device: torch.device):
    """``batch`` with every tensor in it on ``device`` (tuples, lists and dicts, nested)."""
    if isinstance(batch, torch.Tensor):
        return batch.to(device, non_blocking=True)
    if isinstance(batch, (tuple, list)):
        return type(batch)(move_to(b, device) for b in batch)
    if isinstance(batch, dict):
        return {k: move_to(v, device) for k, v in batch.items()}
    return batch


def resolve_device(name) -> torch.device:
    if isinstance(name, torch.device):
        return name
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise UserError("--device cuda was asked for, but torch sees no CUDA device here")
    if name not in ("cpu",) and not name.startswith("cuda"):
        raise UserError(f"expected --device auto, cpu or cuda, got {name!r}")
    try:
        device = torch.device(name)
    except RuntimeError:  # "cudax", "cuda:-1"
        raise UserError(f"expected --device auto, cpu, cuda or cuda:N, got {name!r}") from None
    if device.type == "cuda" and device.index is not None and \
            device.index >= torch.cuda.device_count():
        raise UserError(f"--device {name}: this machine has {torch.cuda.device_count()} CUDA "
                        f"device(s), numbered from 0")
    return device
