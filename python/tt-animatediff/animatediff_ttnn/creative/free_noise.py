"""FreeNoise (Qiu et al. 2023) written out for our own motion modules: windows, weights, noise.

Phase 1 lets diffusers do this (long_clips.py switches on its `FreeNoiseTransformerBlock`). Phase 3's
frame loop runs our TemporalTransformer, so it needs the same three pieces, computed exactly as
diffusers 0.42 computes them (tests/python/test_phase3_creative.py compares the two phases):

1. Windows: a motion block's two frame attentions run on windows of `context_length` frames,
   `context_stride` apart; when the last window does not end on the last frame, one more window
   ends there. Each window sees frame positions 0..length-1, so no frame ever gets a position the
   module was not trained on.
2. Weights: a frame inside several windows gets the weighted mean of their results (pyramid:
   1, 2, .., 2, 1 across a window; flat; delayed_reverse_sawtooth). The feed-forward then runs once
   on the blended frames. (Nothing else of the module is windowed: its GroupNorm and projections
   see all frames.)
3. Noise: frames after the first window start from a shuffle of earlier frames' noise
   (shuffle_context), so the content stays consistent along the clip.
"""

from __future__ import annotations

from typing import Callable, List, Tuple

import torch


def frame_windows(num_frames: int, length: int, stride: int) -> Tuple[List[Tuple[int, int]], int]:
    """The (start, end) windows over `num_frames`, and how many trailing frames the last window adds
    (0 when the regular windows already end on the last frame). diffusers' `_get_frame_indices`."""
    if num_frames < length:
        raise ValueError(f"context_length: a window of {length} frames needs at least {length} frames, got {num_frames}")
    windows = [(start, min(num_frames, start + length)) for start in range(0, num_frames - length + 1, stride)]
    tail = 0
    if windows[-1][1] != num_frames:
        tail = num_frames - windows[-1][1]
        windows.append((num_frames - length, num_frames))
    return windows, tail


def window_weights(length: int, scheme: str) -> List[float]:
    """Per-frame weight inside a window (diffusers' `_get_frame_weights`)."""
    half = length // 2 if length % 2 == 0 else (length + 1) // 2
    if scheme == "flat":
        return [1.0] * length
    if scheme == "pyramid":  # 4 -> [1, 2, 2, 1]; 5 -> [1, 2, 3, 2, 1]
        rise = list(range(1, half + 1)) if length % 2 == 0 else list(range(1, half))
        return [float(w) for w in (rise + rise[::-1] if length % 2 == 0 else rise + [half] + rise[::-1])]
    if scheme == "delayed_reverse_sawtooth":  # 4 -> [0.01, 2, 2, 1]; 5 -> [0.01, 0.01, 3, 2, 1]
        low = [0.01] * (half - 1) + [half] if length % 2 == 0 else [0.01] * half
        return [float(w) for w in low + list(range(half, 0, -1))]
    raise ValueError(f"context_weighting: unknown scheme {scheme!r}")


def windowed(part: Callable[[torch.Tensor], torch.Tensor], tokens: torch.Tensor, length: int, stride: int,
             scheme: str) -> torch.Tensor:
    """`part` (the attention half of a motion block: (N, L, C) -> (N, L, C)) over every window of
    `tokens` (N, F, C), blended per frame with the window weights."""
    num_frames = tokens.shape[1]
    windows, tail = frame_windows(num_frames, length, stride)
    weights = torch.tensor(window_weights(length, scheme), device=tokens.device, dtype=tokens.dtype)[None, :, None]
    total = torch.zeros_like(tokens)
    counts = torch.zeros((1, num_frames, 1), device=tokens.device)  # fp32, as diffusers keeps it
    for i, (start, end) in enumerate(windows):
        out = part(tokens[:, start:end])
        w = torch.ones_like(counts[:, start:end]) * weights
        if tail and i == len(windows) - 1:
            # the added last window only fills the frames no regular window reached. diffusers counts
            # them with the weight of the first of those frames for all of them (`weights[:, -tail]`,
            # an index, not a slice); we do the same so both phases blend identically.
            total[:, -tail:] += out[:, -tail:] * w[:, -tail:]
            counts[:, -tail:] += w[:, -tail]
        else:
            total[:, start:end] += out * w
            counts[:, start:end] += w
    # diffusers divides in context_length-sized pieces (a memory measure); the result is the same
    return torch.where(counts > 0, total / counts, total).to(tokens.dtype)


def shuffle_noise(latents: torch.Tensor, length: int, stride: int, generator: torch.Generator) -> torch.Tensor:
    """shuffle_context: from frame `length` on, every `stride` frames take a random permutation of the
    `stride` frames one window earlier (diffusers' `_prepare_latents_free_noise`, the same draws
    from the same generator). latents (B, C, F, h, w), changed in place and returned."""
    num_frames = latents.shape[2]
    for i in range(length, num_frames, stride):
        start = max(0, i - length)
        end = min(num_frames, start + stride)
        if end == start:
            break
        indices = torch.arange(start, end)[torch.randperm(end - start, generator=generator)]
        count = min(num_frames, i + len(indices)) - i
        latents[:, :, i:i + count] = latents[:, :, indices[:count]]
    return latents


def repeat_noise(latents: torch.Tensor, length: int) -> torch.Tensor:
    """repeat_context: the first window's noise again and again (B, C, F, h, w)."""
    num_frames = latents.shape[2]
    repeats = -(-num_frames // length)
    return torch.cat([latents[:, :, :length]] * repeats, dim=2)[:, :, :num_frames]


def window_noise(latents: torch.Tensor, windows, generator: torch.Generator) -> torch.Tensor:
    """The starting noise of a windowed run from the plain draw (B, C, F, h, w) and the generator
    that drew it; `windows` a long_clips.ContextWindows or None. Both phases start from this.
    (diffusers 0.42 draws its repeat_context noise for every frame and then repeats that whole
    draw, so there it is the same as random; here it repeats the first window, as documented.)"""
    if windows is None or windows.noise_type == "random":
        return latents
    if windows.noise_type == "repeat_context":
        return repeat_noise(latents, windows.context_length)
    return shuffle_noise(latents, windows.context_length, windows.context_stride, generator)
