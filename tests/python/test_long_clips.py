"""Context windows (FreeNoise) on the tiny models: long clips, equivalence with diffusers, limits, clean-up."""

import numpy as np
import pytest
import torch

from animatediff_ttnn.creative import long_clips
from animatediff_ttnn.params import SPEC, GenerationParams, ParamError
from animatediff_ttnn.models.presets import ANIMATEDIFF_SCHEDULER_OVERRIDES
from animatediff_ttnn.pipeline import run_phase1

from conftest import frames_array, gif_frames

TINY_WINDOW = 16  # the tiny adapter's motion_max_seq_length


def params(**kw):
    base = dict(prompt="a red fox running", negative_prompt="blurry", num_frames=8, steps=2, seed=7, width=64, height=64)
    base.update(kw)
    return GenerationParams(**base)


def unet_layout(unet):
    return [(name, type(m).__name__) for name, m in unet.named_modules()]


def test_64_frames_with_windows_end_to_end(phase1, tmp_path):
    """4x the position table: windows switch on, every frame is written, the record says how it ran."""
    p = params(num_frames=64, steps=1, width=32, height=32, context_length=16, context_stride=8)
    result = run_phase1(p, tmp_path / "long.gif", pipeline=phase1)
    frames, size, _ = gif_frames(result.outputs["gif"])
    assert len(frames) == 64 and size == (32, 32)
    windows = result.metadata["creative"]["context_windows"]
    assert windows == {"context_length": 16, "context_stride": 8, "weighting": "pyramid",
                       "noise_type": "shuffle_context", "split_inference": True}
    assert result.metadata["params"]["context_length"] == 16


def test_longer_than_the_window_switches_windows_on_by_itself(phase1):
    frames = phase1.generate(params(num_frames=TINY_WINDOW + 4, steps=1, width=32, height=32))
    assert len(frames) == TINY_WINDOW + 4
    assert phase1.last_controls.windows.context_length == TINY_WINDOW


def test_limits_name_the_field(phase1):
    with pytest.raises(ParamError) as err:
        phase1.generate(params(context_length=TINY_WINDOW + 1))
    assert err.value.field == "context_length" and "position table" in str(err.value) and "16" in str(err.value)
    with pytest.raises(ParamError) as err:
        phase1.generate(params(num_frames=SPEC["num_frames"].maximum + 1))
    assert err.value.field == "num_frames"
    with pytest.raises(ParamError) as err:
        phase1.generate(params(num_frames=32, context_length=8, context_stride=9))
    assert err.value.field == "context_stride"
    with pytest.raises(ParamError) as err:
        phase1.generate(params(num_frames=32, context_weighting="gaussian"))
    assert err.value.field == "context_weighting"


def test_windowed_run_equals_diffusers_free_noise(tiny_models, monkeypatch):
    """Our switch-on (weight-sharing FreeNoise blocks, split inference, switched off after) computes exactly
    what diffusers' own enable_free_noise + enable_free_noise_split_inference computes (diffusers' kernels)."""
    from diffusers import AnimateDiffPipeline, DDIMScheduler, MotionAdapter

    from animatediff_ttnn.pipeline import Phase1Pipeline

    monkeypatch.setenv("ANIMATEDIFF_ONEDNN_LINEAR", "0")
    ours, _ = Phase1Pipeline.from_sources(tiny_models["sd"], tiny_models["motion_adapter"], device="cpu",
                                          dtype="float32")  # bare diffusers runs fp32
    p = params(num_frames=24, context_length=8, context_stride=4,
               prompt_schedule="0: a red fox running | 12: a white owl flying")
    mine = frames_array(ours.generate(p))

    bare = AnimateDiffPipeline.from_pretrained(tiny_models["sd"],
                                               motion_adapter=MotionAdapter.from_pretrained(tiny_models["motion_adapter"]))
    bare.scheduler = DDIMScheduler.from_pretrained(tiny_models["sd"], subfolder="scheduler", **ANIMATEDIFF_SCHEDULER_OVERRIDES)
    bare.set_progress_bar_config(disable=True)
    bare.enable_free_noise(context_length=8, context_stride=4)
    bare.enable_free_noise_split_inference(long_clips.SPATIAL_SPLIT_PIXELS, long_clips.TEMPORAL_SPLIT_FRAMES)
    theirs = frames_array(bare(prompt={0: "a red fox running", 12: "a white owl flying"}, negative_prompt="blurry",
                           num_frames=24, height=64, width=64, num_inference_steps=2, guidance_scale=7.5,
                           generator=torch.Generator("cpu").manual_seed(7), output_type="pil").frames[0])
    assert np.abs(mine - theirs).max() == 0


def test_one_window_equals_no_windows_and_split_inference_changes_nothing(phase1, monkeypatch):
    """FreeNoise over a single window is the plain computation (fp32 rounding: <= 1 level); slicing the
    batch for memory gives the same frames as not slicing it."""
    plain = frames_array(phase1.generate(params()))
    one_window = frames_array(phase1.generate(params(prompt_schedule="0: a red fox running")))
    assert phase1.last_controls.windows.context_length == 8
    assert np.abs(plain - one_window).max() <= 1

    long = params(num_frames=24, steps=1, context_length=8, context_stride=4)
    sliced = frames_array(phase1.generate(long))
    monkeypatch.setattr(long_clips, "TEMPORAL_SPLIT_FRAMES", 10_000)
    monkeypatch.setattr(long_clips, "SPATIAL_SPLIT_PIXELS", 10_000_000)
    whole = frames_array(phase1.generate(long))
    assert np.abs(sliced - whole).max() <= 1


def test_windows_are_switched_off_after_the_run_even_when_it_fails(phase1):
    before = unet_layout(phase1.pipe.unet)
    reference = frames_array(phase1.generate(params(num_frames=4)))
    phase1.generate(params(num_frames=24, steps=1, context_length=8))
    assert unet_layout(phase1.pipe.unet) == before and not phase1.pipe.free_noise_enabled

    def boom(*_a, **_k):
        raise RuntimeError("user callback failed")

    with pytest.raises(RuntimeError):
        phase1.generate(params(num_frames=24, steps=1, context_length=8), on_step=boom)
    assert unet_layout(phase1.pipe.unet) == before and not phase1.pipe.free_noise_enabled
    assert np.array_equal(frames_array(phase1.generate(params(num_frames=4))), reference)


def test_free_noise_blocks_share_the_motion_weights(phase1):
    """The FreeNoise stand-ins hold no copy of the motion module weights."""
    phase1.generate(params(num_frames=24, steps=1, context_length=8))
    twins = phase1.pipe.unet.__dict__["_free_noise_twins"]
    assert len(twins) == 7  # tiny adapter: 2 down + 1 mid + 4 up motion modules, one transformer block each
    for original, twin in twins.values():
        ours = dict(twin.named_parameters())
        assert ours and all(ours[name] is tensor for name, tensor in original.named_parameters())
