"""Dtype by capability, and bf16 against fp32 on the tiny models within a stated tolerance."""

import os
import subprocess
import sys

import numpy as np
import pytest
import torch

from animatediff_ttnn.runtime import device
from animatediff_ttnn.params import GenerationParams

from conftest import SMALL


def test_dtype_follows_the_hardware(monkeypatch):
    monkeypatch.setattr(device, "cpu_bf16_support", lambda: "avx512_bf16")
    monkeypatch.setattr(device, "onednn_bf16", lambda: True)
    assert device.choose_dtype(torch.device("cpu"))[0] == torch.bfloat16
    monkeypatch.setattr(device, "onednn_bf16", lambda: False)  # the CPU has it, oneDNN will not use it
    dtype, reason = device.choose_dtype(torch.device("cpu"))
    assert dtype == torch.float32 and "oneDNN" in reason
    monkeypatch.setattr(device, "cpu_bf16_support", lambda: "")
    dtype, reason = device.choose_dtype(torch.device("cpu"))
    assert dtype == torch.float32 and "no native bf16" in reason
    assert device.choose_dtype(torch.device("cuda"))[0] == torch.float16
    assert device.choose_dtype(torch.device("cpu"), "bfloat16") == (torch.bfloat16, "asked for explicitly")
    with pytest.raises(ValueError, match="dtype"):
        device.choose_dtype(torch.device("cpu"), "int8")


# What choose_dtype says in a fresh process: oneDNN reads ONEDNN_MAX_CPU_ISA once, when it starts.
# `cpu_bf16_support` (what the CPU reports) is set to the AVX-512 BF16 CPU this is about, so the test
# also means something on a CPU without it (like CI's); oneDNN's answer is the real one.
CHOOSE_IN_A_FRESH_PROCESS = """
import torch
from animatediff_ttnn.runtime import device
if {claim_bf16}:
    device.cpu_bf16_support = lambda: "avx512_bf16"
dtype, reason = device.choose_dtype(torch.device("cpu"))
print(device.dtype_name(dtype)); print(reason)
"""


def choose_in_a_fresh_process(claim_bf16: bool, **env: str):
    run = subprocess.run([sys.executable, "-c", CHOOSE_IN_A_FRESH_PROCESS.format(claim_bf16=claim_bf16)],
                         env={**os.environ, **env}, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    dtype, reason = run.stdout.strip().splitlines()
    return dtype, reason


def test_onednn_capped_below_bf16_gives_fp32_and_says_why():
    """ONEDNN_MAX_CPU_ISA=AVX2 (a common workaround for oneDNN bugs) keeps oneDNN off the bf16 kernels
    even on a CPU with native bf16; bf16 matmuls then take torch's fallback path (measured 2.5 s vs
    23 ms for the same product, issue 20). The choice follows what oneDNN will run, not the CPU flag."""
    dtype, reason = choose_in_a_fresh_process(True, ONEDNN_MAX_CPU_ISA="AVX2")
    assert dtype == "float32", reason
    assert "oneDNN" in reason and "ONEDNN_MAX_CPU_ISA=AVX2" in reason, reason


def test_without_a_cap_a_native_bf16_cpu_gets_bf16():
    """The other side, on real hardware only: needs a CPU whose oneDNN runs bf16 natively."""
    from animatediff_ttnn.runtime.device import cpu_bf16_support, onednn_bf16

    if not (cpu_bf16_support() and onednn_bf16()):
        pytest.skip("this CPU (or its oneDNN) has no native bf16: only the fp32 side can be checked here")
    dtype, reason = choose_in_a_fresh_process(False)
    assert dtype == "bfloat16" and "oneDNN" in reason, reason


def psnr(a, b):
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float("inf") if mse == 0 else 10 * np.log10(255.0**2 / mse)


def test_phase1_bf16_matches_fp32_within_tolerance(tiny_models):
    """bf16 weights and activations, fp32 scheduler and latents: the frames stay within 30 dB PSNR
    of fp32 (measured ~45 dB on the tiny models; PSNR of decoded frames on full-size weights is in
    the benchmark). A run in bf16 that silently dropped to fp32 would be caught by the dtype check."""
    from animatediff_ttnn.pipeline import Phase1Pipeline

    p = GenerationParams(prompt="a red fox running", num_frames=4, steps=3, seed=7, **SMALL)
    frames = {}
    for dtype in ("float32", "bfloat16"):
        pipeline, _ = Phase1Pipeline.from_sources(tiny_models["sd"], tiny_models["motion_adapter"], device="cpu",
                                                  dtype=dtype)
        assert pipeline.pipe.unet.dtype == pipeline.pipe.vae.dtype == pipeline.pipe.text_encoder.dtype
        assert pipeline.describe()["dtype"] == dtype
        frames[dtype] = np.stack([np.asarray(f) for f in pipeline.generate(p)])
    assert not np.array_equal(frames["float32"], frames["bfloat16"])  # bf16 really ran
    assert psnr(frames["float32"], frames["bfloat16"]) > 30


def test_phase2_torch_backend_bf16_matches_fp32_within_tolerance(tiny_models):
    from animatediff_ttnn.ttnn_pipeline import Phase2Pipeline

    p = GenerationParams(prompt="a lighthouse at night", num_frames=2, steps=3, seed=11, **SMALL)
    frames = {}
    for dtype in ("float32", "bfloat16"):
        pipeline, _ = Phase2Pipeline.from_sources(tiny_models["sd"], backend="torch", device="cpu", dtype=dtype)
        frames[dtype] = np.stack([np.asarray(f) for f in pipeline.generate(p)])
        assert pipeline.describe()["dtype"] == dtype
    assert not np.array_equal(frames["float32"], frames["bfloat16"])
    assert psnr(frames["float32"], frames["bfloat16"]) > 30


def test_phase2_on_a_blackhole_card_gets_fp32_weights_cli_and_studio_alike(monkeypatch):
    """One function decides: tt-metal's TTNN UNet is built from fp32 torch weights, whether the run
    comes from the CLI (from_sources) or the studio (studio_api.choose_dtype, the sidecar's cache)."""
    from animatediff_ttnn import studio_api
    from animatediff_ttnn.backends import tt_metal
    from animatediff_ttnn.backends.choice import resolve_backend

    monkeypatch.setattr(device, "cpu_bf16_support", lambda: "avx512_bf16")
    monkeypatch.setattr(device, "onednn_bf16", lambda: True)
    # a card that is there, as far as the backend choice can tell (no card is needed to pick a dtype)
    monkeypatch.setattr(tt_metal, "detect_blackhole", lambda: tt_metal.DeviceStatus(True, 1, "a test card"))
    choice = resolve_backend("auto", 2)
    assert choice.resolved == "blackhole"
    cpu = torch.device("cpu")
    for choose in (device.choose_dtype, studio_api.choose_dtype):
        dtype, reason = choose(cpu, None, phase=2, backend=choice.resolved)
        assert dtype == torch.float32 and "TTNN UNet" in reason
        assert choose(cpu, "auto", phase=2, backend="blackhole")[0] == torch.float32
        assert choose(cpu, "bfloat16", phase=2, backend="blackhole") == (torch.bfloat16, "asked for explicitly")
        assert choose(cpu, None, phase=2, backend="torch")[0] == torch.bfloat16  # the torch loop: the CPU's native
        assert choose(cpu, None, phase=3, backend="blackhole")[0] == torch.bfloat16  # only Phase 2's demo UNet
