"""Phase 3's `blackhole` backend: the frame-loop motion UNet on one Blackhole card.

tt-metal's TTNN SD 1.4 blocks (from the user's checkout) run the spatial layers frame by frame,
ttnn_temporal runs the 21 motion modules across frames (ttnn_motion_unet.TtMotionUNet); conv_in,
conv_out and the guidance combine run on the host; given the torch VAE, the frames are decoded on the card
by tt-metal's TTNN VAE, untraced (ttnn_vae.py). Every request the card cannot serve is refused
*before* the device is opened (check_request), so a wrong size fails the same way with or without
a card. Everything from opening the device on has not run on a card by us:
examples/validate_on_blackhole.py is the way to find out, module by module.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional, Union

import torch

from .blackhole_backend import (
    SUPPORTED_SIZE,
    build_tt_unet,
    time_projection,
    upload_text_embeddings,
    validate_unet_setup,
)
from .motion_backend import ScaleOnModel, combine_guidance
from .tt_metal import DeviceStatus, detect_blackhole, find_sd_demo, import_sd_demo
from .ttnn_vae import card_vae_wanted, untraced_card_vae
from ..ttnn_motion_unet import host_conv_in, host_conv_out
from ..ttnn_temporal import MAX_FRAMES
from .unet_backend import BackendUnavailable


def check_request(unet_config: Any, height: int, width: int, num_frames: Optional[int] = None,
                  tt_metal_home: Optional[Union[str, Path]] = None) -> Path:
    """Everything that can be refused without a card: size (512x512 only), the SD 1.4 architecture,
    frames (1..32: the motion modules' positional table and one tile of frames), the tt-metal
    checkout. Returns the demo directory. The batch is fixed ([uncond, cond]) by the seam itself."""
    validate_unet_setup(unet_config, height, width)
    if num_frames is not None:
        check_frames(num_frames)
    return find_sd_demo(tt_metal_home)


def check_frames(num_frames: int) -> None:
    if not 1 <= int(num_frames) <= MAX_FRAMES:
        raise ValueError(
            f"num_frames: the blackhole backend runs 1..{MAX_FRAMES} frames (got {num_frames}): the TTNN motion "
            f"modules pad the frame axis to one {MAX_FRAMES}-row tile"
        )


class BlackholeMotionBackend(ScaleOnModel):
    """`MotionUNetBackend` on one Blackhole chip. Constructing it opens the device."""

    name = "blackhole"

    def __init__(self, unet: torch.nn.Module, adapter: Any, height: int = SUPPORTED_SIZE[0],
                 width: int = SUPPORTED_SIZE[1], num_frames: Optional[int] = None, device_id: int = 0,
                 tt_metal_home: Optional[Union[str, Path]] = None, device_status: Optional[DeviceStatus] = None,
                 vae: Optional[torch.nn.Module] = None) -> None:
        # device_status: what backend_choice.resolve_backend found (then the card is not looked for again);
        # vae: the torch VAE, to decode on the card (ANIMATEDIFF_TTNN_VAE=0 keeps it on the CPU)
        check_request(unet.config, height, width, num_frames, tt_metal_home)
        status = device_status or detect_blackhole()
        if not status.available:
            raise BackendUnavailable(f"no Blackhole device: {status.reason}; the 'torch' backend runs without one")
        sd = import_sd_demo(tt_metal_home)

        import ttnn  # needs hardware from here on

        from ..temporal_module import motion_modules_from_adapter
        from ..ttnn_motion_unet import TtMotionUNet
        from ..ttnn_temporal import TtTemporalTransformer

        self._ttnn, self._unet = ttnn, unet
        self._latent_hw = (height // 8, width // 8)
        self._device = ttnn.CreateDevice(device_id=device_id, l1_small_size=sd.l1_small_size)
        try:
            tt_unet = build_tt_unet(sd, self._device, unet, self._latent_hw)
            motion = {
                name: TtTemporalTransformer(ttnn, module.state_dict(), self._device)
                for name, module in motion_modules_from_adapter(adapter).items()
            }
            self.model = TtMotionUNet(ttnn, tt_unet, motion, unet.config)
            self.vae = None if vae is None else untraced_card_vae(ttnn, self._device, sd, vae, self._latent_hw,
                                                                  card_vae_wanted())
        except BaseException:
            self.close()
            raise
        self.device_description = f"Tenstorrent Blackhole #{device_id} (tt-metal TTNN SD 1.4 blocks + TTNN motion modules)"

    def prepare_text_embeddings(self, embeddings: torch.Tensor) -> Any:
        return upload_text_embeddings(self._ttnn, self._device, embeddings)

    @torch.no_grad()
    def guided_noise(self, latents: torch.Tensor, timestep: int, embeddings_native: Any,
                     guidance_scale: float) -> torch.Tensor:
        ttnn, unet = self._ttnn, self._unet
        if latents.shape[0] != 1:
            raise ValueError(f"latents: one video at a time (batch 1, run as [uncond, cond]), got {latents.shape[0]}")
        check_frames(latents.shape[2])
        h, w = self._latent_hw
        emb = self.time_embedding(timestep)
        # conv_in on the host, then each frame up to the card's DRAM
        frames = [self.upload_rows(host_conv_in(unet, torch.cat([f, f]).to(unet.dtype))) for f in latents.unbind(2)]
        frames = self.model(frames, emb, embeddings_native, (h, w))
        noise = torch.stack([host_conv_out(unet, self.download_rows(x), 2, h, w).float() for x in frames], dim=2)
        return combine_guidance(noise, guidance_scale).float().cpu()

    def time_embedding(self, timestep: int) -> Any:
        """time_proj on the host (as Phase 2 does), then tt-metal's own TtTimestepEmbedding on the card."""
        ttnn = self._ttnn
        proj = time_projection(self._unet.time_proj, int(timestep))
        return self.model.unet.emb(ttnn.from_torch(proj, dtype=ttnn.bfloat16, layout=ttnn.TILE_LAYOUT, device=self._device))

    def upload_rows(self, rows: torch.Tensor) -> Any:
        """(1, 1, B*H*W, C) torch -> TILE bfloat16 in the card's DRAM."""
        ttnn = self._ttnn
        return ttnn.from_torch(rows.float().contiguous(), dtype=ttnn.bfloat16, layout=ttnn.TILE_LAYOUT,
                               device=self._device, memory_config=ttnn.DRAM_MEMORY_CONFIG)

    def download_rows(self, tensor: Any) -> torch.Tensor:
        return self._ttnn.to_torch(tensor).float()

    def close(self) -> None:
        device = getattr(self, "_device", None)
        if device is not None:
            self._device = None
            self._ttnn.close_device(device)

