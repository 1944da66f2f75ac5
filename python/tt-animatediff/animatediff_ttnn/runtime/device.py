"""Which torch device and dtype to run on.

The dtype follows what the hardware computes natively (`choose_dtype`): fp16 on CUDA; bf16 on CPUs
that have bf16 instructions (AVX-512 BF16 / AMX on x86, the BF16 extension on Arm) *and* whose
oneDNN will use them, where the committed records measure a UNet call 1.8x and a Phase 1 step 2.1x
faster than in fp32 (benchmarks/cpu-speedups-latest.md, benchmarks/presets-latest.md; 2-core AMD EPYC);
fp32 everywhere else - CPUs without native bf16 run it 5-100x *slower* (emulated), and so does a CPU
with it when oneDNN is kept off its bf16 kernels (`ONEDNN_MAX_CPU_ISA=AVX2`, a common workaround for
oneDNN bugs: 2.5 s against 23 ms for the same product). MPS fp16 is not reliable for the VAE. The
decision is taken from what torch, oneDNN and the CPU report, never from the vendor's name. `--dtype`
overrides it.

Lower precision applies to the networks' weights and activations only. Scheduler arithmetic, the
latents carried from step to step and the starting noise stay fp32 (pipeline.py, backends/torch_backend.py):
they are a few element-wise operations per step, and rounding there would accumulate over steps.
"""

from __future__ import annotations

import os
from typing import Optional, Tuple

import torch

from ..params import DEVICES as DEVICE_CHOICES
from ..params import SPEC


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


DTYPE_CHOICES = SPEC["dtype"].choices
_DTYPE_NAMES = {"float32": torch.float32, "fp32": torch.float32, "bfloat16": torch.bfloat16, "bf16": torch.bfloat16,
                "float16": torch.float16, "fp16": torch.float16}


def cpu_bf16_support() -> str:
    """The CPU feature that gives native bf16 arithmetic ('' when there is none)."""
    cpu = getattr(torch, "cpu", None)
    for feature, probe in (("amx_bf16", "_is_amx_tile_supported"), ("avx512_bf16", "_is_avx512_bf16_supported")):
        try:
            if getattr(cpu, probe)():
                return feature
        except (AttributeError, RuntimeError):
            pass
    flags = set(cpuinfo_field("flags").split()) | set(cpuinfo_field("Features").split())  # x86 | Arm
    for feature in ("amx_bf16", "avx512_bf16", "bf16"):
        if feature in flags:
            return feature
    return ""


def onednn_bf16() -> bool:
    """Whether oneDNN will run bf16 kernels in this process: its effective instruction set, after
    ONEDNN_MAX_CPU_ISA / DNNL_MAX_CPU_ISA, reaches bf16 (torch asks oneDNN; no computation, so cheap at
    every start). A torch without this query: assume it does, as before it existed."""
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return True


def _onednn_cap() -> str:
    """The setting that caps oneDNN's instruction set, as 'NAME=VALUE' ('' when none is set)."""
    for name in ("ONEDNN_MAX_CPU_ISA", "DNNL_MAX_CPU_ISA"):
        if os.environ.get(name):
            return f"{name}={os.environ[name]}"
    return ""


def choose_dtype(device: torch.device, requested: Optional[str] = None, phase: Optional[int] = None,
                 backend: Optional[str] = None) -> Tuple[torch.dtype, str]:
    """The dtype to run the networks in, and a sentence saying why. The one place that decides it,
    for the CLI (from_sources) and the studio (studio_api.choose_dtype, the sidecar's model cache).
    `backend`: the resolved UNet backend name of `phase` (a BackendChoice's `.resolved`)."""
    if requested and requested != "auto":
        if requested not in _DTYPE_NAMES:
            raise ValueError(f"dtype: unknown {requested!r}; choose from {list(DTYPE_CHOICES)}")
        return _DTYPE_NAMES[requested], "asked for explicitly"
    if phase == 2 and backend == "blackhole":
        # tt-metal's demo builds its TTNN UNet from fp32 torch weights (the card computes in bfloat16)
        return torch.float32, "fp32 torch weights for the TTNN UNet (it computes in bfloat16 on the card)"
    if device.type == "cuda":
        return torch.float16, "CUDA GPUs compute fp16 natively"
    if device.type == "cpu":
        feature = cpu_bf16_support()
        if not feature:
            return torch.float32, "the CPU has no native bf16 (it would be emulated, many times slower)"
        if not (torch.backends.mkldnn.is_available() and onednn_bf16()):
            cap = _onednn_cap()
            return torch.float32, (f"the CPU has native bf16 ({feature}), but oneDNN will not run bf16 kernels"
                                   f"{f' ({cap})' if cap else ''}: bf16 would take torch's slow fallback path")
        return torch.bfloat16, f"the CPU has native bf16 ({feature}) and oneDNN runs it"
    return torch.float32, f"{device.type}: fp32 (half precision is not reliable for the VAE here)"


def pick_dtype(device: torch.device, requested: Optional[str] = None) -> torch.dtype:
    return choose_dtype(device, requested)[0]


def dtype_name(dtype: torch.dtype) -> str:
    return str(dtype).replace("torch.", "")


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
    info = {"cpu": cpu_model(), "cpu_cores": os.cpu_count(), "torch_threads": torch.get_num_threads()}
    if device is not None and device.type == "cuda":
        info["gpu"] = torch.cuda.get_device_name(device)
    return info
