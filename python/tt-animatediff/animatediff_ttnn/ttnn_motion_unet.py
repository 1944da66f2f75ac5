"""The AnimateDiff motion UNet on a Tenstorrent card: tt-metal's own TTNN SD 1.4 blocks for the
spatial layers, one frame at a time, and ttnn_temporal's motion module at the 21 points.

The same frame loop as motion_unet.FrameLoopMotionUNet (read that first): only the tensors differ.
Here a frame is tt-metal's inter-block layout, [1, 1, 2*H*W, C] (TILE), and each frame goes back
to DRAM after every spatial layer so the next frame has the L1 to itself.

tt-metal's `UNet2DConditionModel.__call__` loops over its blocks, and each block loops over its
layers, with no place to stop between them - and AnimateDiff needs to stop after every layer. So
this class builds tt-metal's UNet object (all weights converted by tt-metal's own code) and calls
its parts one by one: `down_blocks[i].resnets[j]`, `.attentions[j]`, `.downsample_2d`, ... with the
keyword arguments that the block's own `__call__` passes them (read from tt-metal at commit
TT_METAL_COMMIT, models/demos/vision/generative/stable_diffusion/wormhole/tt/). Nothing from
tt-metal is copied; everything is imported from the user's checkout.

Not run on a card by us: examples/validate_on_blackhole.py checks it there, block by block.
"""

from __future__ import annotations

from typing import Any, Callable, Dict, List, Sequence, Tuple

# The tt-metal commit whose block objects (attribute names, __call__ keywords) this code follows.
TT_METAL_COMMIT = "4233363c06f710a7e93c1f168b88c02558943ca1"

Frames = List[Any]  # F ttnn tensors [1, 1, B*H*W, C], B = 2 ([uncond, cond])

RESNET_EPS = 1e-5  # tt-metal's UNet passes norm_eps = 1e-5 to every block, as SD 1.4's config has


