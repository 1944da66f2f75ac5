"""Motion LoRAs (tiny LoRAs in the v2 camera LoRAs' key layouts) and motion scale, on the tiny models."""

import copy

import numpy as np
import pytest
import torch

from animatediff_ttnn.models.loading import ModelNotFound
from animatediff_ttnn.creative.lora_spec import CAMERA_MOVES, MotionLora, hub_id, parse_motion_loras
from animatediff_ttnn.creative.motion_lora import check_fits, load_lora_pairs
from animatediff_ttnn.creative.motion_scale import motion_scale_applied, scale_motion_residual
from animatediff_ttnn.params import GenerationParams, ParamError

from conftest import frames_array


def params(**kw):
    base = dict(prompt="a red fox running", negative_prompt="blurry", num_frames=6, steps=2, seed=5, width=64, height=64)
    base.update(kw)
    return GenerationParams(**base)


@pytest.fixture(scope="module")
def plain(phase1):
    return frames_array(phase1.generate(params()))


def lora(tiny_models, weight, which="motion_lora_ckpt"):
    return {"motion_loras": f"{tiny_models[which]}:{weight}"}


def test_a_motion_lora_changes_the_output_and_weight_0_does_not(phase1, tiny_models, plain):
    changed = frames_array(phase1.generate(params(**lora(tiny_models, 1.0))))
    assert np.abs(changed - plain).max() > 8
    assert np.array_equal(frames_array(phase1.generate(params(**lora(tiny_models, 0.0)))), plain)
    assert np.array_equal(frames_array(phase1.generate(params())), plain)  # nothing stays applied after a run
    record = phase1.describe()["creative"]["motion_loras"]
    assert record == []


def test_both_key_layouts_load_the_same_targets(tiny_models, phase1):
    original = load_lora_pairs(tiny_models["motion_lora_ckpt"])  # v2_lora_*.ckpt layout
    hub = load_lora_pairs(tiny_models["motion_lora"])  # the hub repos' diffusion_pytorch_model.safetensors
    assert set(original) == set(hub) and len(original) == 7 * 2 * 4  # motion modules x attn1/attn2 x q/k/v/out
    assert "mid_block.motion_modules.0.transformer_blocks.0.attn2.to_out.0" in original
    check_fits(original, phase1.adapter, "tiny")


def merged_adapter(adapter, loras):
    """AnimateDiff's own way: W <- W + w * up @ down, on a copy of the adapter."""
    merged = copy.deepcopy(adapter)
    modules = dict(merged.named_modules())
    with torch.no_grad():
        for path, weight in loras:
            for target, (down, up, scale) in load_lora_pairs(path).items():
                modules[target].weight += weight * scale * (up @ down)
    return merged


def test_two_loras_at_once_equal_merging_them_into_the_weights(phase1, tiny_models):
    from animatediff_ttnn.pipeline import Phase1Pipeline

    loras = [(tiny_models["motion_lora_ckpt"], 0.7), (tiny_models["motion_lora"], -0.5)]
    ours = frames_array(phase1.generate(params(motion_loras=",".join(f"{s}:{w}" for s, w in loras))))
    assert [l["targets"] for l in phase1.describe()["creative"]["motion_loras"]] == [56, 56]
    merged = Phase1Pipeline(phase1.sd, merged_adapter(phase1.adapter, loras), "merged", phase1.device, phase1.dtype)
    try:
        assert np.abs(ours - frames_array(merged.generate(params()))).max() <= 1
    finally:
        phase1.sd.extras.pop(("unet_motion", id(merged.adapter)), None)


def test_matches_diffusers_load_lora_weights_on_the_hub_layout(tiny_models, monkeypatch):
    """diffusers (with peft) loads the hub-layout file onto the motion modules itself: same frames."""
    pytest.importorskip("peft")
    from diffusers import AnimateDiffPipeline, DDIMScheduler, MotionAdapter

    from animatediff_ttnn.models.presets import ANIMATEDIFF_SCHEDULER_OVERRIDES
    from animatediff_ttnn.pipeline import Phase1Pipeline

    monkeypatch.setenv("ANIMATEDIFF_ONEDNN_LINEAR", "0")
    ours, _ = Phase1Pipeline.from_sources(tiny_models["sd"], tiny_models["motion_adapter"], device="cpu",
                                          dtype="float32")  # bare diffusers runs fp32
    p = params(**lora(tiny_models, 0.8, "motion_lora"))
    mine = frames_array(ours.generate(p))
    bare = AnimateDiffPipeline.from_pretrained(tiny_models["sd"],
                                               motion_adapter=MotionAdapter.from_pretrained(tiny_models["motion_adapter"]))
    bare.scheduler = DDIMScheduler.from_pretrained(tiny_models["sd"], subfolder="scheduler", **ANIMATEDIFF_SCHEDULER_OVERRIDES)
    bare.set_progress_bar_config(disable=True)
    bare.load_lora_weights(tiny_models["motion_lora"], weight_name="diffusion_pytorch_model.safetensors",
                           adapter_name="tiny")
    bare.set_adapters(["tiny"], adapter_weights=[0.8])
    theirs = frames_array(bare(prompt=p.prompt, negative_prompt=p.negative_prompt, num_frames=p.num_frames, height=64,
                           width=64, num_inference_steps=2, guidance_scale=7.5,
                           generator=torch.Generator("cpu").manual_seed(p.seed), output_type="pil").frames[0])
    assert np.abs(mine - theirs).max() <= 1


