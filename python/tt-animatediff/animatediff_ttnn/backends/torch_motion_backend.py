"""Phase 3's UNet backend for any torch device: the frame-loop motion UNet (motion_unet.py) in torch.

It runs exactly the loop the Blackhole backend runs, so Phase 3 can be learned on a laptop.
"""

from __future__ import annotations

import torch

from .motion_backend import ScaleOnModel, combine_guidance


class TorchMotionBackend(ScaleOnModel):
    name = "torch"
    vae = None  # frames are decoded with the torch VAE (backends/vae_backend.py)

    def __init__(self, unet, adapter, motion_scale: float = 1.0):
        from ..runtime.cpu_memory import keep_freed_memory
        from ..runtime.cpu_speedups import use_onednn_linear
        from ..motion_unet import FrameLoopMotionUNet

        self.model = FrameLoopMotionUNet.from_adapter(unet, adapter, motion_scale).eval()
        use_onednn_linear(self.model)  # fp32 on AMD CPUs: linear layers faster (runtime/cpu_speedups.py)
        keep_freed_memory(unet.device)  # on the CPU: reuse each step's freed memory (runtime/cpu_memory.py)
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