class TtMotionUNet:
    """`tt_unet`: tt-metal's UNet2DConditionModel (or anything with its attributes). `motion`:
    {diffusers name, e.g. "down_blocks.0.motion_modules.1": callable(frames, batch=, height=, width=,
    motion_scale=) -> frames}, normally ttnn_temporal.TtTemporalTransformer objects."""

    def __init__(self, ttnn: Any, tt_unet: Any, motion: Dict[str, Callable], config: Any, batch: int = 2) -> None:
        self.ttnn = ttnn
        self.unet = tt_unet
        self.motion_modules = motion
        self.config = config  # diffusers' UNet config; tt-metal's transformer blocks read it too
        self.batch = batch
        self.motion_scale = 1.0  # 0 skips the modules, as motion_unet.FrameLoopMotionUNet does
        # What tt-metal's UNet2DConditionModel.__call__ passes its blocks, from the same config
        # (SD 1.4: 320/640/1280/1280, 2 layers, 8 heads - its "attention_head_dim" -, 768, 32).
        self.block_out_channels = tuple(config.block_out_channels)
        self.layers_per_block = int(config.layers_per_block)
        self.heads = int(config.attention_head_dim)
        self.temb_channels = self.block_out_channels[0] * 4
        self.cross_attention_dim = int(config.cross_attention_dim)
        self.norm_groups = int(config.norm_num_groups)
        self._check_layout()

    def _check_layout(self) -> None:
        levels, layers = len(self.block_out_channels), self.layers_per_block
        expected = {f"down_blocks.{i}.motion_modules.{j}" for i in range(levels) for j in range(layers)}
        expected |= {f"up_blocks.{i}.motion_modules.{j}" for i in range(levels) for j in range(layers + 1)}
        given = set(self.motion_modules) - {"mid_block.motion_modules.0"}  # v1 adapters have none there
        if given != expected:
            raise ValueError(
                f"motion modules do not fit SD 1.4: missing {sorted(expected - given)[:3]}, extra {sorted(given - expected)[:3]}"
            )

    # ---- one call ----

    def __call__(self, frames: Frames, emb: Any, text: Any, frame_hw: Tuple[int, int]) -> Frames:
        """frames: F tensors after conv_in ([1, 1, B*h*w, 320]); emb: the time embedding (tt-metal's
        `unet.emb(...)` output, the same for every frame); text: the padded CLIP states. Returns the
        F tensors before conv_norm_out, at the top level again."""
        skips: List[Frames] = [self.to_dram(frames)]
        hw = frame_hw
        for index in range(len(self.block_out_channels)):
            frames, block_skips, hw = self.down_block(index, frames, emb, text, hw)
            skips += block_skips
        frames = self.mid_block(frames, emb, text, hw)
        for index in range(len(self.block_out_channels)):
            count = self.layers_per_block + 1
            block_skips, skips = skips[-count:], skips[:-count]
            frames, hw = self.up_block(index, frames, block_skips, emb, text, hw)
        return frames

    # ---- the pieces, in the order of motion_unet.FrameLoopMotionUNet ----

    def per_frame(self, layer: Callable, frames: Frames, **kwargs: Any) -> Frames:
        """A tt-metal layer on each frame (batch 2), each result parked in DRAM."""
        return [self.ttnn.to_memory_config(layer(x, **kwargs), self.ttnn.DRAM_MEMORY_CONFIG) for x in frames]

    def to_dram(self, frames: Frames) -> Frames:
        return [self.ttnn.to_memory_config(x, self.ttnn.DRAM_MEMORY_CONFIG) for x in frames]

    def motion(self, name: str, frames: Frames, hw: Tuple[int, int]) -> Frames:
        """Motion module `name` across all frames. tt-metal's blocks may hand out bfloat8_b or
        ROW_MAJOR tensors: the motion module takes TILE bfloat16."""
        if name not in self.motion_modules or self.motion_scale == 0.0:
            return frames
        ready = [self.tile_bf16(x) for x in frames]
        module = self.motion_modules[name]
        return module(ready, batch=self.batch, height=hw[0], width=hw[1], motion_scale=self.motion_scale)

    def tile_bf16(self, x: Any) -> Any:
        ttnn = self.ttnn
        if x.layout != ttnn.TILE_LAYOUT:
            x = ttnn.to_layout(x, ttnn.TILE_LAYOUT)
        if x.dtype != ttnn.bfloat16:
            x = ttnn.typecast(x, ttnn.bfloat16)
        return x

    def resnet(self, resnet: Any, frames: Frames, emb: Any, in_channels: int, out_channels: int, shortcut=None) -> Frames:
        # As tt-metal's blocks call resnetBlock2D (keywords of cross_attention_down_block_2d.__call__;
        # only that block computes use_in_shortcut, the others pass None).
        return self.per_frame(
            resnet,
            frames,
            use_in_shortcut=shortcut,
            temb=emb,
            in_channels=in_channels,
            out_channels=out_channels,
            temb_channels=self.temb_channels,
            eps=RESNET_EPS,
            groups=self.norm_groups,
            time_embedding_norm="default",
            non_linearity="silu",
            output_scale_factor=1.0,
            pre_norm=True,
        )

    def attention(self, attention: Any, frames: Frames, text: Any, channels: int) -> Frames:
        # As tt-metal's blocks call transformer_2d_model.
        return self.per_frame(
            lambda x, **kw: attention(x, self.config, text, **kw),
            frames,
            attention_head_dim=channels // self.heads,
            in_channels=channels,
            num_layers=1,
            cross_attention_dim=self.cross_attention_dim,
            norm_num_groups=self.norm_groups,
            use_linear_projection=False,
            only_cross_attention=False,
            upcast_attention=False,
        )

    def down_block(
        self, index: int, frames: Frames, emb: Any, text: Any, hw: Tuple[int, int]
    ) -> Tuple[Frames, List[Frames], Tuple[int, int]]:
        block = self.unet.down_blocks[index]
        out_channels = self.block_out_channels[index]
        in_channels = self.block_out_channels[max(index - 1, 0)]
        attentions = getattr(block, "attentions", None)
        skips: List[Frames] = []
        for j, resnet in enumerate(block.resnets):
            shortcut = ("conv_shortcut" in resnet.parameters) if attentions is not None else None
            frames = self.resnet(resnet, frames, emb, in_channels if j == 0 else out_channels, out_channels, shortcut)
            if attentions is not None:
                frames = self.attention(attentions[j], frames, text, out_channels)
            frames = self.motion(f"down_blocks.{index}.motion_modules.{j}", frames, hw)
            skips.append(self.to_dram(frames))
        if hasattr(block, "downsample_2d"):
            frames = self.per_frame(
                lambda x, **kw: block.downsample_2d(hidden_states=x, **kw),
                frames,
                in_channels=out_channels,
                out_channels=out_channels,
                padding=1,
                use_conv=True,
            )
            skips.append(frames)
            hw = (block.output_height, block.output_width)
        return frames, skips, hw

    def mid_block(self, frames: Frames, emb: Any, text: Any, hw: Tuple[int, int]) -> Frames:
        block, channels = self.unet.mid_block, self.block_out_channels[-1]
        frames = self.resnet(block.resnets[0], frames, emb, channels, channels)
        frames = self.attention(block.attentions[0], frames, text, channels)
        frames = self.motion("mid_block.motion_modules.0", frames, hw)
        return self.resnet(block.resnets[1], frames, emb, channels, channels)

    def up_block(
        self, index: int, frames: Frames, skips: Sequence[Frames], emb: Any, text: Any, hw: Tuple[int, int]
    ) -> Tuple[Frames, Tuple[int, int]]:
        ttnn = self.ttnn
        block = self.unet.up_blocks[index]
        reversed_channels = list(reversed(self.block_out_channels))
        prev_output_channel = reversed_channels[max(index - 1, 0)]
        out_channels = reversed_channels[index]
        in_channels = reversed_channels[min(index + 1, len(self.block_out_channels) - 1)]
        attentions = getattr(block, "attentions", None)
        skips = list(skips)
        for j, resnet in enumerate(block.resnets):
            skip = skips.pop()  # the most recent skip first, as tt-metal's and diffusers' blocks take them
            frames = [ttnn.concat([self.tile_bf16(x), self.tile_bf16(s)], dim=3) for x, s in zip(frames, skip)]
            skip_channels = in_channels if j == len(block.resnets) - 1 else out_channels
            resnet_in = (prev_output_channel if j == 0 else out_channels) + skip_channels
            frames = self.resnet(resnet, frames, emb, resnet_in, out_channels)
            if attentions is not None:
                frames = self.attention(attentions[j], frames, text, out_channels)
            frames = self.motion(f"up_blocks.{index}.motion_modules.{j}", frames, hw)
        if hasattr(block, "upsample_2d"):
            if attentions is None:  # upblock_2d: ROW_MAJOR into the upsampler, with its in_channels
                frames = [ttnn.to_layout(x, ttnn.ROW_MAJOR_LAYOUT) for x in frames]
                frames = self.per_frame(lambda x: block.upsample_2d(x, in_channels, out_channels), frames)
            else:  # cross_attention_upblock2d
                frames = self.per_frame(lambda x: block.upsample_2d(x, out_channels, out_channels), frames)
            hw = (block.output_height, block.output_width)
        return frames, hw


