"""Phase 3 (the frame loop) with the creative controls of Phase 1: context windows, prompt schedule,
motion LoRAs - each equal to Phase 1's result on the same tiny models, and refused by name where the
blackhole backend cannot run it.

Tolerances: fp32 rounding. One motion module with windows vs diffusers' FreeNoise block: 1e-5 of the
motion branch's largest value (as test_temporal_module.py). Whole runs, Phase 3 vs Phase 1: final
latents within 1e-4 of their largest value and pixels within 2 levels (as test_phase3.py).
"""

import numpy as np
import pytest
import torch

from animatediff_ttnn.creative.free_noise import frame_windows, window_weights
from animatediff_ttnn.creative.long_clips import ContextWindows
from animatediff_ttnn.motion_pipeline import Phase3Pipeline, run_phase3
from animatediff_ttnn.params import GenerationParams, ParamError
from animatediff_ttnn.temporal_module import TemporalTransformer

from conftest import frames_array, gif_frames
from test_temporal_module import diffusers_module

FOX, OWL = "a red fox running", "a white owl flying"


@pytest.fixture(scope="module")
def phase3(phase1):
    return Phase3Pipeline(phase1.sd, phase1.adapter, phase1.adapter_source, backend="torch")


def params(**kw):
    base = dict(prompt=FOX, negative_prompt="blurry", num_frames=8, steps=2, seed=7, width=64, height=64)
    base.update(kw)
    return GenerationParams(**base)


def run(pipeline, p, **kw):
    seen = []
    frames = pipeline.generate(p, on_step=lambda e: seen.append(e.latents), **kw)
    return frames_array(frames), seen[-1].float()


def assert_same_run(phase1, phase3, p, **kw):
    frames1, latents1 = run(phase1, p, **kw)
    frames3, latents3 = run(phase3, p, **kw)
    error = ((latents3 - latents1).abs().max() / latents1.abs().max()).item()
    assert error <= 1e-4, f"final latents differ by {error:.3g} (relative)"
    assert np.abs(frames1 - frames3).max() <= 2
    return frames3


# ---- context windows ---------------------------------------------------------------------------

def test_windows_and_weights_are_diffusers_own():
    from diffusers.models.attention import FreeNoiseTransformerBlock

    block = FreeNoiseTransformerBlock(8, 1, 8, context_length=8, context_stride=3)
    assert frame_windows(22, 8, 3) == (block._get_frame_indices(22) + [(14, 22)], 2)  # (12, 20), then one for 20..21
    block.set_free_noise_properties(8, 4)
    assert frame_windows(24, 8, 4) == (block._get_frame_indices(24), 0)
    for scheme in ("flat", "pyramid", "delayed_reverse_sawtooth"):
        for length in (4, 5, 16):
            assert window_weights(length, scheme) == block._get_frame_weights(length, scheme)


