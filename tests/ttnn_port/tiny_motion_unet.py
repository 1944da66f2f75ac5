"""A tiny SD-shaped UNet + motion adapter (diffusers, random weights) and TtMotionUNet over stand-ins
of tt-metal's blocks with golden-op motion modules: shared by the orchestration and validation tests."""

from __future__ import annotations

import pytest
import torch
import tt_metal_standins as tt
from golden_ttnn import GoldenTtnn

import ttnn
from animatediff_ttnn.ttnn_motion_unet import TtMotionUNet
from animatediff_ttnn.ttnn_temporal import TtTemporalTransformer

BATCH, SIDE = 2, 16
# Tile multiples, as ttnn's DRAM group norm needs (C % 32 == 0) - SD's 320/640/1280 scaled down.
CHANNELS = (64, 128, 128, 128)


@pytest.fixture(scope="module")
def models():
    return build_models()


def build_models():
    from diffusers import MotionAdapter, UNet2DConditionModel, UNetMotionModel

    torch.manual_seed(0)
    unet = UNet2DConditionModel(
        sample_size=SIDE, block_out_channels=CHANNELS, layers_per_block=2, cross_attention_dim=32,
        attention_head_dim=8, norm_num_groups=32,
        down_block_types=("CrossAttnDownBlock2D",) * 3 + ("DownBlock2D",),
        up_block_types=("UpBlock2D",) + ("CrossAttnUpBlock2D",) * 3,
    ).eval()
    adapter = MotionAdapter(
        block_out_channels=CHANNELS, motion_layers_per_block=2, motion_mid_block_layers_per_block=1,
        motion_num_attention_heads=8, motion_norm_num_groups=32, motion_max_seq_length=32, use_motion_mid_block=True,
    )
    with torch.no_grad():  # adapters start with proj_out = 0 (identity): give every module an effect
        for name, p in adapter.named_parameters():
            if "proj_out" in name:
                p.normal_(0, 0.05)
    motion_unet = UNetMotionModel.from_unet2d(unet, adapter).eval()
    return unet, adapter, motion_unet


def motion_state_dicts(motion_unet):
    names = {k.split(".norm.weight")[0] for k in motion_unet.state_dict() if ".motion_modules." in k and k.endswith(".norm.weight")}
    return {n: motion_unet.get_submodule(n).state_dict() for n in sorted(names)}


def golden_motion_unet(unet, motion_unet, identity=()):
    """TtMotionUNet on stand-ins, its motion modules TtTemporalTransformer on golden ops; `identity`:
    names of modules replaced by the identity (to show a check failing)."""
    golden = GoldenTtnn(ttnn)
    motion = {n: TtTemporalTransformer(golden, sd) for n, sd in motion_state_dicts(motion_unet).items()}
    for name in identity:
        motion[name] = lambda frames, **_: frames
    tt_unet = tt.UNet2DConditionModel(None, unet, BATCH, SIDE, SIDE)
    return TtMotionUNet(golden, tt_unet, motion, unet.config, batch=BATCH)
