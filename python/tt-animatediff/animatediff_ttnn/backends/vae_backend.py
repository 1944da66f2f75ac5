"""The seam between a finished frame's latents and its picture: which VAE decodes them.

A `VaeBackend` turns one frame's latents as the UNet loop leaves them, (1, 4, h, w), into the decoded
image, (3, H, W) float32 on the CPU in the VAE's range (about -1..1); ttnn_pipeline.decode_frame makes
pixels of it. `TorchVae` (diffusers' AutoencoderKL on its torch device) is every phase's default and
the fallback. A Blackhole backend may bring tt-metal's TTNN VAE on its card as its `vae` attribute
(backends/ttnn_vae.py: not yet run on a card by us); a backend without one has `vae = None`.
"""

from __future__ import annotations

from typing import Any, Optional, Protocol

import torch


class VaeBackend(Protocol):
    name: str  # "torch" or "ttnn"
    description: str  # one line for the run record: what decodes, where, and how

    def decode(self, latents: torch.Tensor) -> torch.Tensor:
        """(1, 4, h, w) latents, unscaled, float32 on the CPU -> (3, H, W) image, float32 on the CPU."""


class TorchVae:
    """diffusers' AutoencoderKL in torch, wherever it was loaded (the CPU with the Blackhole backends)."""

    name = "torch"

    def __init__(self, vae: Any, why: str = "") -> None:
        self.vae = vae
        dtype = str(vae.dtype).replace("torch.", "")
        self.description = f"torch VAE on {vae.device.type} ({dtype})" + (f": {why}" if why else "")

    @torch.no_grad()
    def decode(self, latents: torch.Tensor) -> torch.Tensor:
        vae = self.vae
        scaled = (latents / vae.config.scaling_factor).to(vae.device, vae.dtype)
        return vae.decode(scaled).sample[0].float().cpu()


def vae_for(backend: Any, torch_vae: Any) -> VaeBackend:
    """The VAE a run decodes with: the backend's own on its card when it brought one, else the torch VAE."""
    own: Optional[VaeBackend] = getattr(backend, "vae", None)
    return own if own is not None else TorchVae(torch_vae)
