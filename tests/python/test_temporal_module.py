"""The plain motion module (temporal_module.py) against diffusers' AnimateDiffTransformer3D.

Tolerance: fp32 rounding. Both sides do the same operations on the same weights, so the
difference of the motion branch (output - input) must stay below 1e-5 of its largest value.
"""

import pytest
import torch

from animatediff_ttnn.temporal_module import TemporalTransformer, motion_modules_from_adapter

RELATIVE_TOLERANCE = 1e-5


def diffusers_module(channels: int, max_frames: int, seed: int):
    """One motion module exactly as diffusers' MotionAdapter builds it, with every weight random
    (including proj_out, which training initialises to zero and would make the test trivial)."""
    from diffusers.models.unets.unet_motion_model import MotionModules

    torch.manual_seed(seed)
    module = MotionModules(channels, layers_per_block=1, transformer_layers_per_block=1, num_attention_heads=8,
                           max_seq_length=max_frames).motion_modules[0]
    with torch.no_grad():
        for name, param in module.named_parameters():
            if name.endswith("weight") and param.dim() == 2:
                param.normal_(0, param.shape[1] ** -0.5)  # unit-gain random linear layers
            else:
                param.normal_(1.0 if "norm" in name and name.endswith("weight") else 0.0, 0.1)
    return module.eval()


def assert_same_motion(ours, theirs, x, frames):
    with torch.no_grad():
        expected = theirs(x, num_frames=frames)
        got = ours(x, frames)
    # compare the motion branch (output - input): the residual alone would hide errors in it
    scale = (expected - x).abs().max().item()
    assert scale > 0.1, "the motion branch is too small for the comparison to mean anything"
    error = (got - expected).abs().max().item()
    assert error <= RELATIVE_TOLERANCE * scale, f"motion branch differs by {error:.3g} (scale {scale:.3g})"


def test_state_dict_keys_and_shapes_are_diffusers_own():
    theirs = diffusers_module(64, 16, seed=0)
    ours = TemporalTransformer(64, heads=8, max_frames=16)
    assert {k: v.shape for k, v in ours.state_dict().items()} == {k: v.shape for k, v in theirs.state_dict().items()}
    ours.load_state_dict(theirs.state_dict())  # strict: the keys are the contract with the TTNN port


@pytest.mark.parametrize("frames", [2, 8, 16])
def test_tiny_module_equals_diffusers(frames):
    theirs = diffusers_module(32, 16, seed=frames)
    ours = TemporalTransformer.from_state_dict(theirs.state_dict())
    x = torch.randn(2 * frames, 32, 4, 4, generator=torch.Generator().manual_seed(frames))
    assert_same_motion(ours, theirs, x, frames)


@pytest.mark.parametrize("channels,size", [(320, 16), (1280, 8)])
def test_full_size_module_equals_diffusers(channels, size):
    """SD 1.4 + v1-5-2 sizes: 320 (first level, on a smaller grid to stay fast) and 1280 channels
    (its real 8x8 grid at 512x512), 32 frame positions, 16 frames, batch 2."""
    theirs = diffusers_module(channels, 32, seed=channels)
    ours = TemporalTransformer.from_state_dict(theirs.state_dict())
    x = torch.randn(2 * 16, channels, size, size, generator=torch.Generator().manual_seed(1))
    assert_same_motion(ours, theirs, x, 16)


def test_frame_positions_matter_and_zero_proj_out_is_identity():
    theirs = diffusers_module(32, 16, seed=3)
    ours = TemporalTransformer.from_state_dict(theirs.state_dict())
    x = torch.randn(8, 32, 4, 4, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        # attention alone is order-blind; the sinusoidal positions make a frame's place count
        reversed_in = ours(x.flip(0), 8).flip(0)
        assert (reversed_in - ours(x, 8)).abs().max() > 1e-3
        ours.proj_out.weight.zero_()
        ours.proj_out.bias.zero_()
        assert torch.equal(ours(x, 8), x)  # AnimateDiff's zero-init: an untrained module changes nothing


def test_bad_frame_counts_name_num_frames():
    module = TemporalTransformer(32, max_frames=4)
    with pytest.raises(ValueError, match="num_frames"):
        module(torch.zeros(6, 32, 2, 2), 4)
    with pytest.raises(ValueError, match="num_frames"):
        module(torch.zeros(8, 32, 2, 2), 8)


def test_adapter_modules_from_folder_and_original_checkpoint(tiny_models):
    """Diffusers folder, .ckpt and .safetensors in the original layout: the same modules, the same
    weights, under diffusers' UNetMotionModel names; the modules share the adapter's tensors."""
    from animatediff_ttnn.models.loading import load_motion_adapter

    adapter = load_motion_adapter(tiny_models["motion_adapter"])
    modules = motion_modules_from_adapter(adapter)
    assert sorted(modules) == sorted([
        "down_blocks.0.motion_modules.0", "down_blocks.1.motion_modules.0", "mid_block.motion_modules.0",
        "up_blocks.0.motion_modules.0", "up_blocks.0.motion_modules.1",
        "up_blocks.1.motion_modules.0", "up_blocks.1.motion_modules.1"])
    first = adapter.down_blocks[0].motion_modules[0]
    assert modules["down_blocks.0.motion_modules.0"].proj_in.weight.data_ptr() == first.proj_in.weight.data_ptr()
    x = torch.randn(2 * 4, 32, 4, 4, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        reference = first(x, num_frames=4)
        for source in ("motion_ckpt", "motion_safetensors"):
            other = motion_modules_from_adapter(load_motion_adapter(tiny_models[source]))
            assert sorted(other) == sorted(modules)
            for name, module in other.items():
                for key, value in module.state_dict().items():
                    assert torch.equal(value, modules[name].state_dict()[key]), (source, name, key)
            torch.testing.assert_close(other["down_blocks.0.motion_modules.0"](x, 4), reference, rtol=0, atol=1e-5)


def test_v1_5_2_layout_has_21_modules_at_four_widths():
    """The real adapter's layout (diffusers' MotionAdapter defaults = v1-5-2), built without weights."""
    from diffusers import MotionAdapter
    from diffusers.models.unets.unet_motion_model import AnimateDiffTransformer3D

    with torch.device("meta"):
        adapter = MotionAdapter()
    widths = {name: m.in_channels for name, m in adapter.named_modules() if isinstance(m, AnimateDiffTransformer3D)}
    assert len(widths) == 21
    assert sorted(set(widths.values())) == [320, 640, 1280]
    assert [widths[f"down_blocks.{i}.motion_modules.0"] for i in range(4)] == [320, 640, 1280, 1280]
    assert widths["mid_block.motion_modules.0"] == 1280
    assert sum(name.startswith("up_blocks.") for name in widths) == 12
