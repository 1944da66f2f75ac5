"""The frame-loop motion UNet (motion_unet.py) against diffusers' UNetMotionModel, tiny models.

Tolerance: fp32 rounding. The frame loop runs the same layers at batch 2 instead of 2*F, which
changes only summation order; the difference must stay below 1e-5 of the output's largest value.
The last test shows that tolerance is tight enough to notice one motion module left out.
"""

import pytest
import torch

from animatediff_ttnn.motion_unet import FrameLoopMotionUNet

RELATIVE_TOLERANCE = 1e-5


@pytest.fixture(scope="module")
def models(tiny_models):
    from diffusers import UNetMotionModel

    from animatediff_ttnn.models.loading import load_motion_adapter, load_sd_components

    sd = load_sd_components(tiny_models["sd"])
    adapter = load_motion_adapter(tiny_models["motion_adapter"])
    reference = UNetMotionModel.from_unet2d(sd.unet, adapter).eval()
    return sd.unet, adapter, reference


def inputs(frames: int, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    sample = torch.randn(2, 4, frames, 8, 8, generator=g)  # [uncond, cond] x frames
    text = torch.randn(2, 77, 32, generator=g)
    return sample, text


_expected = {}  # frames -> UNetMotionModel's output for inputs(frames): computed once per session


def relative_error(unet, reference, frames: int, timestep: int = 500) -> float:
    sample, text = inputs(frames)
    with torch.no_grad():
        if frames not in _expected:
            _expected[frames] = reference(sample, timestep, encoder_hidden_states=text.repeat_interleave(frames, 0)).sample
        expected = _expected[frames]
        got = unet(sample, timestep, text)
    assert got.shape == expected.shape
    return ((got - expected).abs().max() / expected.abs().max()).item()


@pytest.mark.parametrize("frames", [2, 8, 16])
def test_frame_loop_equals_unet_motion_model(models, frames):
    unet2d, adapter, reference = models
    unet = FrameLoopMotionUNet.from_adapter(unet2d, adapter)
    error = relative_error(unet, reference, frames)
    assert error <= RELATIVE_TOLERANCE, f"frame loop differs from UNetMotionModel: relative error {error:.3g}"


def test_motion_scale_zero_is_plain_sd_per_frame(models):
    unet2d, adapter, _ = models
    sample, text = inputs(3)
    with torch.no_grad():
        off = FrameLoopMotionUNet.from_adapter(unet2d, adapter, motion_scale=0.0)(sample, 500, text)
        on = FrameLoopMotionUNet.from_adapter(unet2d, adapter)(sample, 500, text)
        for f in range(3):
            plain = unet2d(sample[:, :, f], 500, encoder_hidden_states=text).sample
            torch.testing.assert_close(off[:, :, f], plain, rtol=0, atol=1e-5)
    assert (on - off).abs().max() > 1e-3  # and with the modules on, the frames do see each other


class SkipOne(FrameLoopMotionUNet):
    """The frame loop with one motion module left out: what a misplaced insertion point looks like."""

    skipped = ""

    def motion(self, name, frames):
        return frames if name == self.skipped else super().motion(name, frames)


def test_leaving_out_any_one_motion_module_breaks_equivalence(models):
    unet2d, adapter, reference = models
    unet = SkipOne.from_adapter(unet2d, adapter)
    assert len(unet.names) == 7  # the tiny adapter: 2 down, 1 mid, 4 up
    for name in unet.names:
        unet.skipped = name
        error = relative_error(unet, reference, 2)
        assert error > 100 * RELATIVE_TOLERANCE, f"{name} left out, yet the output matches ({error:.2g})"


def test_adapter_that_does_not_fit_the_unet_is_refused_at_build(models):
    unet2d, adapter, _ = models
    from animatediff_ttnn.temporal_module import motion_modules_from_adapter

    modules = motion_modules_from_adapter(adapter)
    del modules["up_blocks.1.motion_modules.1"]
    with pytest.raises(ValueError, match="up_blocks.1.motion_modules.1"):
        FrameLoopMotionUNet(unet2d, modules)
