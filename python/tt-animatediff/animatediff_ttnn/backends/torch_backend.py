"""Phase 2's UNet backend for any torch device: diffusers' SD UNet and PNDM scheduler.

It runs exactly the loop the Blackhole backend runs, so the algorithm can be learned (and its
constants tuned) on a laptop before it goes to the card. The UNet runs in its own dtype (bf16 on
CPUs with native bf16, see runtime/device.py); the latents and PNDM's arithmetic stay fp32.
`PndmOnHost` (the scheduler half) is shared with the Blackhole backend, whose loop also keeps its
latents and PNDM on the host and sends only the UNet call to the card.
"""

from __future__ import annotations

from typing import Any, Dict, List

import torch


class PndmOnHost:
    """The scheduler half of a Phase 2 backend: diffusers' PNDM in float32 on `self.device`, a fresh one
    per frame. Subclasses set `device` and `scheduler_config` and provide the UNet call (`guided_noise`)."""

    device: torch.device
    scheduler_config: Dict[str, Any]
    scheduler: Any = None

    def reset_scheduler(self, num_inference_steps: int) -> List[int]:
        from diffusers import PNDMScheduler

        # PNDM keeps its past noise predictions (`ets`) and a step counter; set_timesteps clears
        # both, so reusing one instance would be safe too. A fresh instance per frame just makes
        # "no frame inherits another's history" obvious at a glance, and costs nothing.
        self.scheduler = PNDMScheduler.from_config(self.scheduler_config)
        self.scheduler.set_timesteps(num_inference_steps)
        return [int(t) for t in self.scheduler.timesteps]

    def to_native(self, latents: torch.Tensor) -> torch.Tensor:
        return latents.to(self.device, torch.float32)

    def to_torch(self, latents_native: torch.Tensor) -> torch.Tensor:
        return latents_native.detach().float().cpu()

    @torch.no_grad()
    def scheduler_step(self, noise_native, step_index: int, timestep: int, latents_native):
        if self.scheduler is None:
            raise RuntimeError("call reset_scheduler before scheduler_step")
        return self.scheduler.step(noise_native.float(), timestep, latents_native.float()).prev_sample


class TorchUNetBackend(PndmOnHost):
    name = "torch"
    vae = None  # frames are decoded with the torch VAE (backends/vae_backend.py)

    def __init__(self, unet, scheduler_config: Dict[str, Any]):
        from ..runtime.cpu_memory import keep_freed_memory
        from ..runtime.cpu_speedups import use_onednn_linear

        use_onednn_linear(unet)  # fp32 on AMD CPUs: linear layers faster (runtime/cpu_speedups.py)
        keep_freed_memory(unet.device)  # on the CPU: reuse each step's freed memory (runtime/cpu_memory.py)
        self.unet = unet
        self.scheduler_config = dict(scheduler_config)
        self.device = unet.device
        self.dtype = unet.dtype
        self.device_description = f"torch {self.device.type} (UNet {str(self.dtype).replace('torch.', '')}, scheduler float32)"
        self.scheduler = None

    def prepare_text_embeddings(self, embeddings: torch.Tensor) -> torch.Tensor:
        return embeddings.to(self.device, self.dtype)

    @torch.no_grad()
    def guided_noise(self, latents_native, step_index: int, timestep: int, embeddings_native, guidance_scale: float):
        batch = torch.cat([latents_native, latents_native])
        batch = self.scheduler.scale_model_input(batch, timestep).to(self.dtype)
        noise = self.unet(batch, timestep, encoder_hidden_states=embeddings_native).sample.float()
        uncond, cond = noise.chunk(2)
        return uncond + guidance_scale * (cond - uncond)

    def close(self) -> None:
        pass
