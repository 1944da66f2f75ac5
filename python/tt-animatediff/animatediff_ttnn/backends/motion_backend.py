"""The seam between Phase 3's denoising loop and the hardware that runs the frame-loop motion UNet.

Like Phase 2's `UNetBackend`, but the scheduler (Phase 1's DDIM, a few element-wise ops per step)
stays in torch in the loop: a backend only turns the latents of all frames into one guided noise
prediction. `torch` (torch_motion_backend.py) runs motion_unet.py on any torch device; `blackhole`
(blackhole_motion_backend.py) runs the same frame loop with tt-metal's TTNN UNet blocks and TTNN motion
modules. motion_pipeline.select_motion_backend picks one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Optional, Protocol

import torch

if TYPE_CHECKING:
    from .vae_backend import VaeBackend


class MotionUNetBackend(Protocol):
    name: str  # "torch" or "blackhole"
    device_description: str
    motion_scale: float  # what every motion module adds is multiplied by this (0 = off)
    vae: Optional[VaeBackend]  # a VAE on the backend's own hardware, or None: the torch VAE decodes

    def prepare_text_embeddings(self, embeddings: torch.Tensor) -> Any:
        """CLIP output `[uncond, cond]`, (2, 77, 768), once per run; returns the backend's form."""

    def guided_noise(self, latents: torch.Tensor, timestep: int, embeddings_native: Any,
                     guidance_scale: float) -> torch.Tensor:
        """Latents of all frames (1, 4, F, h, w) in, guided noise prediction (1, 4, F, h, w) out, both
        float32 torch on the CPU. The UNet always runs the batch [uncond, cond] (the TTNN UNet's batch
        2); as in diffusers, guidance_scale <= 1 keeps only the cond half, otherwise
        uncond + guidance_scale * (cond - uncond)."""

    def close(self) -> None:
        """Release the device (no-op for torch)."""


def combine_guidance(noise: torch.Tensor, guidance_scale: float) -> torch.Tensor:
    """(2, ...) [uncond, cond] predictions -> (1, ...) guided prediction, exactly as AnimateDiffPipeline."""
    uncond, cond = noise.chunk(2)
    if guidance_scale <= 1.0:  # diffusers runs no classifier-free guidance then: the cond prediction alone
        return cond
    return uncond + guidance_scale * (cond - uncond)


class ScaleOnModel:
    """`motion_scale` read from and written to the backend's frame-loop model, which applies it."""

    model: Any

    @property
    def motion_scale(self) -> float:
        return self.model.motion_scale

    @motion_scale.setter
    def motion_scale(self, value: float) -> None:
        self.model.motion_scale = float(value)
