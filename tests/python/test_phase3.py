"""Phase 3 (frame-loop AnimateDiff) with the torch backend on the tiny models."""

import numpy as np
import pytest
import torch

from animatediff_ttnn import motion_pipeline
from animatediff_ttnn.motion_pipeline import Phase3Pipeline, run_phase3
from animatediff_ttnn.params import GenerationParams, ParamError
from animatediff_ttnn.runtime.progress import CancelToken, Cancelled

from conftest import SMALL, gif_frames, leftovers


@pytest.fixture(scope="module")
def phase3(phase1):
    # the very models Phase 1 holds: same weights, so any difference is the frame loop's
    return Phase3Pipeline(phase1.sd, phase1.adapter, phase1.adapter_source, backend="torch")


def params(**kw):
    base = dict(prompt="a lighthouse at night", num_frames=4, steps=3, seed=5, **SMALL)
    base.update(kw)
    return GenerationParams(**base)


def final_latents(pipeline, p, **kw):
    seen = []
    frames = pipeline.generate(p, on_step=lambda e: seen.append(e.latents), **kw)
    return frames, seen[-1]


@pytest.mark.parametrize("guidance", [7.5, 1.0])
def test_same_seed_same_frames_as_phase1(phase1, phase3, guidance):
    """Phase 1 (diffusers' UNetMotionModel on all frames) and Phase 3 (the frame loop): final latents
    within 1e-4 of their largest value (fp32 rounding over 3 steps) and pixels within 2 levels."""
    p = params(guidance_scale=guidance)
    frames1, latents1 = final_latents(phase1, p)
    frames3, latents3 = final_latents(phase3, p)
    assert latents3.shape == latents1.shape
    error = ((latents3 - latents1).abs().max() / latents1.abs().max()).item()
    assert error <= 1e-4, f"final latents differ by {error:.3g} (relative)"
    for a, b in zip(frames1, frames3):
        assert np.abs(np.asarray(a).astype(int) - np.asarray(b).astype(int)).max() <= 2


def test_motion_scale_zero_switches_the_modules_off(phase3, monkeypatch):
    on = [np.asarray(f) for f in phase3.generate(params(steps=2))]
    off = [np.asarray(f) for f in phase3.generate(params(steps=2), motion_scale=0.0)]
    assert any(not np.array_equal(a, b) for a, b in zip(on, off))
    assert phase3.last_motion_scale == 0.0
    monkeypatch.setattr(motion_pipeline, "MOTION_SCALE", 0.0)  # the lesson's exercise edits this constant
    assert all(np.array_equal(a, np.asarray(b)) for a, b in zip(off, phase3.generate(params(steps=2))))


def test_end_to_end_gif_record_previews_and_frames(phase3, tmp_path):
    order = []
    result = run_phase3(params(num_frames=3, steps=2), tmp_path / "m.gif", pipeline=phase3,
                        on_step=lambda e: order.append(("step", e.step, e.frame, len(e.previews))),
                        on_frame=lambda e: order.append(("frame", e.frame, e.image.size)))
    assert order == [("step", 1, None, 3), ("step", 2, None, 3),
                     ("frame", 0, (64, 64)), ("frame", 1, (64, 64)), ("frame", 2, (64, 64))]
    frames, size, _ = gif_frames(result.outputs["gif"])
    assert len(frames) == 3 and size == (64, 64)
    meta = result.metadata
    assert meta["phase"] == 3 and meta["backend"] == "torch" and meta["motion_scale"] == 1.0
    assert meta["vae"].startswith("torch VAE on cpu")  # backends/vae_backend.py: the torch VAE decoded
    assert meta["scheduler"]["class"] == "DDIMScheduler" and len(meta["timings"]["steps_s"]) == 2
    assert set(meta["coherence"]) == {"similarity", "motion_px", "residual"}


def test_cancel_within_one_step_writes_nothing(phase3, tmp_path):
    token = CancelToken()
    steps = []

    def on_step(event):
        steps.append(event.step)
        token.cancel()

    with pytest.raises(Cancelled):
        run_phase3(params(steps=3), tmp_path / "out" / "c.gif", pipeline=phase3, on_step=on_step, cancel=token)
    assert steps == [1] and leftovers(tmp_path / "out") == []


@pytest.mark.parametrize("kw, field", [(dict(motion_scale=-1), "motion_scale"), (dict(motion_scale="x"), "motion_scale")])
def test_bad_motion_scale_names_the_field(phase3, kw, field):
    with pytest.raises(ParamError) as info:
        phase3.generate(params(), **kw)
    assert info.value.field == field


def test_too_many_frames_names_num_frames(phase3):
    """Above the adapter's window Phase 3 runs context windows (test_phase3_creative.py); the limit is the
    parameter's own maximum."""
    from animatediff_ttnn.params import SPEC

    with pytest.raises(ParamError) as info:
        phase3.generate(params(num_frames=SPEC["num_frames"].maximum + 1))
    assert info.value.field == "num_frames"


def test_blackhole_backend_is_refused_clearly(phase1):
    from animatediff_ttnn.backends.unet_backend import BackendUnavailable

    pipeline = Phase3Pipeline(phase1.sd, phase1.adapter, phase1.adapter_source, backend="blackhole")
    with pytest.raises(BackendUnavailable, match="torch"):
        pipeline.generate(params())


def test_from_sources_records_the_dtype_and_why(tiny_models):
    """Like Phases 1 and 2, the run record says which dtype ran and why (device.choose_dtype)."""
    from animatediff_ttnn.runtime.device import choose_dtype

    pipeline, _ = Phase3Pipeline.from_sources(tiny_models["sd"], tiny_models["motion_adapter"], backend="torch",
                                              device="cpu")
    described = pipeline.describe()
    dtype, reason = choose_dtype(torch.device("cpu"))
    assert described["dtype"] == str(dtype).replace("torch.", "") and described["dtype_reason"] == reason != ""

