"""The validation script's own plumbing, run with golden ops instead of a card: a motion-module check
(uploading frames in tt-metal's layout, reading them back, comparing with temporal_module.py) must
pass for a correct module and fail for a broken one, so that a failure on a card is the port's
and not the validator's."""

from __future__ import annotations

import torch
from golden_ttnn import GoldenTtnn, round_bf16
from tiny_motion_unet import BATCH, golden_motion_unet, models  # noqa: F401 (fixture)

import ttnn
from animatediff_ttnn.backends import validation


def tiny_adapter():
    from diffusers import MotionAdapter

    torch.manual_seed(0)
    adapter = MotionAdapter(block_out_channels=(64, 128), motion_layers_per_block=1, motion_norm_num_groups=32,
                            motion_num_attention_heads=8, motion_max_seq_length=32)
    with torch.no_grad():  # trained adapters are not the identity: give proj_out weights
        for name, p in adapter.named_parameters():
            if "proj_out" in name:
                p.normal_(0, 0.05)
    return adapter


def test_motion_module_checks_pass_through_the_validators_plumbing():
    checks = validation.check_motion_modules(GoldenTtnn(ttnn), None, tiny_adapter(), [2])
    assert [c.name.split()[2] for c in checks] == [  # in the order a UNet call reaches them
        "down_blocks.0.motion_modules.0", "down_blocks.1.motion_modules.0", "mid_block.motion_modules.0",
        "up_blocks.0.motion_modules.0", "up_blocks.0.motion_modules.1",
        "up_blocks.1.motion_modules.0", "up_blocks.1.motion_modules.1",
    ]
    assert all(c.status == "passed" and c.pcc > 0.999 for c in checks), checks


def test_a_broken_module_fails_its_check_and_stops_there(monkeypatch):
    from animatediff_ttnn.ttnn_temporal import TtTemporalTransformer

    real = TtTemporalTransformer.frame_mask
    monkeypatch.setattr(TtTemporalTransformer, "frame_mask", lambda self, n: real(self, 32))  # no masking
    checks = validation.check_motion_modules(GoldenTtnn(ttnn), None, tiny_adapter(), [2])
    assert len(checks) == 1 and checks[0].status == "failed" and checks[0].pcc < validation.PCC_MODULE


def test_level_sides_at_512():
    assert validation.level_side("down_blocks.0.motion_modules.1") == 64
    assert validation.level_side("mid_block.motion_modules.0") == 8
    assert validation.level_side("up_blocks.3.motion_modules.2") == 64


class GoldenMotionBackend:
    """What check_phase3_blocks uses of BlackholeMotionBackend, on stand-ins and golden ops."""

    def __init__(self, unet, motion_unet):
        self.unet, self.model = unet, golden_motion_unet(unet, motion_unet)

    def time_embedding(self, timestep):
        return self.unet.time_embedding(self.unet.time_proj(torch.full((BATCH,), timestep)))

    def prepare_text_embeddings(self, text):
        return text

    def upload_rows(self, rows):
        return round_bf16(rows)

    def download_rows(self, rows):
        return rows


def test_phase3_block_checks_pass_through_the_validators_plumbing(models):
    from animatediff_ttnn.motion_unet import FrameLoopMotionUNet

    unet, adapter, motion_unet = models
    with torch.no_grad():
        checks = validation.check_phase3_blocks(GoldenMotionBackend(unet, motion_unet),
                                                FrameLoopMotionUNet.from_adapter(unet, adapter), 2)
    names = [c.name for c in checks]
    assert names == [f"Phase 3 {b} F=2" for b in
                     ["down_blocks.0", "down_blocks.1", "down_blocks.2", "down_blocks.3", "mid_block",
                      "up_blocks.0", "up_blocks.1", "up_blocks.2", "up_blocks.3"]]
    assert all(c.status == "passed" for c in checks), checks
