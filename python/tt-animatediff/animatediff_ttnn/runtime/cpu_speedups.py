"""CPU speed-up: fp32 linear layers through oneDNN instead of MKL. Same math, no lower precision.

PyTorch's CPU wheels compute an fp32 `nn.Linear` with MKL's sgemm. On AMD CPUs MKL runs its AVX2
code, while oneDNN - the library PyTorch already uses for every convolution here - has AVX-512
kernels. On an AVX-512 AMD EPYC the UNets' linear layers (attention projections, feed-forwards:
about half of a step) run about twice as fast through oneDNN. Results differ from MKL's only by
fp32 rounding (summation order), like any two BLAS libraries.

Re-measured against bf16 (`scripts/bench.sh --linear-ab`, benchmarks/cpu-speedups-latest.md; one
UNetMotion call, CFG 2 x 8 frames at 256x256, one process): fp32 MKL 22.8 s, fp32 oneDNN 21.0 s (kept:
1.08x on that EPYC, 1.5x on the one of benchmarks/latest.md), bf16 12.5 s, bf16 with oneDNN linear
12.5 s (no gain: bf16 runs keep torch's own kernels, which already go through oneDNN).

On an AVX2-only AMD EPYC (no AVX-512: both libraries run AVX2 code) it still pays, less: one Lightning
step's UNet call (8 frames at 512x512, fp32) 154.0 / 151.1 s with MKL against 146.9 / 142.5 s with oneDNN,
two alternating rounds in one process, output relative difference 2.6e-6 (`python -m benchmarks.fast_profile
--ab candidates`, benchmarks/unet-candidates-latest.json, 2026-12-07).

`use_onednn_linear(model)` switches every `nn.Linear` in a model to that path; parameters and
state_dict are unchanged. It does nothing unless the model is fp32 on the CPU, this PyTorch has
oneDNN, and the CPU is an AVX2 or AVX-512 one not made by Intel (on Intel CPUs MKL has its own
AVX-512 kernels, and both libraries measured the same); ANIMATEDIFF_ONEDNN_LINEAR=0 turns it off, =1 on.
"""

from __future__ import annotations

import os

import torch

from .device import cpuinfo_field


class OneDNNLinear(torch.nn.Linear):
    """An nn.Linear whose forward calls oneDNN's fp32 matmul (falls back to F.linear otherwise)."""

    def forward(self, input: torch.Tensor) -> torch.Tensor:  # noqa: A002 - nn.Linear's own name
        if input.dtype == torch.float32 and input.device.type == "cpu" and not torch.is_grad_enabled():
            try:
                return torch.ops.mkldnn._linear_pointwise(input, self.weight, self.bias, "none", [], "")
            except RuntimeError:  # an input oneDNN does not take: this layer goes back to MKL for good
                self.__class__ = torch.nn.Linear
        return torch.nn.functional.linear(input, self.weight, self.bias)


def cpu_vendor() -> str:
    """'AuthenticAMD', 'GenuineIntel', ... from /proc/cpuinfo; '' where that cannot be read."""
    return cpuinfo_field("vendor_id")


def onednn_linear_wanted() -> bool:
    if not (torch.backends.mkldnn.is_available() and hasattr(torch.ops.mkldnn, "_linear_pointwise")):
        return False
    setting = os.environ.get("ANIMATEDIFF_ONEDNN_LINEAR", "").strip()
    if setting in ("0", "1"):
        return setting == "1"
    return onednn_linear_pays(torch.backends.cpu.get_cpu_capability(), cpu_vendor())


def onednn_linear_pays(capability: str, vendor: str) -> bool:
    """Where oneDNN's fp32 linear was measured faster than MKL's: x86 CPUs with AVX2 or AVX-512 not made
    by Intel (MKL runs its AVX2 code there). Intel CPUs and unknown vendors keep MKL."""
    return capability in ("AVX2", "AVX512") and vendor not in ("", "GenuineIntel")


def use_onednn_linear(model: torch.nn.Module) -> int:
    """Switch the model's fp32 CPU linear layers to oneDNN; returns how many were switched."""
    if not onednn_linear_wanted():
        return 0
    switched = 0
    for module in model.modules():
        if type(module) is torch.nn.Linear and module.weight.device.type == "cpu" and module.weight.dtype == torch.float32:
            module.__class__ = OneDNNLinear
            switched += 1
    return switched
