"""TtMotionUNet's orchestration - which tt-metal block part runs when, with which keywords, where
the 21 motion modules sit, the skips and their order - run against stand-ins of tt-metal's block
objects (tt_metal_standins.py, backed by diffusers' blocks), with the motion modules being real
TtTemporalTransformer objects whose ops run as ttnn golden functions (GoldenTtnn).

Compared with part 1's frame-loop UNet (motion_unet.FrameLoopMotionUNet) and with diffusers'
UNetMotionModel on one tiny random-weight SD-shaped UNet + motion adapter. conv_in, the time
embedding and conv_out (inline code in tt-metal's UNet, not block objects) run on the host in the
blackhole backend too (host_conv_in/host_conv_out); the time embedding is the test's own here.

Proves: the loop structure and the keywords it passes. Cannot prove: that tt-metal's real blocks
accept DRAM-resident bfloat16 frames between calls (the card check does that, block by block).
"""

from __future__ import annotations

import pytest
import torch
import tt_metal_standins as tt
from golden_ttnn import GoldenTtnn
from temporal_cases import pcc

import ttnn
from animatediff_ttnn.ttnn_motion_unet import TtMotionUNet, host_conv_in, host_conv_out
from animatediff_ttnn.ttnn_temporal import TtTemporalTransformer

BATCH, SIDE = 2, 16
# Multiples of 64: ttnn 0.81.1's golden group_norm unpacks interleaved-input affine parameters by
# core_grid.x * core_grid.y (64) rather than by the DRAM virtual columns they are packed with; the
# two agree only when the packing adds no padding (C % 64 == 0: SD's 320/640/1280 are fine, 32 is not).
CHANNELS = (64, 128, 128, 128)


@pytest.fixture(scope="module")
def models():
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


def run_ttnn_unet(unet, motion_unet, sample, t, text, identity=()):
    golden = GoldenTtnn(ttnn)
    motion = {n: TtTemporalTransformer(golden, sd) for n, sd in motion_state_dicts(motion_unet).items()}
    for name in identity:
        motion[name] = lambda frames, **_: frames
    tt_unet = tt.UNet2DConditionModel(None, unet, BATCH, SIDE, SIDE)
    model = TtMotionUNet(golden, tt_unet, motion, unet.config, batch=BATCH)
    emb = unet.time_embedding(unet.time_proj(torch.full((BATCH,), t)))
    frames = [host_conv_in(unet, x) for x in sample.unbind(2)]
    frames = model(frames, emb, text, (SIDE, SIDE))
    return torch.stack([host_conv_out(unet, x, BATCH, SIDE, SIDE) for x in frames], dim=2)


def inputs(frames):
    torch.manual_seed(frames)
    return torch.randn(BATCH, 4, frames, SIDE, SIDE), torch.randn(BATCH, 77, 32)


def check(ours, reference):
    """bfloat16 storage in the 21 motion modules (only there: the stand-in blocks are fp32)."""
    p, err = pcc(ours, reference), (ours - reference).abs().max().item()
    print(f"TtMotionUNet (stand-ins, golden motion modules) vs frame loop: PCC {p:.6f}, max error {err:.4f}")
    assert p >= 0.9999 and err <= 0.01 * reference.abs().max().item(), (p, err)


_reference = {}


def frame_loop_output(models, frames):
    """Part 1's frame loop, itself checked against diffusers' UNetMotionModel first."""
    from animatediff_ttnn.motion_unet import FrameLoopMotionUNet

    if frames not in _reference:
        unet, adapter, motion_unet = models
        sample, text = inputs(frames)
        with torch.no_grad():
            frame_loop = FrameLoopMotionUNet.from_adapter(unet, adapter)(sample, 500, text)
            diffusers_out = motion_unet(sample, 500, encoder_hidden_states=text.repeat_interleave(frames, 0)).sample
        torch.testing.assert_close(frame_loop, diffusers_out, rtol=1e-4, atol=1e-4)
        _reference[frames] = frame_loop
    return _reference[frames]


@pytest.mark.parametrize("frames", [2, 5])
def test_equals_part_one_frame_loop_and_diffusers(models, frames):
    unet, _, motion_unet = models
    with torch.no_grad():
        ours = run_ttnn_unet(unet, motion_unet, *_with_t(inputs(frames)))
    check(ours, frame_loop_output(models, frames))


def test_a_motion_module_left_out_is_noticed(models):
    """The comparison above can fail: the last motion module replaced by the identity."""
    unet, _, motion_unet = models
    with torch.no_grad():
        ours = run_ttnn_unet(unet, motion_unet, *_with_t(inputs(2)), identity={"up_blocks.3.motion_modules.2"})
    with pytest.raises(AssertionError):
        check(ours, frame_loop_output(models, 2))


def _with_t(sample_text):
    sample, text = sample_text
    return sample, 500, text


def test_motion_modules_must_fit_the_unet(models):
    unet, _, motion_unet = models
    motion = {n: None for n in motion_state_dicts(motion_unet)}
    del motion["up_blocks.2.motion_modules.1"]
    with pytest.raises(ValueError, match="missing.*up_blocks.2.motion_modules.1"):
        TtMotionUNet(ttnn, tt.UNet2DConditionModel(None, unet, BATCH, SIDE, SIDE), motion, unet.config)
