"""Mixed precision for the trainer: ``--precision fp32 | bf16 | fp16``.

What each does, per device::

    fp32   nothing: every op in float32 (the default, and what the tests compare against)
    bf16   torch.autocast(dtype=bfloat16) around the task's forward and loss, on CUDA (where the
           GPU supports bfloat16) and on CPU; no gradient scaling (bfloat16 has float32's range)
    fp16   torch.autocast(dtype=float16) on CUDA with a GradScaler: the loss is multiplied by a
           scale before backward, the gradients are unscaled before clipping (so the logged norm
           and the clip threshold mean what they do in fp32), and a step whose gradients
           overflowed is skipped and the scale lowered; the scaler's state is in the checkpoint.
           Refused on a CPU (use bf16 there).

Only the training forward runs under autocast: the backward follows the dtypes the forward
chose, the parameters and the optimizer state stay float32, and evaluation runs in float32, so
validation numbers are comparable between precisions.

How the recurrent implementations run under autocast (the training log names the kernel and
the precision; :meth:`Precision.describe`):

- ``native``: torch's own kernel decides (cuDNN runs the RNNs in half precision on CUDA; on CPU
  torch 2.13 runs the Elman RNN in bfloat16, the GRU in float32, and the LSTM in bfloat16 through
  oneDNN, which needs a CPU with bfloat16 instructions (AVX-512 BF16, AMX): elsewhere oneDNN
  cannot build the kernel, so the native LSTM runs in float32 there, said in the log);
- ``scratch``: each step's matrix products in the low precision, the gates' arithmetic in
  float32 (autocast's rules for each op);
- ``fused``: its hand-written BPTT keeps its state, gates and saved tensors in float32 inside
  autocast; under bf16 on a CPU with bfloat16 instructions its matrix products (every step's
  recurrent GEMM forward and backward, the input projections, the weight gradients) run in
  bfloat16 with float32 accumulation, elsewhere in float32 (the embedding and output layers
  around it run in the low precision either way); see
  :func:`recurrente.layers.fused.full_precision`.
"""

from contextlib import nullcontext
from typing import Optional

import torch

from recurrente.errors import UserError

PRECISIONS = ("fp32", "bf16", "fp16")
DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}
KERNEL_NOTES = {"fused": "the fused recurrence in fp32",
                "fused-bf16": "fused matrix products in bf16, state and gates in fp32",
                "scratch": "matrix products in {name}, gates in fp32",
                "native": "torch's kernel's own choice"}


def check_precision(name: str) -> None:
    if name not in PRECISIONS:
        raise UserError(f"expected --precision {', '.join(PRECISIONS[:-1])} or {PRECISIONS[-1]}, "
                        f"got {name!r}")


