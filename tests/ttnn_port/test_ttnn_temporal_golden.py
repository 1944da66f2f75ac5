"""ttnn_temporal.py run with every ttnn op executed by its own golden function (GoldenTtnn), against
diffusers' AnimateDiffTransformer3D with the same weights.

Proves: the op sequence, the reshapes/permutes between tt-metal's per-frame layout and the
per-pixel frame sequences, frame and head padding, the frame mask, the positional table, GEGLU
and the residual - at bfloat16 storage precision. Cannot prove: device memory configs, sharding,
program configs, bfloat8_b or LoFi math, or that the device kernels accept these shapes.
"""

from __future__ import annotations

import pytest
import torch
from golden_ttnn import GoldenTtnn
from temporal_cases import from_frames, motion_module, pcc, to_frames

import ttnn
from animatediff_ttnn.ttnn_temporal import TtTemporalTransformer

# The cases' thresholds and runner are the learner's bring-up check's (animatediff_ttnn/backends/port_check.py):
# the output is input + motion branch, and the branch (output - input) is compared on its own, so a wrong
# branch cannot hide behind the residual.
from animatediff_ttnn.backends.port_check import BATCH, BRANCH_PCC_MIN, MAX_ERR_REL, branches


def run_both(channels: int, frames: int, height: int, width: int, seed: int = 0, mutate=None):
    return branches(ttnn, channels, frames, height, width, seed=seed, mutate=mutate, module_class=TtTemporalTransformer)


def check(branch: torch.Tensor, expected_branch: torch.Tensor) -> None:
    err = (branch - expected_branch).abs().max().item()
    scale = expected_branch.abs().max().item()
    p = pcc(branch, expected_branch)
    print(f"motion branch: PCC {p:.6f}  max error {err:.4f} (of max |value| {scale:.2f})")
    assert p >= BRANCH_PCC_MIN, f"PCC {p:.6f} < {BRANCH_PCC_MIN}"
    assert err <= MAX_ERR_REL * scale, f"max error {err:.4f} > {MAX_ERR_REL} * {scale:.2f}"


@pytest.mark.parametrize("frames", [1, 2, 5, 16, 32])
def test_tiny_matches_diffusers(frames):
    """C = 64: head size 8 padded to 32; F = 32 needs no frame padding, the others do."""
    actual, expected, _ = run_both(64, frames, 4, 4)
    check(actual, expected)


@pytest.mark.parametrize(
    "channels, side, frames",
    [
        (320, 16, 16),  # SD's first level width; head 40 -> 64 (the real level is 64x64: too big for this CPU)
        (640, 16, 8),  # head 80 -> 96
        (1280, 8, 16),  # head 160 (a tile multiple); the real 8x8 level of the motion UNet, 16 frames
        (1280, 8, 3),  # the same level at an odd frame count: its group norm runs on an 8x6 grid
    ],
)
def test_full_size_channels_match_diffusers(channels, side, frames):
    actual, expected, _ = run_both(channels, frames, side, side)
    check(actual, expected)


def test_every_op_runs_through_its_golden_function():
    """The whole forward is ttnn ops, and every kind the adapter knows is exercised."""
    _, _, golden = run_both(64, 3, 4, 4)
    from golden_ttnn import OPS

    assert set(golden.calls) == set(OPS) - {"typecast"}  # typecast: only between UNet blocks


def test_comparison_catches_a_missing_frame_mask():
    """The check above can fail: without the mask, padded frames take part in the softmax."""
    zero_mask = lambda m: setattr(m, "frame_mask", lambda n: torch.zeros(1, 1, 32, 32))  # noqa: E731
    actual, expected, _ = run_both(64, 5, 4, 4, mutate=zero_mask)
    with pytest.raises(AssertionError):
        check(actual, expected)


def test_too_many_frames_is_refused_naming_the_field():
    module = motion_module(64)
    tt_module = TtTemporalTransformer(GoldenTtnn(ttnn), module.state_dict())
    frames = [torch.zeros(1, 1, 2 * 16, 64)] * 33
    with pytest.raises(ValueError, match="frames: 1..32"):
        tt_module(frames, batch=2, height=4, width=4)


def test_motion_scale_scales_only_the_branch():
    """motion_scale (Phase 3's knob, as in motion_unet.FrameLoopMotionUNet): input + scale * branch."""
    module = motion_module(64)
    torch.manual_seed(3)
    x = torch.randn(BATCH * 4, 64, 4, 4)
    with torch.no_grad():
        branch = module(x, num_frames=4) - x
    golden = GoldenTtnn(ttnn)
    out = TtTemporalTransformer(golden, module.state_dict())(
        to_frames(x, BATCH, 4), batch=BATCH, height=4, width=4, motion_scale=0.5
    )
    check(from_frames(out, BATCH, 4, 4) - x, 0.5 * branch)
