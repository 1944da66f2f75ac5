"""The seam between Phase 2's denoising loop and the hardware that runs the UNet.

`ttnn_pipeline.denoise_frames` runs one loop for every backend. A backend owns the UNet, the
scheduler and the tensor format they use; the loop only ever calls the methods below, so the
torch backend (any torch device) and the blackhole backend (tt-metal's TTNN UNet) execute the
very same algorithm. Tensors named `*_native` are whatever the backend uses internally
(a torch.Tensor for torch, a ttnn.Tensor for blackhole); the loop never looks inside them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Optional, Protocol, Sequence

if TYPE_CHECKING:  # annotations only: tt_metal imports BackendUnavailable from here and must work without torch
    import torch

    from .vae_backend import VaeBackend


class UNetBackend(Protocol):
    name: str  # "torch" or "blackhole"
    device_description: str  # shown to the user and stored in the run metadata
    vae: Optional[VaeBackend]  # a VAE on the backend's own hardware, or None: the torch VAE decodes

    def prepare_text_embeddings(self, embeddings: torch.Tensor) -> Any:
        """Take CLIP output `[uncond, cond]` of shape (2, 77, 768) once per run.

        Returns the backend's form of it (blackhole pads 77 -> 96 tokens and uploads)."""

    def reset_scheduler(self, num_inference_steps: int) -> Sequence[int]:
        """Start a fresh scheduler for one frame (PNDM keeps a history, so it must not leak
        between frames) and return its timesteps as plain ints."""

    def to_native(self, latents: torch.Tensor) -> Any:
        """Torch latents (1, 4, H/8, W/8), float32 on CPU, to the backend's form."""

    def to_torch(self, latents_native: Any) -> torch.Tensor:
        """Backend latents back to torch (1, 4, H/8, W/8), float32 on CPU."""

    def guided_noise(
        self, latents_native: Any, step_index: int, timestep: int, embeddings_native: Any, guidance_scale: float
    ) -> Any:
        """One UNet call on the batch [uncond, cond] and classifier-free guidance:
        uncond + guidance_scale * (cond - uncond)."""

    def scheduler_step(self, noise_native: Any, step_index: int, timestep: int, latents_native: Any) -> Any:
        """One scheduler step; returns the latents for the next timestep."""

    def close(self) -> None:
        """Release the device (no-op for torch)."""


class BackendUnavailable(RuntimeError):
    """A backend was asked for explicitly but cannot run here; the message says why and what to do."""
