"""tt-metal's TTNN Stable Diffusion VAE decoder as a VaeBackend: a frame decoded on the card.

tt-metal ships it beside its SD 1.4 UNet (tt/vae/ttnn_vae.py, class `Vae`: weights taken from diffusers'
AutoencoderKL, 64x64 latents to a 512x512 RGB image). It is called as tt-metal's perf test calls it
(test_stable_diffusion_vae_trace in models/demos/vision/generative/stable_diffusion/wormhole/tests/
test_perf.py at tt-metal commit df42a59a22860d907f01f28ee2f4ac7ba536d93f; read, not copied): NCHW
latents in a device buffer, permuted to NHWC on the card, decoded, reshaped to (1, 512, 512, 3) and
permuted back. That test asserts PCC >= 0.985 against diffusers' decode and budgets the traced decode
at 0.478 s on Blackhole (tt-metal's figures; ours are unmeasured).

Phase 2 traces it with the UNet (backends/ttnn_trace.py); Phase 3 runs it untraced. ANIMATEDIFF_TTNN_VAE=0
decodes with the CPU VAE instead. NOT RUN ON A CARD BY US: tests/python/test_card_vae.py checks the
plumbing against a stand-in of tt-metal's `Vae`; backends/trace_checks.py compares it with the CPU VAE
on a card.
"""

from __future__ import annotations

import os
from typing import Any, Sequence, Tuple

import torch

from .tt_metal import short_error
from .ttnn_trace import CallFailed, Inputs, Run, open_calls
from .vae_backend import TorchVae, VaeBackend

VAE_ENV = "ANIMATEDIFF_TTNN_VAE"
VAE_PCC = 0.985  # tt-metal's own threshold for its traced VAE against diffusers' (test_perf.py)
IMAGE_CHANNELS = 3


def card_vae_wanted() -> bool:
    """Decode on the card unless ANIMATEDIFF_TTNN_VAE is 0/false/no/off."""
    return os.environ.get(VAE_ENV, "1").strip().lower() not in ("0", "false", "no", "off")


def vae_scale(torch_vae: Any) -> int:
    """Pixels per latent along each side (8 for SD's VAE)."""
    return 2 ** (len(torch_vae.config.block_out_channels) - 1)


def vae_call(ttnn: Any, tt_vae: Any, latent_hw: Sequence[int], scale: int) -> Tuple[Run, Inputs]:
    """What runs on the card for one decode, and its input: (1, 4, h, w) latents already divided by the
    VAE's scaling factor (done on the host, where the latents are)."""
    h, w = latent_hw
    image = (h * scale, w * scale)

    def run(latents: Any) -> Any:
        nhwc = ttnn.permute(latents, (0, 2, 3, 1))  # a new tensor: the decoder never sees the input buffer
        decoded = tt_vae.decode(nhwc)
        decoded = ttnn.reshape(decoded, (1, *image, IMAGE_CHANNELS))
        return ttnn.permute(decoded, (0, 3, 1, 2))

    return run, {"latents": (1, 4, h, w)}


class TtnnVae:
    """`VaeBackend` over a call (ttnn_trace) of tt-metal's VAE; the backend that opened the card owns the call."""

    name = "ttnn"

    def __init__(self, call: Any, scaling_factor: float, image_hw: Sequence[int], how: str) -> None:
        self._call, self._scaling = call, float(scaling_factor)
        self._image_hw = tuple(int(s) for s in image_hw)
        self.description = f"tt-metal TTNN VAE on the Blackhole card ({how}; not yet run on a card by us)"

    def decode(self, latents: torch.Tensor) -> torch.Tensor:
        image = self._call(latents=self._call.host("latents", latents.float() / self._scaling))
        h, w = self._image_hw
        image = image.reshape(-1, *image.shape[-3:])[:1, :IMAGE_CHANNELS, :h, :w]  # any tile padding dropped
        if tuple(image.shape) != (1, IMAGE_CHANNELS, h, w):
            raise RuntimeError(f"the TTNN VAE returned {tuple(image.shape)}, expected (1, 3, {h}, {w})")
        return image[0].contiguous()


def build_tt_vae(sd: Any, device: Any, torch_vae: Any, wanted: bool = True) -> Tuple[Any, str]:
    """tt-metal's `Vae` on the card, its weights taken from the torch VAE by tt-metal's own code - or
    None and why the frames will be decoded on the CPU instead. Needs a card."""
    if not wanted:
        return None, f"{VAE_ENV}=0 or vae_on_card=False"
    if sd.vae_class is None:
        return None, f"the tt-metal checkout at {sd.demo_dir} has no TTNN VAE (tt/vae/ttnn_vae.py)"
    try:
        return sd.vae_class(torch_vae=torch_vae, device=device), ""
    except Exception as exc:  # noqa: BLE001 - the CPU VAE decodes instead; the run record says why
        return None, f"tt-metal's TTNN VAE could not be built ({short_error(exc)})"


def untraced_card_vae(ttnn: Any, device: Any, sd: Any, torch_vae: Any, latent_hw: Sequence[int],
                      wanted: bool = True) -> VaeBackend:
    """Phase 3's VAE: tt-metal's on the open card, untraced (that backend allocates on the card between
    decodes, which a live trace could overwrite), or the torch VAE saying why not."""
    tt_vae, why = build_tt_vae(sd, device, torch_vae, wanted)
    if tt_vae is None:
        return TorchVae(torch_vae, why)
    try:
        calls, notes = open_calls(ttnn, device, {"vae": vae_call(ttnn, tt_vae, latent_hw, vae_scale(torch_vae))},
                                  trace=False)
    except CallFailed as failed:
        return TorchVae(torch_vae, f"tt-metal's TTNN VAE failed its first run on the card ({failed})")
    scale = vae_scale(torch_vae)
    return TtnnVae(calls["vae"], torch_vae.config.scaling_factor, (latent_hw[0] * scale, latent_hw[1] * scale),
                   "untraced")
