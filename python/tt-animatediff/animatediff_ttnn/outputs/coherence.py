"""A temporal-coherence figure for a clip: does it stand still, wobble, move, or flicker?

Three well-known video measures over every pair of consecutive frames (grayscale, the longer side
reduced to at most 128 pixels so a 512x512 clip costs milliseconds):

- similarity: mean SSIM (Wang et al. 2004; 7x7 window) of frame t and frame t+1. 1 = identical.
- motion_px:  mean length of block-matching motion vectors (8x8 blocks, as video codecs search), in
              output pixels per frame. How far the content moves. The search starts at +-4 analysis
              pixels and widens once, to +-8, when many blocks find their best match on its border
              and the wider search explains the frame clearly better (flicker also hits the border,
              but a wider search explains it no better). So it measures up to 8 analysis pixels per
              frame along each axis - 8 x (side / 128) output pixels: 32 at 512x512, 16 at 256x256.
              Faster motion is not followed: it reads like flicker, with a large residual. That is the
              figure's range, and lesson 09 (Phase 3) says it where the figure is taught.
- residual:   mean absolute difference (0..255) between frame t+1 and frame t moved by those vectors
              (the codec's motion-compensated prediction error): what motion does not explain.

Read together: a still clip has similarity ~1 and no motion; Phase 2's "wobble" keeps similarity
high with little motion; real motion (Phases 1 and 3) has motion_px > 0 with a small residual;
flicker has low similarity and a large residual whatever the vectors say.
"""

from __future__ import annotations

from typing import Dict, List, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

ANALYSIS_SIDE = 128
BLOCK = 8
SEARCH = 4  # the first search range, in analysis pixels (a codec's usual small window)
MAX_SEARCH = 8  # the widest (a 128-pixel analysis frame: a sixteenth of it each way)
BORDER_SHARE = 0.2  # try a wider search when this share of blocks has its best match on the border...
WIDER_GAIN = 0.7  # ...and keep it when it leaves at most this share of the error: real motion found, not noise
MOTION_PENALTY = 0.5  # levels per pixel of vector length: a flat block keeps the zero vector, as in codecs


def gray_frames(frames: Sequence[Image.Image]) -> torch.Tensor:
    """(F, 1, h, w) float grayscale 0..255, reduced (box filter) so the longer side <= 128."""
    width, height = frames[0].size
    factor = max(1, -(-max(width, height) // ANALYSIS_SIDE))
    size = (max(1, width // factor), max(1, height // factor))
    arrays = [np.asarray(f.convert("L").resize(size, Image.BOX), dtype=np.float32) for f in frames]
    return torch.from_numpy(np.stack(arrays))[:, None]


def ssim(a: torch.Tensor, b: torch.Tensor, window: int = 7) -> float:
    """Mean SSIM of two (1, 1, h, w) images in 0..255 (uniform window, K1 = 0.01, K2 = 0.03)."""
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    window = min(window, a.shape[-1], a.shape[-2])
    mean = lambda x: F.avg_pool2d(x, window, stride=1)  # noqa: E731
    mu_a, mu_b = mean(a), mean(b)
    var_a, var_b = mean(a * a) - mu_a**2, mean(b * b) - mu_b**2
    cov = mean(a * b) - mu_a * mu_b
    value = ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / ((mu_a**2 + mu_b**2 + c1) * (var_a + var_b + c2))
    return float(value.mean())


def block_motion(a: torch.Tensor, b: torch.Tensor):
    """Best vector per block of `a` into `b` and the compensated mean abs error; (1, 1, h, w) inputs.
    The search widens (SEARCH, doubling up to MAX_SEARCH) while the motion runs into its border and the
    wider search explains clearly more (flicker hits the border too, but a wider search explains little
    of it, so it rarely pays for the wider search's four times the offsets)."""
    search = SEARCH
    lengths, error, on_border = _search(a, b, search)
    while search < MAX_SEARCH and float(on_border.float().mean()) >= BORDER_SHARE:
        wider = _search(a, b, search * 2)
        if float(wider[1].mean()) > WIDER_GAIN * float(error.mean()):
            break
        search *= 2
        lengths, error, on_border = wider
    return lengths, error


def _search(a: torch.Tensor, b: torch.Tensor, search: int):
    h, w = (a.shape[-2] // BLOCK) * BLOCK, (a.shape[-1] // BLOCK) * BLOCK
    a = a[..., :h, :w]
    padded = F.pad(b[..., :h, :w], (search,) * 4, mode="replicate")
    costs, lengths, border = [], [], []
    for dy in range(-search, search + 1):
        for dx in range(-search, search + 1):
            moved = padded[..., search + dy: search + dy + h, search + dx: search + dx + w]
            costs.append(F.avg_pool2d((a - moved).abs(), BLOCK)[0, 0])
            lengths.append(float(np.hypot(dy, dx)))
            border.append(max(abs(dy), abs(dx)) == search)
    costs_t = torch.stack(costs)  # (offsets, h/8, w/8)
    length_t = torch.tensor(lengths)[:, None, None]
    best = (costs_t + MOTION_PENALTY * length_t).argmin(dim=0)
    error = costs_t.gather(0, best[None])[0]
    return length_t[:, 0, 0][best], error, torch.tensor(border)[best]


def temporal_coherence(frames: Sequence[Image.Image]) -> Dict[str, float]:
    """{similarity, motion_px, residual} averaged over consecutive frame pairs (see module doc)."""
    if len(frames) < 2:
        return {"similarity": 1.0, "motion_px": 0.0, "residual": 0.0}
    gray = gray_frames(frames)
    scale = frames[0].size[0] / gray.shape[-1]  # analysis pixels -> output pixels
    similarity: List[float] = []
    motion: List[float] = []
    residual: List[float] = []
    for t in range(len(frames) - 1):
        a, b = gray[t: t + 1], gray[t + 1: t + 2]
        similarity.append(ssim(a, b))
        vectors, error = block_motion(a, b)
        motion.append(float(vectors.mean()) * scale)
        residual.append(float(error.mean()))
    return {
        "similarity": round(float(np.mean(similarity)), 4),
        "motion_px": round(float(np.mean(motion)), 3),
        "residual": round(float(np.mean(residual)), 3),
    }
