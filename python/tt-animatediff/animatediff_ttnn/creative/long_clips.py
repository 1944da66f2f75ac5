"""Clips longer than the motion module's window: FreeNoise context windows (Qiu et al. 2023).

A motion module attends over at most `motion_max_seq_length` frames, the length of its position table
(32 for v1-5-2; it was trained on 16-frame clips). FreeNoise lets it render more: its temporal attention
runs over overlapping windows of
`context_length` frames, `context_stride` frames apart, and each frame's result is the weighted
average of the windows it is in (`weighting`: flat, pyramid or delayed_reverse_sawtooth). The
starting noise of later windows is a shuffle of the first window's (`noise_type` shuffle_context),
a repeat (repeat_context) or fresh (random), which keeps the content consistent along the clip.

diffusers implements this (`AnimateDiffPipeline.enable_free_noise`, `FreeNoiseTransformerBlock`).
We use it as is, with two differences in *how* it is switched on, not in the math:
- diffusers replaces each temporal transformer block by a new FreeNoise block holding a *copy* of its
  weights; here the FreeNoise block shares the original's tensors (no second ~1.7 GB of motion
  weights at full size) and is switched back after the run, so one loaded model serves runs with
  and without windows.
- with windows, the UNet's spatial layers and the motion modules run in slices (diffusers'
  `enable_free_noise_split_inference`), so peak memory stays bounded as the frame count grows
  (measured in benchmarks/: 16 vs 64 frames); the VAE already decodes 2 frames at a time.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Iterator, Optional

import torch

from ..params import ParamError

# Slices for split inference: diffusers' defaults (frames per spatial-layer call, pixels per motion-module call).
TEMPORAL_SPLIT_FRAMES = 16
SPATIAL_SPLIT_PIXELS = 256


@dataclass(frozen=True)
class ContextWindows:
    """Resolved FreeNoise settings for one run."""

    context_length: int
    context_stride: int
    weighting: str = "pyramid"
    noise_type: str = "shuffle_context"
    split_inference: bool = True

    def describe(self) -> dict:
        return {"context_length": self.context_length, "context_stride": self.context_stride,
                "weighting": self.weighting, "noise_type": self.noise_type, "split_inference": self.split_inference}


def resolve_windows(num_frames: int, max_frames: int, context_length: int = 0, context_stride: int = 4,
                    weighting: str = "pyramid", noise_type: str = "shuffle_context",
                    force: bool = False) -> Optional[ContextWindows]:
    """Decide whether FreeNoise runs, checking the window against the adapter (the ranges and choices
    of each field are params.PARAMETERS', checked before this).

    `context_length` 0 means "automatic": windows of the position table's length (`max_frames`, 32 for
    v1-5-2) switch on only when the clip is longer than that. Not the trained length (16), which diffusers
    recommends for windows: up to the table's length a clip runs in one pass, as diffusers runs it without
    FreeNoise and as the Blackhole port (no windows) must; lesson 10 (Longer and directed) says so and how to ask for 16. `force` (a prompt schedule needs diffusers' FreeNoise prompt path) switches
    them on even for a short clip, as one window over all frames - the same computation as without
    windows. Returns None when no windows are needed.
    """
    if context_length > max_frames:
        raise ParamError("context_length", f"{context_length} is above this motion adapter's position table "
                                           f"(motion_max_seq_length = {max_frames})")
    if not context_length and num_frames > max_frames:
        context_length = max_frames
    if not context_length and not force:
        return None
    # FreeNoise needs at least one full window; a shorter clip is one window over all its frames.
    length = min(context_length or num_frames, num_frames)
    if context_stride > length:
        raise ParamError("context_stride", f"{context_stride} is longer than the window ({length} frames): frames "
                                           "between windows would never be denoised")
    return ContextWindows(length, context_stride, weighting, noise_type, split_inference=num_frames > length)


@contextlib.contextmanager
def free_noise_enabled(pipe, windows: Optional[ContextWindows]) -> Iterator[None]:
    """FreeNoise on `pipe` (an AnimateDiffPipeline) for the duration of the block, then off again."""
    if windows is None:
        yield
        return
    unet = pipe.unet
    swapped = _swap_in_free_noise_blocks(unet)
    try:
        # The blocks are FreeNoise blocks already, so diffusers only sets their window properties.
        pipe.enable_free_noise(context_length=windows.context_length, context_stride=windows.context_stride,
                               weighting_scheme=windows.weighting, noise_type=windows.noise_type)
        if windows.split_inference:
            pipe.enable_free_noise_split_inference(SPATIAL_SPLIT_PIXELS, TEMPORAL_SPLIT_FRAMES)
        yield
    finally:
        _unwrap_split_inference(unet)
        for blocks, index, original in swapped:
            blocks[index] = original
        pipe._free_noise_context_length = None  # what diffusers' disable_free_noise resets (its blocks are ours)


def _swap_in_free_noise_blocks(unet):
    """Put a weight-sharing FreeNoise twin in place of every temporal transformer block."""
    from .motion_scale import motion_modules

    twins = unet.__dict__.setdefault("_free_noise_twins", {})  # built once per loaded model
    swapped = []
    for module in motion_modules(unet):
        for i, block in enumerate(module.transformer_blocks):
            if id(block) not in twins:
                twins[id(block)] = (block, _free_noise_twin(block))  # keep `block` so its id stays unique
            swapped.append((module.transformer_blocks, i, block))
            module.transformer_blocks[i] = twins[id(block)][1]
    return swapped


def _free_noise_twin(block):
    from diffusers.models.attention import FreeNoiseTransformerBlock

    from ..runtime.cpu_speedups import use_onednn_linear

    with torch.device("meta"):
        twin = FreeNoiseTransformerBlock(
            dim=block.dim, num_attention_heads=block.num_attention_heads, attention_head_dim=block.attention_head_dim,
            dropout=block.dropout, cross_attention_dim=block.cross_attention_dim, activation_fn=block.activation_fn,
            attention_bias=block.attention_bias, only_cross_attention=block.only_cross_attention,
            double_self_attention=block.double_self_attention, positional_embeddings=block.positional_embeddings,
            num_positional_embeddings=block.num_positional_embeddings)
    sources = dict(block.named_modules())
    for name, module in twin.named_modules():
        source = sources.get(name)
        for kind in ("_parameters", "_buffers"):
            for attr, tensor in getattr(module, kind).items():
                other = getattr(source, kind, {}).get(attr) if source is not None else None
                if tensor is not None and (other is None or other.shape != tensor.shape):
                    raise RuntimeError(f"FreeNoise block does not match the motion module at {name}.{attr}")
                getattr(module, kind)[attr] = other
    twin.set_chunk_feed_forward(block._chunk_size, block._chunk_dim)
    use_onednn_linear(twin)  # the same linear kernels as the block it stands in for
    return twin.eval().requires_grad_(False)


def _unwrap_split_inference(unet) -> None:
    """Undo diffusers' enable_free_noise_split_inference: each SplitInferenceModule -> the module it wraps."""
    from diffusers.pipelines.free_noise_utils import SplitInferenceModule

    def unwrap(module):
        return module.module if isinstance(module, SplitInferenceModule) else module

    for block in [*unet.down_blocks, unet.mid_block, *unet.up_blocks]:
        for motion_module in getattr(block, "motion_modules", None) or []:
            motion_module.proj_in = unwrap(motion_module.proj_in)
            motion_module.proj_out = unwrap(motion_module.proj_out)
            for i, b in enumerate(motion_module.transformer_blocks):
                motion_module.transformer_blocks[i] = unwrap(b)
        for name in ("attentions", "resnets", "downsamplers", "upsamplers"):
            for i, m in enumerate(getattr(block, name, None) or []):
                getattr(block, name)[i] = unwrap(m)
