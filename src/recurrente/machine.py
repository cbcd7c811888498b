"""The machine this process runs on, in the words a benchmark or a kernel choice needs.

Speed depends on the processor, so every measured figure records where it was measured:
:func:`describe` gives the CPU model and the instruction sets that matter to the kernels
(AVX2, AVX-512, its bfloat16 and VNNI extensions, AMX), the cores, torch's version and threads,
and the GPU if there is one. :func:`fingerprint` is the short key that the autotuning cache
(:mod:`recurrente.layers.autotune`) files its measurements under.
"""

import functools
import os
import platform
from typing import Optional

import torch

# The instruction-set flags (as /proc/cpuinfo spells them) that change which kernels run.
ISA_FLAGS = ("avx2", "fma", "avx512f", "avx512bw", "avx512vl", "avx512_vnni", "avx512_bf16",
             "avx512_fp16", "amx_tile", "amx_bf16", "amx_int8", "asimd", "sve", "sve2", "bf16")


@functools.lru_cache(maxsize=1)
def _cpuinfo() -> dict:
    """``model name`` and ``flags`` of the first processor in /proc/cpuinfo (Linux), else {}."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            text = f.read()
    except OSError:
        return {}
    info = {}
    for line in text.splitlines():
        key, _, value = line.partition(":")
        key = key.strip().lower()
        if key in ("model name", "flags", "features", "cpu part") and key not in info:
            info[key] = value.strip()
    return info


def cpu_model() -> str:
    """e.g. ``AMD EPYC`` or ``Intel(R) Xeon(R) Platinum 8488C``."""
    info = _cpuinfo()
    return info.get("model name") or platform.processor() or platform.machine() or "unknown"


def cpu_flags() -> list:
    """The :data:`ISA_FLAGS` this CPU has, in that order."""
    info = _cpuinfo()
    have = set((info.get("flags") or info.get("features") or "").split())
    return [flag for flag in ISA_FLAGS if flag in have]


def gpu_name(device=None) -> Optional[str]:
    if not torch.cuda.is_available():
        return None
    return torch.cuda.get_device_name(device)


def describe() -> dict:
    """Everything a results file should say about where it was measured."""
    return {"cpu": cpu_model(), "isa": cpu_flags(), "cores": os.cpu_count(),
            "machine": platform.machine(), "torch": torch.__version__,
            "threads": torch.get_num_threads(), "cpu_capability": _capability(),
            "cuda": gpu_name()}


def describe_line(info: Optional[dict] = None) -> str:
    """One line for a benchmark's output: ``AMD EPYC (avx2 ... avx512_bf16), 2 cores, ...``."""
    info = info or describe()
    line = (f"{info['cpu']} ({' '.join(info['isa']) or 'no listed ISA flags'}), "
            f"{info['cores']} cores, torch {info['torch']}, {info['threads']} threads")
    return line + (f", GPU {info['cuda']}" if info.get("cuda") else "")


def fingerprint(device_type: str = "cpu") -> str:
    """The key measurements on this machine are filed under: the processor that runs the
    kernels (CPU model and ISA flags, or the GPU's name), torch's version and recurrente's."""
    from recurrente import __version__
    if device_type == "cuda":
        where = f"cuda:{gpu_name()}"
    else:
        where = f"cpu:{cpu_model()}[{','.join(cpu_flags())}]x{torch.get_num_threads()}"
    return f"{where}|torch {torch.__version__}|recurrente {__version__}"


def _capability() -> str:
    try:
        return torch.backends.cpu.get_cpu_capability()
    except (AttributeError, RuntimeError):
        return "unknown"
