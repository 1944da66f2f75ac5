"""Phase 1 end to end on the tiny models: real diffusers AnimateDiffPipeline, real files."""

import numpy as np
import pytest
import torch

from animatediff_ttnn.params import GenerationParams, ParamError
from animatediff_ttnn.models.presets import ANIMATEDIFF_SCHEDULER_OVERRIDES
from animatediff_ttnn.pipeline import run_phase1
from animatediff_ttnn.runtime.progress import CancelToken, Cancelled

from conftest import SMALL, gif_frames, leftovers


def params(**kw):
    base = dict(prompt="a red fox running", negative_prompt="blurry", num_frames=4, steps=3, seed=7, **SMALL)
    base.update(kw)
    return GenerationParams(**base)


def test_writes_gif_with_asked_frames_size_and_metadata(phase1, tmp_path):
    result = run_phase1(params(num_frames=5, width=80, height=64, fps=5), tmp_path / "fox.gif", pipeline=phase1)
    frames, size, info = gif_frames(result.outputs["gif"])
    assert len(frames) == 5 and size == (80, 64)
    assert info["loop"] == 0 and info["duration"] == 200
    meta = result.metadata
    assert meta["phase"] == 1 and meta["params"]["num_frames"] == 5 and meta["seed"] == 7
    assert meta["models"]["motion_adapter"]["max_frames"] == 16
    assert len(meta["timings"]["steps_s"]) == 3
    assert (tmp_path / "fox.json").exists()


def test_same_seed_same_frames_other_seed_differs(phase1):
    a = [np.asarray(f) for f in phase1.generate(params())]
    b = [np.asarray(f) for f in phase1.generate(params())]
    c = [np.asarray(f) for f in phase1.generate(params(seed=8))]
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    assert not all(np.array_equal(x, y) for x, y in zip(a, c))


def bare_diffusers_frames(tiny_models, p):
    from diffusers import AnimateDiffPipeline, DDIMScheduler, MotionAdapter

    adapter = MotionAdapter.from_pretrained(tiny_models["motion_adapter"])
    bare = AnimateDiffPipeline.from_pretrained(tiny_models["sd"], motion_adapter=adapter)
    bare.scheduler = DDIMScheduler.from_pretrained(tiny_models["sd"], subfolder="scheduler", **ANIMATEDIFF_SCHEDULER_OVERRIDES)
    bare.set_progress_bar_config(disable=True)
    return bare(prompt=p.prompt, negative_prompt=p.negative_prompt, num_frames=p.num_frames, height=p.height,
                width=p.width, num_inference_steps=p.steps, guidance_scale=p.guidance_scale,
                generator=torch.Generator("cpu").manual_seed(p.seed), output_type="pil").frames[0]


def pixel_diffs(ours, theirs):
    assert len(ours) == len(theirs)
    return [np.abs(np.asarray(a, dtype=np.int16) - np.asarray(b, dtype=np.int16)) for a, b in zip(ours, theirs)]


def test_matches_bare_diffusers_animatediff_exactly(tiny_models, monkeypatch):
    """The wrapper does not change the math: with diffusers' own kernels the frames are bit-identical."""
    from animatediff_ttnn.pipeline import Phase1Pipeline

    monkeypatch.setenv("ANIMATEDIFF_ONEDNN_LINEAR", "0")
    pipeline, _ = Phase1Pipeline.from_sources(tiny_models["sd"], tiny_models["motion_adapter"], device="cpu",
                                              dtype="float32")
    assert not any(type(m).__name__ == "OneDNNLinear" for m in pipeline.pipe.unet.modules())
    p = params()
    assert all(d.max() == 0 for d in pixel_diffs(pipeline.generate(p), bare_diffusers_frames(tiny_models, p)))


def test_fp32_as_shipped_stays_within_fp32_rounding_of_bare_diffusers(tiny_models):
    """In fp32, linear layers may run through oneDNN (runtime/cpu_speedups.py, AMD AVX-512 CPUs):
    summation order differs from MKL's, so a few pixels may move by a level or two, no more."""
    from animatediff_ttnn.pipeline import Phase1Pipeline

    pipeline, _ = Phase1Pipeline.from_sources(tiny_models["sd"], tiny_models["motion_adapter"], device="cpu",
                                              dtype="float32")
    p = params()
    for diff in pixel_diffs(pipeline.generate(p), bare_diffusers_frames(tiny_models, p)):
        assert diff.max() <= 2 and (diff > 0).mean() < 0.01


def test_previews_for_every_step_and_frame(phase1):
    events = []
    phase1.generate(params(num_frames=3, steps=4), on_step=events.append)
    assert [e.step for e in events] == [1, 2, 3, 4]
    assert all(e.total_steps == 4 and e.frame is None and len(e.previews) == 3 for e in events)
    assert all(img.size == (8, 8) and img.mode == "RGB" for e in events for img in e.previews)
    # previews come from x0, which changes as denoising goes on
    assert not np.array_equal(np.asarray(events[0].previews[0]), np.asarray(events[-1].previews[0]))


def test_cancel_stops_within_a_step_and_writes_nothing(phase1, tmp_path):
    token = CancelToken()
    steps_seen = []

    def on_step(event):
        steps_seen.append(event.step)
        if event.step == 2:
            token.cancel()

    unet_calls = []
    hook = phase1.pipe.unet.register_forward_pre_hook(lambda *_: unet_calls.append(1))
    try:
        with pytest.raises(Cancelled):
            run_phase1(params(steps=10), tmp_path / "out" / "x.gif", pipeline=phase1, on_step=on_step, cancel=token)
    finally:
        hook.remove()
    assert steps_seen == [1, 2]
    assert len(unet_calls) == 2  # no UNet call after the cancel (CFG batches both halves in one call)
    assert leftovers(tmp_path / "out") == []
