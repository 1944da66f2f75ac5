"""Few-step presets (AnimateDiff-Lightning, AnimateLCM) on tiny random-weight models stored under the
real file names and key layouts, loaded through the real code: the Hugging Face cache, local files."""

import numpy as np
import pytest
import torch

from animatediff_ttnn.models import loading as models
from animatediff_ttnn.params import GenerationParams, ParamError
from animatediff_ttnn.pipeline import Phase1Pipeline
from animatediff_ttnn.models.presets import (ANIMATELCM_LORA_FILE, ANIMATELCM_REPO, LIGHTNING_REPO, PRESETS, get_preset,
                                      lightning_file)

from conftest import SMALL


@pytest.fixture
def hub_cache(tiny_models, monkeypatch):
    """The presets' hub ids resolve from a Hugging Face cache holding the tiny files (no network)."""
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", tiny_models["hf_cache"])
    return tiny_models["hf_cache"]


def params(preset, **kw):
    chosen = PRESETS[preset]
    base = dict(prompt="a red fox running", negative_prompt="blurry", num_frames=4, steps=chosen.steps,
                guidance_scale=chosen.guidance_scale, seed=7, **SMALL)
    base.update(kw)
    return GenerationParams(**base)


def frames_of(images):
    return np.stack([np.asarray(f) for f in images])


def load(tiny_models, preset, dtype="float32", **kw):
    pipeline, _ = Phase1Pipeline.from_sources(tiny_models["sd"], device="cpu", dtype=dtype, preset=preset, **kw)
    return pipeline


def bare_pipeline(tiny_models, adapter):
    from diffusers import AnimateDiffPipeline

    pipe = AnimateDiffPipeline.from_pretrained(tiny_models["sd"], motion_adapter=adapter)
    pipe.set_progress_bar_config(disable=True)
    return pipe


@pytest.mark.parametrize("preset", ["lightning", "animatelcm"])
def test_same_seed_same_frames(tiny_models, hub_cache, preset):
    pipeline = load(tiny_models, preset, dtype="auto")  # bf16 on CPUs with native bf16: the shipped path
    a, b = frames_of(pipeline.generate(params(preset))), frames_of(pipeline.generate(params(preset)))
    c = frames_of(pipeline.generate(params(preset, seed=8)))
    assert a.shape == (4, 64, 64, 3) and np.array_equal(a, b) and not np.array_equal(a, c)


def test_lightning_equals_bare_diffusers_set_up_as_the_model_card_says(tiny_models, hub_cache, monkeypatch):
    """Model card: MotionAdapter + load_state_dict(load_file(hf_hub_download(repo, ckpt))), Euler with
    trailing spacing and a linear beta schedule, guidance 1.0, steps = the checkpoint's.
    (The card's `MotionAdapter()` is the full-size architecture; the tiny one takes the tiny config.)"""
    from diffusers import EulerDiscreteScheduler, MotionAdapter
    from huggingface_hub import hf_hub_download
    from safetensors.torch import load_file

    from animatediff_testing.tiny_models import TINY_ADAPTER

    monkeypatch.setenv("ANIMATEDIFF_ONEDNN_LINEAR", "0")  # diffusers' own kernels on both sides
    ours = load(tiny_models, "lightning")
    assert ours.checkpoint_steps == 4 and ours.describe()["models"]["motion_adapter"]["checkpoint_steps"] == 4

    adapter = MotionAdapter(**TINY_ADAPTER)
    adapter.load_state_dict(load_file(hf_hub_download(LIGHTNING_REPO, lightning_file(4))))
    bare = bare_pipeline(tiny_models, adapter)
    bare.scheduler = EulerDiscreteScheduler.from_config(bare.scheduler.config, timestep_spacing="trailing",
                                                        beta_schedule="linear")
    p = params("lightning")
    theirs = bare(prompt=p.prompt, guidance_scale=1.0, num_inference_steps=4, num_frames=p.num_frames,
                  height=p.height, width=p.width, generator=torch.Generator("cpu").manual_seed(p.seed)).frames[0]
    assert np.array_equal(frames_of(ours.generate(p)), frames_of(theirs))


