"""Shared by the tests/ttnn_port files: random motion modules in diffusers' layout and frame layouts."""

from __future__ import annotations

from typing import List

import torch


def motion_module(channels: int, seed: int = 0, max_frames: int = 32) -> torch.nn.Module:
    """A diffusers AnimateDiffTransformer3D configured exactly as MotionAdapter builds one, with
    random norms too (so a wrong affine parameter cannot hide behind weight 1, bias 0)."""
    from diffusers.models.unets.unet_motion_model import AnimateDiffTransformer3D

    torch.manual_seed(seed)
    module = AnimateDiffTransformer3D(
        num_attention_heads=8,
        attention_head_dim=channels // 8,
        in_channels=channels,
        num_layers=1,
        norm_num_groups=32,
        cross_attention_dim=None,
        attention_bias=False,
        activation_fn="geglu",
        positional_embeddings="sinusoidal",
        num_positional_embeddings=max_frames,
        double_self_attention=True,
    )
    with torch.no_grad():
        for name, p in module.named_parameters():
            if "norm" in name:
                p.copy_((1.0 if name.endswith("weight") else 0.0) + 0.2 * torch.randn_like(p))
    return module.eval()


def to_frames(x: torch.Tensor, batch: int, num_frames: int) -> List[torch.Tensor]:
    """(B*F, C, H, W), frames inner as diffusers orders them -> F tensors [1, 1, B*H*W, C] (tt-metal's layout)."""
    _, c, h, w = x.shape
    x = x.reshape(batch, num_frames, c, h, w)
    return [x[:, f].permute(0, 2, 3, 1).reshape(1, 1, batch * h * w, c) for f in range(num_frames)]


def from_frames(frames: List[torch.Tensor], batch: int, height: int, width: int) -> torch.Tensor:
    """Inverse of to_frames."""
    c = frames[0].shape[-1]
    x = torch.stack([f.reshape(batch, height, width, c) for f in frames], dim=1)  # (B, F, H, W, C)
    return x.permute(0, 1, 4, 2, 3).reshape(-1, c, height, width)


def pcc(a: torch.Tensor, b: torch.Tensor) -> float:
    a, b = a.double().flatten(), b.double().flatten()
    a, b = a - a.mean(), b - b.mean()
    return float((a @ b) / (a.norm() * b.norm()))
