"""The seam between Phase 3's denoising loop and the hardware that runs the frame-loop motion UNet.

Like Phase 2's `UNetBackend`, but the scheduler (Phase 1's DDIM, a few element-wise ops per step)
stays in torch in the loop: a backend only turns the latents of all frames into one guided noise
prediction. `torch` runs motion_unet.py on any torch device; `blackhole` (blackhole_motion_backend.py)
runs the same frame loop with tt-metal's TTNN UNet blocks and TTNN motion modules.
"""

from __future__ import annotations

from typing import Any, Optional, Protocol

import torch

from .backend_choice import BackendChoice


class MotionUNetBackend(Protocol):
    name: str  # "torch" or "blackhole"
    device_description: str
    motion_scale: float  # what every motion module adds is multiplied by this (0 = off)

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


class TorchMotionBackend(ScaleOnModel):
    name = "torch"

    def __init__(self, unet, adapter, motion_scale: float = 1.0):
        from .cpu_memory import keep_freed_memory
        from .cpu_speedups import use_onednn_linear
        from .motion_unet import FrameLoopMotionUNet

        self.model = FrameLoopMotionUNet.from_adapter(unet, adapter, motion_scale).eval()
        use_onednn_linear(self.model)  # fp32 on AMD AVX-512 CPUs: linear layers ~2x faster (cpu_speedups.py)
        keep_freed_memory(unet.device)  # on the CPU: reuse each step's freed memory (cpu_memory.py)
        self.device, self.dtype = unet.device, unet.dtype
        self.device_description = f"torch {self.device.type} ({str(self.dtype).replace('torch.', '')})"

    def prepare_text_embeddings(self, embeddings: torch.Tensor) -> torch.Tensor:
        return embeddings.to(self.device, self.dtype)

    @torch.no_grad()
    def guided_noise(self, latents, timestep: int, embeddings_native, guidance_scale: float) -> torch.Tensor:
        batch = torch.cat([latents, latents]).to(self.device, self.dtype)
        noise = self.model(batch, timestep, embeddings_native)
        return combine_guidance(noise, guidance_scale).float().cpu()

    def close(self) -> None:
        pass


def select_motion_backend(choice: BackendChoice, unet, adapter, height: int, width: int,
                          tt_metal_home: Optional[str] = None, num_frames: Optional[int] = None) -> MotionUNetBackend:
    """Build the backend `choice` resolved to (BackendUnavailable for a "blackhole" with no card)."""
    if choice.require() == "blackhole":
        from .blackhole_motion_backend import BlackholeMotionBackend

        # refuses size, architecture, frames and a missing checkout before it opens the device
        return BlackholeMotionBackend(unet, adapter, height, width, num_frames, tt_metal_home=tt_metal_home,
                                      device_status=choice.device)
    return TorchMotionBackend(unet, adapter)