def test_animatelcm_equals_bare_diffusers_set_up_as_the_model_card_says(tiny_models, hub_cache, monkeypatch):
    """Model card: MotionAdapter.from_pretrained(repo), LCMScheduler with a linear beta schedule,
    load_lora_weights(repo, weight_name=AnimateLCM_sd15_t2v_lora.safetensors) at 0.8, CFG 2.0, 6 steps."""
    from diffusers import LCMScheduler, MotionAdapter

    monkeypatch.setenv("ANIMATEDIFF_ONEDNN_LINEAR", "0")
    ours = load(tiny_models, "animatelcm")
    lora_layers = [n for n, m in ours.pipe.unet.named_modules() if n.endswith(".lora_A")]
    kohya_layers = {k.split(".")[0] for k in _lora_keys(tiny_models)}
    assert len(lora_layers) == len(kohya_layers) > 0  # every LoRA layer in the file landed in the UNet
    assert not any("lora" in n for n, _ in ours.sd.unet.named_modules())  # the shared SD UNet is untouched

    bare = bare_pipeline(tiny_models, MotionAdapter.from_pretrained(ANIMATELCM_REPO))
    bare.scheduler = LCMScheduler.from_config(bare.scheduler.config, beta_schedule="linear")
    bare.load_lora_weights(ANIMATELCM_REPO, weight_name=ANIMATELCM_LORA_FILE, adapter_name="lcm-lora")
    bare.set_adapters(["lcm-lora"], [0.8])
    p = params("animatelcm")
    theirs = bare(prompt=p.prompt, negative_prompt=p.negative_prompt, guidance_scale=2.0, num_inference_steps=6,
                  num_frames=p.num_frames, height=p.height, width=p.width,
                  generator=torch.Generator("cpu").manual_seed(p.seed)).frames[0]
    assert np.array_equal(frames_of(ours.generate(p)), frames_of(theirs))


def _lora_keys(tiny_models):
    from pathlib import Path

    from safetensors import safe_open

    with safe_open(str(Path(tiny_models["animatelcm"]) / ANIMATELCM_LORA_FILE), "pt") as f:
        return list(f.keys())


def test_lightning_steps_must_match_a_checkpoint(tiny_models, hub_cache):
    with pytest.raises(ParamError, match="steps") as err:
        get_preset("lightning").check(params("lightning", steps=5))
    assert "1, 2, 4, 8" in str(err.value)
    pipeline = load(tiny_models, "lightning", steps=2)
    assert pipeline.checkpoint_steps == 2
    with pytest.raises(ParamError, match="2-step"):
        pipeline.generate(params("lightning", steps=4))


def test_lightning_from_a_local_file_takes_its_step_count_from_the_name(tiny_models):
    from pathlib import Path

    path = Path(tiny_models["lightning"]) / lightning_file(8)
    pipeline = load(tiny_models, "lightning", motion_adapter=str(path))
    assert pipeline.checkpoint_steps == 8 and len(pipeline.generate(params("lightning", steps=8))) == 4


def test_missing_checkpoint_offline_names_the_exact_download_command(tiny_models, tmp_path, monkeypatch):
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "empty-cache"))
    with pytest.raises(models.ModelNotFound) as err:
        load(tiny_models, "lightning")
    assert ("python -m animatediff_ttnn.download ByteDance/AnimateDiff-Lightning:"
            "animatediff_lightning_4step_diffusers.safetensors") in str(err.value)
    with pytest.raises(models.ModelNotFound, match="python -m animatediff_ttnn.download wangfuyun/AnimateLCM"):
        load(tiny_models, "animatelcm")


def test_unknown_preset_names_the_field():
    with pytest.raises(ParamError, match="preset"):
        get_preset("turbo")


def test_quality_preset_uses_the_default_adapter():
    assert PRESETS["quality"].motion_adapter == models.DEFAULT_MOTION_ADAPTER