class Precision:
    """The trainer's precision policy on ``device``: a forward context, backward, optimizer step.

    With ``fp32`` every method is the plain call (``loss.backward()``, ``optimizer.step()``), so
    a full-precision run is exactly what it was before this module existed.

    Example::

        >>> p = Precision("bf16", torch.device("cpu"))
        >>> with p.autocast():
        ...     y = torch.nn.Linear(4, 4)(torch.randn(2, 4))
        >>> y.dtype
        torch.bfloat16
    """

    def __init__(self, name: str, device: torch.device, task=None):
        check_precision(name)
        device = torch.device(device)
        if name == "fp16" and device.type != "cuda":
            raise UserError(f"--precision fp16 needs a CUDA device (its gradient scaler is for "
                            f"GPUs), and this run trains on {device.type}; use bf16 on a CPU")
        if name == "bf16" and device.type == "cuda" and not torch.cuda.is_bf16_supported():
            raise UserError("--precision bf16: this GPU does not support bfloat16; use fp16")
        if name != "fp32" and not torch.amp.is_autocast_available(device.type):
            raise UserError(f"--precision {name}: torch has no autocast for {device.type}; "
                            f"use fp32")
        self.name, self.device_type, self.dtype = name, device.type, DTYPES.get(name)
        self.scaler = torch.amp.GradScaler("cuda") if name == "fp16" else None
        self.fallbacks = []  # what runs in float32 after all, for the log
        if self.dtype is torch.bfloat16 and device.type == "cpu" and task is not None \
                and not _onednn_bf16():
            self.fallbacks += keep_native_lstm_fp32(task, device)

    @property
    def skips_overflow(self) -> bool:
        """Whether a step with non-finite gradients is expected (fp16: the scaler skips it and
        lowers the scale) rather than an error."""
        return self.scaler is not None

    def autocast(self):
        """The context the training forward and loss run in."""
        if self.dtype is None:
            return nullcontext()
        return torch.autocast(self.device_type, dtype=self.dtype)

    def backward(self, loss: torch.Tensor, optimizer) -> None:
        """``loss.backward()``; with a scaler, scaled, then the gradients unscaled in place so
        that clipping and the logged norm see their true values."""
        if self.scaler is None:
            loss.backward()
            return
        self.scaler.scale(loss).backward()
        self.scaler.unscale_(optimizer)

    def step(self, optimizer) -> None:
        """``optimizer.step()``; with a scaler, skipped when the gradients overflowed."""
        if self.scaler is None:
            optimizer.step()
            return
        self.scaler.step(optimizer)
        self.scaler.update()

    def state_dict(self) -> Optional[dict]:
        """The scaler's state (scale, growth tracker) for the checkpoint; None without one."""
        return None if self.scaler is None else self.scaler.state_dict()

    def load_state_dict(self, state: Optional[dict]) -> None:
        if self.scaler is not None and state:
            self.scaler.load_state_dict(state)

    def _fused_bf16(self) -> bool:
        """Whether the fused layers run their products in bf16 here (fused.matmul_dtype)."""
        if self.dtype is not torch.bfloat16 or self.device_type != "cpu":
            return False
        from recurrente.layers.step_gemm import bf16_available
        return bf16_available()

    def describe(self, implementation: str) -> str:
        """For the training log, e.g. ``bf16 autocast (the fused recurrence in fp32)``."""
        if self.dtype is None:
            return "fp32"
        scaler = " with a gradient scaler" if self.scaler is not None else ""
        if implementation == "fused" and self._fused_bf16():
            implementation = "fused-bf16"
        note = KERNEL_NOTES.get(implementation, "").format(name=self.name)
        if self.fallbacks:
            note = "; ".join(self.fallbacks)
        return f"{self.name} autocast{scaler}" + (f" ({note})" if note else "")


# ----------------------------------------------------------------------------- CPU fallback

LOW = (torch.float16, torch.bfloat16)


def _onednn_bf16() -> bool:
    """Whether oneDNN has bfloat16 kernels on this CPU (its LSTM needs them under autocast)."""
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


def keep_native_lstm_fp32(task, device) -> list:
    """Autocast switched off (inputs cast up) inside every native LSTM layer of ``task`` on
    ``device``: hooks around the layer's forward; the rest of the model stays under autocast.
    Returns the log's note, or nothing when the task has no such layer."""
    from recurrente.layers.base import RecurrentLayer
    layers = [m for m in task.modules() if isinstance(m, RecurrentLayer) and m.cell == "lstm"
              and m.implementation_for(device) == "native"]
    for layer in layers:
        _hook_full_precision(layer, torch.device(device).type)
    if not layers:
        return []
    return ["the native LSTM in fp32: oneDNN has no bf16 LSTM on this CPU"]


def _hook_full_precision(module, device_type: str) -> None:
    was = []

    def up(value):
        if torch.is_tensor(value):
            return value.float() if value.dtype in LOW else value
        if isinstance(value, tuple):  # a state: an LSTMState (h, c) or a plain tuple
            values = [up(v) for v in value]
            return type(value)(*values) if hasattr(value, "_fields") else tuple(values)
        return value

    def before(mod, args, kwargs):
        was.append(torch.is_autocast_enabled(device_type))
        if not was[-1]:
            return None
        torch.set_autocast_enabled(device_type, False)
        return tuple(up(a) for a in args), kwargs

    def after(mod, args, kwargs, output):
        if was.pop():
            torch.set_autocast_enabled(device_type, True)

    module.register_forward_pre_hook(before, with_kwargs=True)
    module.register_forward_hook(after, with_kwargs=True)
