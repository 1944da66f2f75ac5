"""A short calibration of this machine, for an estimate before its first run (runtime/estimate.py).

It times a slice of what a denoising step does at SD's first UNet level - one resnet (two 3x3
convolutions at 320 channels), one spatial transformer block (self- and cross-attention, GEGLU) and one
motion-module attention across frames - on random weights, at a 32x32 latent for 2 frames x [negative,
prompt], in the dtype the run would use, on the torch threads the run would use. No model file is read:
it works before the download. The best of a few repeats after a warm-up takes a fraction of a second.

The same slice was timed on the machine whose runs are in runtime/reference_runs.py, in the same
benchmark run as those runs (`python -m benchmarks.first_run`); the ratio of the two times scales them.
"""

from __future__ import annotations

import time
from typing import Dict, Tuple

import torch

CHANNELS, SIDE, FRAMES, BATCH = 320, 32, 2, 2
REPEATS = 5
SLOW_S = 2.0  # a warm-up pass this slow is measurement enough: no repeats (a busy or slow machine)
_cache: Dict[Tuple[str, int], float] = {}  # (dtype, threads) -> seconds: one calibration per process


def calibrate(dtype: torch.dtype, repeats: int = REPEATS) -> float:
    """Seconds for one pass of the slice (best of `repeats`), cached for this process."""
    key = (str(dtype).replace("torch.", ""), torch.get_num_threads())
    if key not in _cache:
        _cache[key] = _measure(dtype, repeats)
    return _cache[key]


def _measure(dtype: torch.dtype, repeats: int) -> float:
    from diffusers.models.attention import BasicTransformerBlock
    from diffusers.models.resnet import ResnetBlock2D

    generator = torch.Generator().manual_seed(0)
    images = FRAMES * BATCH
    tokens = SIDE * SIDE
    with torch.random.fork_rng(devices=[]):  # random weights without touching the caller's random state
        torch.manual_seed(0)
        resnet = ResnetBlock2D(in_channels=CHANNELS, out_channels=CHANNELS, temb_channels=1280).to(dtype).eval()
        spatial = BasicTransformerBlock(CHANNELS, 8, CHANNELS // 8, cross_attention_dim=768).to(dtype).eval()
        temporal = BasicTransformerBlock(CHANNELS, 8, CHANNELS // 8, positional_embeddings="sinusoidal",
                                         num_positional_embeddings=32).to(dtype).eval()
    x = torch.randn(images, CHANNELS, SIDE, SIDE, generator=generator).to(dtype)
    temb = torch.randn(images, 1280, generator=generator).to(dtype)
    text = torch.randn(images, 77, 768, generator=generator).to(dtype)

    def once() -> None:
        h = resnet(x, temb)
        seq = h.permute(0, 2, 3, 1).reshape(images, tokens, CHANNELS)
        seq = spatial(seq, encoder_hidden_states=text)
        frames = seq.reshape(BATCH, FRAMES, tokens, CHANNELS).permute(0, 2, 1, 3).reshape(BATCH * tokens, FRAMES, CHANNELS)
        temporal(frames)

    with torch.inference_mode():
        t0 = time.perf_counter()
        once()  # warm-up: kernels chosen, memory allocated
        best = time.perf_counter() - t0
        if best > SLOW_S:
            return best
        best = float("inf")
        for _ in range(repeats):
            t0 = time.perf_counter()
            once()
            best = min(best, time.perf_counter() - t0)
    return best
