"""Cheap live previews: SD 1.x latents to RGB with a fixed linear map instead of the VAE.

A 4-channel latent pixel maps to RGB almost linearly; the widely used approximation for SD 1.x
(first published by keturn in the diffusers discussions) is a 4x3 matrix applied to the
scheduler's *predicted clean latents* x0. Using x0 rather than the noisy x_t shows the picture
the model is aiming for from the first steps on. Cost: one tiny matmul per frame (~ms).
"""

from __future__ import annotations

from typing import List

import torch
from PIL import Image

# rows: latent channels 0..3, columns: R, G, B. Applied to latents as the UNet sees them
# (already multiplied by the VAE scaling factor 0.18215). Output is roughly in [-1, 1].
SD1_LATENT_TO_RGB = torch.tensor(
    [
        [0.298, 0.207, 0.208],
        [0.187, 0.286, 0.173],
        [-0.158, 0.189, 0.264],
        [-0.184, -0.271, -0.473],
    ]
)


def predicted_x0(latents: torch.Tensor, noise: torch.Tensor, alpha_cumprod: float) -> torch.Tensor:
    """x0 from an epsilon prediction: x_t = sqrt(a) x0 + sqrt(1 - a) eps, solved for x0."""
    return (latents - (1.0 - alpha_cumprod) ** 0.5 * noise) / alpha_cumprod**0.5


def latents_to_previews(latents: torch.Tensor) -> List[Image.Image]:
    """(N, 4, h, w) latents -> N RGB images of h x w pixels (1/8 of the output size)."""
    if latents.ndim != 4 or latents.shape[1] != 4:
        raise ValueError(f"expected (N, 4, h, w) latents, got {tuple(latents.shape)}")
    rgb = torch.einsum("nchw,cr->nhwr", latents.detach().float().cpu(), SD1_LATENT_TO_RGB)
    pixels = ((rgb + 1.0) * 127.5).clamp(0, 255).to(torch.uint8).numpy()
    return [Image.fromarray(frame) for frame in pixels]


def video_latents_to_previews(latents: torch.Tensor) -> List[Image.Image]:
    """Phase 1 latents (1, 4, F, h, w) -> F previews."""
    if latents.ndim != 5:
        raise ValueError(f"expected (B, 4, F, h, w) latents, got {tuple(latents.shape)}")
    return latents_to_previews(latents[0].permute(1, 0, 2, 3))
