"""The AnimateDiff UNet as a frame loop: SD's spatial layers one frame at a time, motion across all.

diffusers' `UNetMotionModel` runs every layer on all B*F images at once. tt-metal's TTNN SD 1.4
UNet only runs batch 2 ([uncond, cond]) at 512x512, so on a Tenstorrent card the spatial layers
must go frame by frame. This module computes exactly what `UNetMotionModel` computes, in that
shape: hidden states live as a list of F tensors of (2, C, H, W); every spatial layer is called
once per frame; only the 21 motion modules (temporal_module.py) see all frames together.
(The spatial layers never mix frames, so running them per frame changes nothing but rounding.)

Order of one call - the motion modules sit where diffusers puts them, *not* inside the spatial
transformers (names are diffusers'; "M" = motion module across frames, "S" = stored as a skip):

  time embedding (once, batch 2) ; conv_in per frame -> S
  down_blocks.0..2 (CrossAttnDownBlock2D), for j in 0..1:  resnet -> attention -> M(down_blocks.i.motion_modules.j) -> S
                   then downsampler -> S
  down_blocks.3    (DownBlock2D),       for j in 0..1:  resnet -> M(down_blocks.3.motion_modules.j) -> S
  mid_block:                            resnet 0 -> attention -> M(mid_block.motion_modules.0) -> resnet 1
  up_blocks.0      (UpBlock2D),         for j in 0..2:  concat skip -> resnet -> M(up_blocks.0.motion_modules.j)
                   then upsampler
  up_blocks.1..3   (CrossAttnUpBlock2D),for j in 0..2:  concat skip -> resnet -> attention -> M(up_blocks.i.motion_modules.j)
                   then upsampler (not after the last)
  conv_norm_out -> SiLU -> conv_out per frame

SD 1.4 + v1-5-2: 8 + 1 + 12 = 21 motion modules at 320/640/1280/1280 channels. `motion_scale`
scales what every motion module adds (1 = AnimateDiff, 0 = modules off: plain SD per frame).
"""

from __future__ import annotations

from typing import Dict, List, Optional, Sequence, Tuple

import torch
from torch import nn

from .temporal_module import TemporalTransformer, motion_modules_from_adapter

Frames = List[torch.Tensor]  # F tensors of (B, C, H, W), B = 2 for [uncond, cond]


def module_tree(modules: Dict[str, nn.Module]) -> nn.ModuleDict:
    """Nest modules by their dotted names, so `tree.get_submodule("down_blocks.0.motion_modules.1")`
    works and the state-dict keys are the adapter's own (`down_blocks.0.motion_modules.1.norm.weight`)."""
    root = nn.ModuleDict()
    for name, module in modules.items():
        *path, leaf = name.split(".")
        node = root
        for part in path:
            if part not in node:
                node[part] = nn.ModuleDict()
            node = node[part]
        node[leaf] = module
    return root


