"""One AnimateDiff motion module, written out plainly: attention *across frames*, pixel by pixel.

The sizes in the comments are SD 1.4 + the v1-5-2 adapter at 512x512, 16 frames, batch 2
([uncond, cond]), in the first down block: C = 320 channels on a 64x64 latent grid.
Deeper blocks have C = 640 / 1280 / 1280 on 32x32 / 16x16 / 8x8 grids.

What happens, in order (diffusers calls the same thing `AnimateDiffTransformer3D`):
  1. GroupNorm(32 groups, eps 1e-6) over (C/32 channels, all F frames, H, W): the statistics
     span every frame of one video, so this normalisation already mixes frames. That is diffusers'
     module; guoyww's original motion_module.py, which the weights were trained in, normalises each
     frame on its own (`b c f h w -> (b f) c h w` before its norm). We follow diffusers: Phase 1 runs it.
  2. Reshape (B*F, C, H, W) -> (B*H*W, F, C): every pixel becomes its own little sequence of
     F "tokens", one per frame. 2*64*64 = 8192 sequences of 16 tokens of 320 values.
  3. proj_in (Linear C -> C), then one transformer block:
       LayerNorm -> + sinusoidal frame position -> self-attention across frames (8 heads) -> + residual
       LayerNorm -> + sinusoidal frame position -> self-attention across frames (8 heads) -> + residual
       LayerNorm -> GEGLU feed-forward (C -> 4C, gated) -> + residual
     The position is added to the *normed* tokens, just before each attention (never to the
     residual stream); attention has no q/k/v bias. No cross-attention: text never enters here.
  4. proj_out (Linear C -> C), reshape back to (B*F, C, H, W), add the module's input.
AnimateDiff trains with proj_out initialised to zero, so an untrained module is exactly the
identity and SD's picture quality is kept on day one; motion is learnt into that zero branch.

Parameter and buffer names are the ones diffusers uses, so `load_state_dict` takes the state dict
of a diffusers `AnimateDiffTransformer3D` (or one motion module of a `MotionAdapter`) as it is.
"""

from __future__ import annotations

import math
from typing import Dict, Optional

import torch
import torch.nn.functional as F
from torch import nn

from .creative.free_noise import windowed


class FramePositions(nn.Module):
    """The fixed sinusoidal table (sin on even, cos on odd channels) of frame positions 0..max-1."""

    def __init__(self, channels: int, max_frames: int):
        super().__init__()
        position = torch.arange(max_frames).unsqueeze(1)
        frequency = torch.exp(torch.arange(0, channels, 2) * (-math.log(10000.0) / channels))
        pe = torch.zeros(1, max_frames, channels)
        pe[0, :, 0::2] = torch.sin(position * frequency)
        pe[0, :, 1::2] = torch.cos(position * frequency)
        self.register_buffer("pe", pe)  # (1, 32, C): not learnt; saved with the weights all the same

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:  # (B*H*W, F, C)
        return tokens + self.pe[:, : tokens.shape[1]]