def test_a_lora_for_another_motion_module_version_is_refused(tiny_models):
    from diffusers import MotionAdapter

    pairs = load_lora_pairs(tiny_models["motion_lora_ckpt"])
    v1_like = MotionAdapter(block_out_channels=(32, 64), motion_layers_per_block=1, motion_max_seq_length=16,
                            motion_num_attention_heads=8, motion_norm_num_groups=32, use_motion_mid_block=False)
    with pytest.raises(ParamError) as err:
        check_fits(pairs, v1_like, "zoom-in")
    assert err.value.field == "motion_loras" and "another motion module version" in str(err.value)
    assert "mid_block" in str(err.value) and "v1-5-2" in str(err.value)
    wider = MotionAdapter(block_out_channels=(64, 128), motion_layers_per_block=1, motion_max_seq_length=16,
                          motion_num_attention_heads=8, motion_norm_num_groups=32, use_motion_mid_block=True)
    with pytest.raises(ParamError, match=r"another motion module version: .* is \d+->\d+ here, the LoRA is \d+->\d+"):
        check_fits(pairs, wider, "zoom-in")


def test_camera_moves_come_from_the_hub_and_offline_says_how_to_fetch(phase1, monkeypatch, tmp_path):
    assert hub_id("zoom-in") == "guoyww/animatediff-motion-lora-zoom-in" and len(CAMERA_MOVES) == 8
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path))  # an empty cache, and no network in tests
    import huggingface_hub.constants as hub_constants

    monkeypatch.setattr(hub_constants, "HF_HUB_CACHE", str(tmp_path))
    with pytest.raises(ModelNotFound) as err:
        phase1.generate(params(motion_loras="zoom-in:0.8"))
    text = str(err.value)
    assert "guoyww/animatediff-motion-lora-zoom-in" in text
    assert "python -m animatediff_ttnn.download guoyww/animatediff-motion-lora-zoom-in" in text


def test_lora_lists_are_checked_at_the_edge(tmp_path):
    assert parse_motion_loras("zoom-in:0.8, pan-left") == [MotionLora("zoom-in", 0.8), MotionLora("pan-left", 1.0)]
    assert parse_motion_loras([{"source": "tilt-up", "weight": 2}]) == [MotionLora("tilt-up", 2.0)]
    for bad in ([{"source": "zoom-in", "weight": "lots"}], "zoom-in:9", [{"path": "x"}], [{"source": " "}]):
        with pytest.raises(ValueError):
            parse_motion_loras(bad)
        if isinstance(bad, str):
            with pytest.raises(ParamError) as err:
                params(motion_loras=bad).validate()
            assert err.value.field == "motion_loras"
    with pytest.raises(ParamError) as err:
        params(motion_loras="zoom-in:9").validate()  # the edge: CLI and sidecar call this first
    assert err.value.field == "motion_loras"
    with pytest.raises(ModelNotFound) as err:
        load_lora_pairs(str(tmp_path / "missing.safetensors"))
    assert "missing.safetensors" in str(err.value)
    not_a_lora = tmp_path / "adapter.safetensors"
    from safetensors.torch import save_file

    save_file({"down_blocks.0.resnets.0.conv1.weight": torch.zeros(2, 2)}, str(not_a_lora))
    with pytest.raises(ParamError, match="not a motion-module LoRA key"):
        load_lora_pairs(str(not_a_lora))


def test_motion_scale_0_is_the_image_model_frame_by_frame(phase1):
    """0 = no temporal attention: the motion UNet then equals SD's own UNet applied to each frame."""
    unet, sd_unet = phase1.pipe.unet, phase1.sd.unet
    g = torch.Generator().manual_seed(0)
    frames, latents = 4, torch.randn(2, 4, 4, 8, 8, generator=g)
    text = torch.randn(2, 77, 32, generator=g).repeat_interleave(frames, dim=0)  # one per frame, as the pipeline passes
    t = torch.tensor(500)
    with torch.no_grad(), motion_scale_applied(unet, 0.0):
        motion = unet(latents, t, encoder_hidden_states=text).sample
    with torch.no_grad():
        per_frame = sd_unet(latents.permute(0, 2, 1, 3, 4).reshape(-1, 4, 8, 8), t,
                            encoder_hidden_states=text).sample
    per_frame = per_frame.reshape(2, frames, 4, 8, 8).permute(0, 2, 1, 3, 4)
    assert torch.allclose(motion, per_frame, atol=1e-5)
    with torch.no_grad():
        assert not torch.allclose(unet(latents, t, encoder_hidden_states=text).sample, per_frame, atol=1e-3)


def test_motion_scale_1_is_as_trained_and_other_values_scale_the_residual(phase1, plain):
    x, out = torch.randn(3, 4), torch.randn(3, 4)
    assert scale_motion_residual(x, out, 1.0) is out and scale_motion_residual(x, out, 0.0) is x
    assert torch.allclose(scale_motion_residual(x, out, 2.0), x + 2 * (out - x))
    assert np.array_equal(frames_array(phase1.generate(params(), motion_scale=1.0)), plain)
    stronger = frames_array(phase1.generate(params(), motion_scale=1.5))
    assert np.abs(stronger - plain).max() > 8
    for bad in (-0.1, 2.5, "fast", True):
        with pytest.raises(ParamError) as err:
            phase1.generate(params(), motion_scale=bad)
        assert err.value.field == "motion_scale"