# ---- the head and tail, on the host ----
# conv_in (4 -> 320 channels) and conv_norm_out/SiLU/conv_out (320 -> 4) are inline code in
# tt-metal's UNet2DConditionModel.__call__, not block objects, and are ~0.3 % of a step's FLOPs:
# the backend runs them in torch on the CPU, once per frame, around the device blocks.


def to_rows(x: Any) -> Any:
    """torch (B, C, H, W) -> tt-metal's inter-block layout (1, 1, B*H*W, C)."""
    b, c, h, w = x.shape
    return x.permute(0, 2, 3, 1).reshape(1, 1, b * h * w, c)


def from_rows(x: Any, batch: int, height: int, width: int) -> Any:
    """(1, 1, B*H*W, C) -> (B, C, H, W)."""
    return x.reshape(batch, height, width, -1).permute(0, 3, 1, 2)


def host_conv_in(unet: Any, latents: Any) -> Any:
    """diffusers UNet's conv_in on one frame's (B, 4, h, w) latents, as rows."""
    return to_rows(unet.conv_in(latents))


def host_conv_out(unet: Any, rows: Any, batch: int, height: int, width: int) -> Any:
    """conv_norm_out -> SiLU -> conv_out of one frame's rows: the (B, 4, h, w) noise prediction."""
    x = from_rows(rows.to(unet.conv_in.weight.dtype), batch, height, width)
    return unet.conv_out(unet.conv_act(unet.conv_norm_out(x)))