@pytest.mark.parametrize("frames, length, stride, scheme", [
    (24, 8, 4, "pyramid"),            # windows end exactly on the last frame
    (22, 8, 3, "pyramid"),            # one more window, for the last 2 frames
    (23, 8, 6, "delayed_reverse_sawtooth"),  # ... for the last 3
    (20, 8, 4, "flat"),
])
def test_windowed_motion_module_equals_diffusers_free_noise(frames, length, stride, scheme):
    """Our TemporalTransformer with windows vs diffusers' AnimateDiffTransformer3D whose block is a
    FreeNoiseTransformerBlock (what enable_free_noise puts in), same random weights."""
    from diffusers.models.attention import FreeNoiseTransformerBlock

    theirs = diffusers_module(32, 32, seed=frames)
    basic = theirs.transformer_blocks[0]
    free = FreeNoiseTransformerBlock(
        dim=basic.dim, num_attention_heads=basic.num_attention_heads, attention_head_dim=basic.attention_head_dim,
        cross_attention_dim=basic.cross_attention_dim, activation_fn=basic.activation_fn,
        attention_bias=basic.attention_bias, double_self_attention=basic.double_self_attention,
        positional_embeddings=basic.positional_embeddings, num_positional_embeddings=basic.num_positional_embeddings,
        context_length=length, context_stride=stride, weighting_scheme=scheme)
    free.load_state_dict(basic.state_dict())
    theirs.transformer_blocks[0] = free.eval()
    ours = TemporalTransformer.from_state_dict(theirs.state_dict())
    windows = ContextWindows(length, stride, scheme)
    x = torch.randn(2 * frames, 32, 4, 4, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        expected = theirs(x, num_frames=frames) - x
        got = ours.motion(x, frames, windows)
        sliced = ours.motion(x, frames, windows, pixel_chunk=5)  # slicing the pixel sequences changes nothing
    scale = expected.abs().max().item()
    assert scale > 0.1
    assert (got - expected).abs().max().item() <= 1e-5 * scale
    assert (sliced - expected).abs().max().item() <= 1e-5 * scale


@pytest.mark.parametrize("noise_type", ["shuffle_context", "random"])
def test_windowed_run_equals_phase1(phase1, phase3, noise_type):
    p = params(num_frames=24, context_length=8, context_stride=4, noise_type=noise_type)
    assert_same_run(phase1, phase3, p)
    assert phase3.describe()["creative"]["context_windows"] == phase1.describe()["creative"]["context_windows"]


def test_64_frames_run_end_to_end_with_windows(phase3, tmp_path):
    """4x the tiny adapter's 16-frame window, automatic windows, every frame written, the record says how."""
    result = run_phase3(params(num_frames=64, steps=1, width=32, height=32), tmp_path / "long.gif", pipeline=phase3)
    frames, size, _ = gif_frames(result.outputs["gif"])
    assert len(frames) == 64 and size == (32, 32)
    assert result.metadata["creative"]["context_windows"] == {
        "context_length": 16, "context_stride": 4, "weighting": "pyramid", "noise_type": "shuffle_context",
        "split_inference": True}
    model = phase3._backend.model
    assert model.windows is None and model.pixel_chunk is None  # switched off after the run


def test_a_window_above_the_position_table_is_refused(phase3):
    with pytest.raises(ParamError) as err:
        phase3.generate(params(num_frames=40, context_length=17))
    assert err.value.field == "context_length" and "position table" in str(err.value)


# ---- prompt schedule -----------------------------------------------------------------------------

def test_schedule_equals_phase1(phase1, phase3):
    """Per-frame text in the frame loop = diffusers' FreeNoise prompt path (Phase 1 runs it as one window)."""
    assert_same_run(phase1, phase3, params(num_frames=12, prompt_schedule=f"0: {FOX} | 6: {OWL}"))
    assert phase3.describe()["creative"]["prompt_schedule"] == phase1.describe()["creative"]["prompt_schedule"]
    assert phase3.describe()["creative"]["context_windows"] is None  # Phase 3 needs no window for it


def test_schedule_changes_the_frames_where_it_says(phase3):
    """Motion off: each frame depends on its own prompt only. Frame 0 is the fox run's, 6.. the owl run's."""
    p = dict(num_frames=10)
    fox, _ = run(phase3, params(**p), motion_scale=0.0)
    owl, _ = run(phase3, params(prompt=OWL, **p), motion_scale=0.0)
    travel, _ = run(phase3, params(prompt_schedule=f"0: {FOX} | 6: {OWL}", **p), motion_scale=0.0)
    assert np.abs(travel[0] - fox[0]).max() <= 1
    assert all(np.abs(travel[i] - owl[i]).max() <= 1 for i in range(6, 10))
    assert all(np.abs(travel[i] - fox[i]).max() > 1 and np.abs(travel[i] - owl[i]).max() > 1 for i in range(1, 6))


def test_schedule_and_windows_together_equal_phase1(phase1, phase3):
    assert_same_run(phase1, phase3, params(num_frames=20, context_length=8, context_stride=4,
                                           prompt_schedule=f"0: {FOX} | 10: {OWL}"))


# ---- motion LoRAs ----------------------------------------------------------------------------------

def test_motion_lora_equals_phase1_and_weight_0_changes_nothing(phase1, phase3, tiny_models):
    plain, _ = run(phase3, params())
    two = f"{tiny_models['motion_lora_ckpt']}:0.8,{tiny_models['motion_lora']}:-0.5"  # several at once
    with_loras = assert_same_run(phase1, phase3, params(motion_loras=two))
    assert np.abs(with_loras - plain).max() > 8
    zero, _ = run(phase3, params(motion_loras=f"{tiny_models['motion_lora_ckpt']}:0"))
    assert np.array_equal(zero, plain)
    again, _ = run(phase3, params())
    assert np.array_equal(again, plain)  # nothing stays applied after a run
    assert phase3.describe()["creative"]["motion_loras"] == []


# ---- what the blackhole backend cannot do yet ----------------------------------------------------

@pytest.mark.parametrize("field, extra", [
    ("prompt_schedule", {"prompt_schedule": f"0: {FOX} | 4: {OWL}"}),
    ("motion_loras", {"motion_loras": "TINY_LORA:0.5"}),
    ("context_length", {"num_frames": 64}),
    ("context_length", {"num_frames": 16, "context_length": 8}),
])
def test_blackhole_backend_refuses_by_name_before_opening_anything(phase1, tiny_models, monkeypatch, field, extra):
    pipeline = Phase3Pipeline(phase1.sd, phase1.adapter, phase1.adapter_source, backend="blackhole")
    opened = []
    monkeypatch.setattr(Phase3Pipeline, "backend_for", lambda self, p: opened.append(p))
    extra = {k: v.replace("TINY_LORA", tiny_models["motion_lora_ckpt"]) if isinstance(v, str) else v
             for k, v in extra.items()}
    with pytest.raises(ParamError) as err:
        pipeline.generate(params(**extra))
    assert err.value.field == field and "blackhole" in str(err.value) and "torch" in str(err.value)
    assert opened == []  # refused before the backend (and its device) was even asked for


@pytest.mark.parametrize("frames, length, stride", [(24, 8, 4), (22, 8, 3), (64, 16, 4), (8, 8, 4)])
def test_window_noise_is_diffusers_draw_for_draw(frames, length, stride):
    """Both phases start from free_noise.window_noise: the same tensor diffusers' FreeNoise prepares
    from the same seed (shuffle_context; its random draws from the same generator)."""
    from types import SimpleNamespace

    from diffusers.pipelines.free_noise_utils import AnimateDiffFreeNoiseMixin

    from animatediff_ttnn.creative.free_noise import window_noise

    pipe = SimpleNamespace(_free_noise_context_length=length, _free_noise_context_stride=stride,
                           _free_noise_noise_type="shuffle_context", vae_scale_factor=8)
    theirs = AnimateDiffFreeNoiseMixin._prepare_latents_free_noise(
        pipe, 1, 4, frames, 16, 16, torch.float32, "cpu", torch.Generator().manual_seed(3))
    generator = torch.Generator().manual_seed(3)
    ours = window_noise(torch.randn((1, 4, frames, 2, 2), generator=generator),
                        ContextWindows(length, stride), generator)
    assert torch.equal(ours, theirs)
