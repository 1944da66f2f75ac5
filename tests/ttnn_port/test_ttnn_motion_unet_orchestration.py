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
from temporal_cases import pcc
from tiny_motion_unet import BATCH, SIDE, golden_motion_unet, models, motion_state_dicts  # noqa: F401 (fixture)

import ttnn
from animatediff_ttnn.ttnn_motion_unet import TtMotionUNet, host_conv_in, host_conv_out


def run_ttnn_unet(unet, motion_unet, sample, t, text, identity=()):
    model = golden_motion_unet(unet, motion_unet, identity)
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