class FrameLoopMotionUNet(nn.Module):
    def __init__(self, unet, motion_modules: Dict[str, TemporalTransformer], motion_scale: float = 1.0):
        super().__init__()
        self.unet = unet  # diffusers' UNet2DConditionModel (shared, never modified)
        self.names = sorted(motion_modules)
        self.motion_modules = module_tree(motion_modules)
        self.motion_scale = float(motion_scale)
        # Long clips (set per run by creative.frame_loop_applied): FreeNoise windows in every motion
        # module, and the pixel sequences in slices of this many (None = all at once).
        self.windows = None
        self.pixel_chunk: Optional[int] = None
        self._check_layout()

    @classmethod
    def from_adapter(cls, unet, adapter, motion_scale: float = 1.0) -> "FrameLoopMotionUNet":
        return cls(unet, motion_modules_from_adapter(adapter), motion_scale)

    def _check_layout(self) -> None:
        """Every down/up resnet needs its motion module (and nothing more): fail at build, not mid-run."""
        expected = {f"down_blocks.{i}.motion_modules.{j}" for i, b in enumerate(self.unet.down_blocks) for j in range(len(b.resnets))}
        expected |= {f"up_blocks.{i}.motion_modules.{j}" for i, b in enumerate(self.unet.up_blocks) for j in range(len(b.resnets))}
        given = set(self.names) - {"mid_block.motion_modules.0"}  # v1 adapters have no mid-block module
        if given != expected:
            raise ValueError(f"motion adapter does not fit this UNet: missing {sorted(expected - given)[:3]}, "
                             f"extra {sorted(given - expected)[:3]}")

    # ---- one call -------------------------------------------------------------------------------
    def forward(self, sample: torch.Tensor, timestep, encoder_hidden_states: torch.Tensor) -> torch.Tensor:
        """sample (B, 4, F, h, w) as for `UNetMotionModel`; encoder_hidden_states (B, 77, D) once per
        batch row, or (B*F, 77, D) one per frame (b-major, as diffusers orders a prompt schedule's
        embeddings). Returns the noise prediction (B, 4, F, h, w)."""
        num_frames = sample.shape[2]
        frames = list(sample.to(self.unet.dtype).unbind(2))
        emb = self.time_embedding(timestep, sample.shape[0], sample.device)
        text = self.frame_texts(encoder_hidden_states.to(self.unet.dtype), sample.shape[0], num_frames)
        frames = self.per_frame(self.unet.conv_in, frames)
        skips: List[Frames] = [frames]
        for index in range(len(self.unet.down_blocks)):
            frames, block_skips = self.down_block(index, frames, emb, text)
            skips += block_skips
        frames = self.mid_block(frames, emb, text)
        upsample_size = self.forced_upsample_size(sample)
        for index, block in enumerate(self.unet.up_blocks):
            block_skips, skips = skips[-len(block.resnets):], skips[: -len(block.resnets)]
            size = skips[-1][0].shape[2:] if upsample_size and index < len(self.unet.up_blocks) - 1 else None
            frames = self.up_block(index, frames, block_skips, emb, text, size)
        frames = self.conv_out(frames)
        assert len(frames) == num_frames
        return torch.stack(frames, dim=2)

    # ---- the pieces, in the order above -------------------------------------------------------
    def time_embedding(self, timestep, batch: int, device) -> torch.Tensor:
        """Sinusoidal projection + MLP of the timestep, shape (B, 1280); the same for every frame."""
        t = torch.as_tensor(timestep, device=device)
        t = (t[None] if t.ndim == 0 else t).expand(batch)
        return self.unet.time_embedding(self.unet.time_proj(t).to(self.unet.dtype))

    @staticmethod
    def frame_texts(text: torch.Tensor, batch: int, num_frames: int) -> List[torch.Tensor]:
        """One (B, 77, D) text embedding per frame: the same tensor F times, or each frame's own."""
        if text.shape[0] == batch:
            return [text] * num_frames
        if text.shape[0] != batch * num_frames:
            raise ValueError(f"encoder_hidden_states: {text.shape[0]} rows, expected {batch} or {batch * num_frames}")
        return list(text.reshape(batch, num_frames, *text.shape[1:]).unbind(1))

    @staticmethod
    def per_frame(layer, frames: Frames, *args, **kwargs) -> Frames:
        """A spatial layer, called once per frame at batch B (this is where the TTNN UNet runs)."""
        return [layer(x, *args, **kwargs) for x in frames]

    def motion(self, name: str, frames: Frames) -> Frames:
        """Motion module `name` across all frames: stack to (B*F, C, H, W), b-major (each video's
        frames together, as diffusers orders them), add scale x the module's output, split again."""
        if self.motion_scale == 0.0:
            return frames
        module: TemporalTransformer = self.motion_modules.get_submodule(name)
        batch, channels, height, width = frames[0].shape
        stacked = torch.stack(frames, dim=1).reshape(batch * len(frames), channels, height, width)
        out = stacked + self.motion_scale * module.motion(stacked, len(frames), self.windows, self.pixel_chunk)
        return list(out.reshape(batch, len(frames), channels, height, width).unbind(1))

    def attention(self, attention, frames: Frames, text: List[torch.Tensor]) -> Frames:
        return [attention(x, encoder_hidden_states=t, return_dict=False)[0] for x, t in zip(frames, text)]

    def down_block(self, index: int, frames: Frames, emb, text) -> Tuple[Frames, List[Frames]]:
        block = self.unet.down_blocks[index]
        attentions = getattr(block, "attentions", None)
        skips: List[Frames] = []
        for j, resnet in enumerate(block.resnets):
            frames = self.per_frame(resnet, frames, emb)
            if attentions is not None:
                frames = self.attention(attentions[j], frames, text)
            frames = self.motion(f"down_blocks.{index}.motion_modules.{j}", frames)
            skips.append(frames)  # stored *after* the motion module
        if block.downsamplers is not None:
            frames = self.per_frame(block.downsamplers[0], frames)
            skips.append(frames)
        return frames, skips

    def mid_block(self, frames: Frames, emb, text) -> Frames:
        block = self.unet.mid_block
        frames = self.per_frame(block.resnets[0], frames, emb)
        frames = self.attention(block.attentions[0], frames, text)
        if "mid_block.motion_modules.0" in self.names:
            frames = self.motion("mid_block.motion_modules.0", frames)
        return self.per_frame(block.resnets[1], frames, emb)

    def up_block(self, index: int, frames: Frames, skips: Sequence[Frames], emb, text,
                 upsample_size: Optional[torch.Size]) -> Frames:
        block = self.unet.up_blocks[index]
        attentions = getattr(block, "attentions", None)
        skips = list(skips)
        for j, resnet in enumerate(block.resnets):
            skip = skips.pop()  # the most recent skip first, as diffusers pops them
            frames = [torch.cat([x, s], dim=1) for x, s in zip(frames, skip)]
            frames = self.per_frame(resnet, frames, emb)
            if attentions is not None:
                frames = self.attention(attentions[j], frames, text)
            frames = self.motion(f"up_blocks.{index}.motion_modules.{j}", frames)
        if block.upsamplers is not None:
            frames = self.per_frame(block.upsamplers[0], frames, output_size=upsample_size)
        return frames

    def conv_out(self, frames: Frames) -> Frames:
        unet = self.unet

        def head(x):
            if unet.conv_norm_out is not None:
                x = unet.conv_act(unet.conv_norm_out(x))
            return unet.conv_out(x)

        return self.per_frame(head, frames)

    def forced_upsample_size(self, sample: torch.Tensor) -> bool:
        """Latents not divisible by 2^upsamplers need explicit upsample sizes (as in diffusers)."""
        factor = 2 ** sum(1 for b in self.unet.up_blocks if b.upsamplers is not None)
        return any(s % factor for s in sample.shape[-2:])