class FrameAttention(nn.Module):
    """Multi-head self-attention over the F frames of each pixel sequence."""

    def __init__(self, channels: int, heads: int):
        super().__init__()
        self.heads = heads
        self.to_q = nn.Linear(channels, channels, bias=False)
        self.to_k = nn.Linear(channels, channels, bias=False)
        self.to_v = nn.Linear(channels, channels, bias=False)
        self.to_out = nn.ModuleList([nn.Linear(channels, channels)])  # a list only to match diffusers' key names

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:  # (N = B*H*W, F, C)
        n, frames, channels = tokens.shape

        def split_heads(x):  # (N, F, C) -> (N, heads, F, C/heads): 8 heads of 40 values at C = 320
            return x.view(n, frames, self.heads, channels // self.heads).transpose(1, 2)

        q, k, v = split_heads(self.to_q(tokens)), split_heads(self.to_k(tokens)), split_heads(self.to_v(tokens))
        # softmax(q k^T / sqrt(40)) v: each frame looks at every frame of the same pixel (an F x F map)
        out = F.scaled_dot_product_attention(q, k, v)
        return self.to_out[0](out.transpose(1, 2).reshape(n, frames, channels))


class GEGLU(nn.Module):
    """Linear C -> 2*4C, split in two halves: value * GELU(gate)."""

    def __init__(self, channels: int, inner: int):
        super().__init__()
        self.proj = nn.Linear(channels, inner * 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        value, gate = self.proj(x).chunk(2, dim=-1)
        return value * F.gelu(gate)


class FeedForward(nn.Module):
    def __init__(self, channels: int, mult: int = 4):
        super().__init__()
        # net.1 is dropout in training (identity at inference); kept so the keys are net.0 / net.2
        self.net = nn.ModuleList([GEGLU(channels, channels * mult), nn.Identity(), nn.Linear(channels * mult, channels)])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for layer in self.net:
            x = layer(x)
        return x


class TemporalBlock(nn.Module):
    """Two frame self-attentions and a feed-forward, each pre-normed and residual."""

    def __init__(self, channels: int, heads: int, max_frames: int):
        super().__init__()
        self.pos_embed = FramePositions(channels, max_frames)
        self.norm1 = nn.LayerNorm(channels)  # eps 1e-5, as diffusers' BasicTransformerBlock
        self.attn1 = FrameAttention(channels, heads)
        self.norm2 = nn.LayerNorm(channels)
        self.attn2 = FrameAttention(channels, heads)
        self.norm3 = nn.LayerNorm(channels)
        self.ff = FeedForward(channels)

    def attentions(self, tokens: torch.Tensor) -> torch.Tensor:  # (B*H*W, F, C)
        tokens = tokens + self.attn1(self.pos_embed(self.norm1(tokens)))
        return tokens + self.attn2(self.pos_embed(self.norm2(tokens)))

    def forward(self, tokens: torch.Tensor, windows=None) -> torch.Tensor:  # (B*H*W, F, C)
        if windows is None:
            tokens = self.attentions(tokens)
        else:  # FreeNoise: the attentions per window of frames, blended (creative/free_noise.py); the feed-forward on all
            tokens = windowed(self.attentions, tokens, windows.context_length, windows.context_stride,
                              windows.weighting)
        return tokens + self.ff(self.norm3(tokens))


class TemporalTransformer(nn.Module):
    """A motion module: (B*F, C, H, W) -> same shape, frames of one video ordered together (b-major)."""

    def __init__(self, channels: int, heads: int = 8, num_layers: int = 1, norm_groups: int = 32,
                 max_frames: int = 32):
        super().__init__()
        self.channels, self.heads, self.max_frames = channels, heads, max_frames
        self.norm = nn.GroupNorm(norm_groups, channels, eps=1e-6)
        self.proj_in = nn.Linear(channels, channels)
        self.transformer_blocks = nn.ModuleList([TemporalBlock(channels, heads, max_frames) for _ in range(num_layers)])
        self.proj_out = nn.Linear(channels, channels)

    def motion(self, hidden_states: torch.Tensor, num_frames: int, windows=None,
               pixel_chunk: Optional[int] = None) -> torch.Tensor:
        """What the module adds to its input (the residual branch alone); `forward` adds it back.
        `windows` (long_clips.ContextWindows): FreeNoise context windows; `pixel_chunk`: run the
        per-pixel sequences that many at a time (the same result, less memory for long clips)."""
        batch_frames, channels, height, width = hidden_states.shape  # (2*16, 320, 64, 64)
        if batch_frames % num_frames:
            raise ValueError(f"num_frames: {batch_frames} rows are not a whole number of {num_frames}-frame videos")
        span = num_frames if windows is None else min(windows.context_length, num_frames)
        if span > self.max_frames:
            raise ValueError(f"num_frames: {span} is more than this module's {self.max_frames} frame positions")
        batch = batch_frames // num_frames
        # (B*F, C, H, W) -> (B, C, F, H, W): GroupNorm over each video's frames together
        x = hidden_states.reshape(batch, num_frames, channels, height, width).permute(0, 2, 1, 3, 4)
        x = self.norm(x)
        # (B, C, F, H, W) -> (B, H, W, F, C) -> (B*H*W, F, C): one sequence of F frames per pixel
        x = x.permute(0, 3, 4, 2, 1).reshape(batch * height * width, num_frames, channels)
        x = torch.cat([self.sequences(part, windows) for part in x.split(pixel_chunk or x.shape[0])])
        # (B*H*W, F, C) -> (B, H, W, F, C) -> (B, F, C, H, W) -> (B*F, C, H, W)
        x = x.reshape(batch, height, width, num_frames, channels).permute(0, 3, 4, 1, 2)
        return x.reshape(batch_frames, channels, height, width)

    def sequences(self, x: torch.Tensor, windows=None) -> torch.Tensor:
        """proj_in -> blocks -> proj_out on (N, F, C) pixel sequences; each sequence on its own."""
        x = self.proj_in(x)
        for block in self.transformer_blocks:
            x = block(x, windows)
        return self.proj_out(x)

    def forward(self, hidden_states: torch.Tensor, num_frames: int) -> torch.Tensor:
        return hidden_states + self.motion(hidden_states, num_frames)

    @classmethod
    def from_state_dict(cls, state: Dict[str, torch.Tensor], heads: int = 8, norm_groups: int = 32) -> "TemporalTransformer":
        """Build one module from its diffusers-named weights; sizes come from the tensors' shapes.
        Heads and groups cannot be read from shapes: AnimateDiff uses 8 and 32."""
        channels = state["proj_in.weight"].shape[0]
        layers = 1 + max(int(k.split(".")[1]) for k in state if k.startswith("transformer_blocks."))
        pe = state.get("transformer_blocks.0.pos_embed.pe")
        max_frames = 32 if pe is None else pe.shape[1]
        with torch.device("meta"):  # shapes only: the weights come from `state`, nothing is initialised
            module = cls(channels, heads, layers, norm_groups, max_frames)
        state = dict(state)
        for key in module.state_dict():
            if key.endswith("pos_embed.pe") and key not in state:
                # a fixed function of (frames, channels), not learnt: recomputed when a file leaves it out
                state[key] = FramePositions(channels, max_frames).pe.to(state["proj_in.weight"].dtype)
        missing = sorted(set(module.state_dict()) - set(state))
        unexpected = sorted(set(state) - set(module.state_dict()))
        if missing or unexpected:
            raise ValueError(f"not a motion module's weights: missing {missing[:3]}, unexpected {unexpected[:3]}")
        module.load_state_dict(state, assign=True)  # uses the given tensors themselves: no copy
        return module


def motion_modules_from_adapter(adapter) -> Dict[str, TemporalTransformer]:
    """Every motion module of a diffusers `MotionAdapter`, by its name in diffusers' `UNetMotionModel`
    (`down_blocks.0.motion_modules.0`, ..., `mid_block.motion_modules.0`, `up_blocks.3.motion_modules.2`).

    `models.load_motion_adapter` reads hub ids, diffusers folders (the v1-5-2 and Lightning adapters) and
    original `mm_sd_v15_v2.ckpt`-layout files (converted by models/motion_checkpoint.py) into such an adapter.
    The modules share the adapter's weight tensors (no copy, so no extra memory)."""
    from diffusers.models.unets.unet_motion_model import AnimateDiffTransformer3D

    modules = {}
    for name, module in adapter.named_modules():
        if isinstance(module, AnimateDiffTransformer3D):
            state = {k: v.detach() for k, v in module.state_dict().items()}
            ours = TemporalTransformer.from_state_dict(state, module.num_attention_heads, module.norm.num_groups)
            modules[name] = ours.eval().requires_grad_(False)
    return modules
