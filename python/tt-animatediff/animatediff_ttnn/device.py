"""Which torch device and dtype to run on.

fp16 on CUDA halves memory and time. Everywhere else fp32: CPUs without native bf16/fp16 units
(AVX2-only machines) run half-precision convolutions 5-100x slower, and MPS fp16 is not reliable
for the VAE.
"""

from __future__ import annotations

from typing import Optional

import torch

from .params import DEVICES as DEVICE_CHOICES


def pick_device(requested: str = "auto") -> torch.device:
    """'auto' takes cuda, then mps, then cpu; an explicit choice must be available."""
    if requested == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    kind = requested.split(":")[0]
    if kind not in DEVICE_CHOICES:
        raise ValueError(f"device: unknown {requested!r}; choose from {list(DEVICE_CHOICES)} (cuda:N also works)")
    if kind == "cuda" and not torch.cuda.is_available():
        raise ValueError("device: cuda was asked for but torch sees no CUDA GPU (torch %s)" % torch.__version__)
    if kind == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise ValueError("device: mps was asked for but is not available on this machine")
    return torch.device(requested)


def pick_dtype(device: torch.device, requested: Optional[str] = None) -> torch.dtype:
    if requested:
        table = {"float32": torch.float32, "fp32": torch.float32, "float16": torch.float16, "fp16": torch.float16}
        if requested not in table:
            raise ValueError(f"dtype: unknown {requested!r}; choose float32 or float16")
        return table[requested]
    return torch.float16 if device.type == "cuda" else torch.float32


def cpuinfo_field(name: str) -> str:
    """A field of the first CPU in Linux's /proc/cpuinfo ('' where there is none)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            for line in info:
                if line.startswith(name):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return ""


def cpu_model() -> str:
    """The CPU's marketing name (Linux /proc/cpuinfo, else platform.processor())."""
    import platform

    return cpuinfo_field("model name") or platform.processor() or platform.machine()


def hardware_description(device: Optional[torch.device] = None) -> dict:
    """What a timing was measured on: always the CPU, plus the GPU when one ran the work."""
    import os

    info = {"cpu": cpu_model(), "cpu_cores": os.cpu_count(), "torch_threads": torch.get_num_threads()}
    if device is not None and device.type == "cuda":
        info["gpu"] = torch.cuda.get_device_name(device)
    return info
