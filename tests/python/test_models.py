"""Model sources: diffusers folders, original AnimateDiff checkpoints, and clear errors."""

import logging

import pytest
import torch

from animatediff_ttnn.models.loading import ModelNotFound, is_local, load_motion_adapter, load_sd_components
from animatediff_ttnn.models.motion_checkpoint import infer_adapter_config, read_checkpoint


@pytest.mark.parametrize("kind", ["motion_ckpt", "motion_safetensors"])
def test_original_checkpoint_loads_to_the_same_motion_weights(tiny_models, kind):
    reference = load_motion_adapter(tiny_models["motion_adapter"]).state_dict()
    loaded = load_motion_adapter(tiny_models[kind]).state_dict()
    assert loaded.keys() == reference.keys()
    for key in reference:
        assert torch.equal(loaded[key], reference[key]), key


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_checkpoint_load_logs_nothing(tiny_models, dtype):
    """No "modules that should be kept in float32: []" noise in the user's log on every load."""
    records = []
    handler = logging.Handler(logging.DEBUG)
    handler.emit = records.append  # diffusers' loggers do not propagate to the root (caplog)
    library = logging.getLogger("diffusers")
    library.addHandler(handler)
    try:
        adapter = load_motion_adapter(tiny_models["motion_ckpt"], dtype=dtype)
    finally:
        library.removeHandler(handler)
    assert {p.dtype for p in adapter.parameters()} == {dtype}
    assert [r.getMessage() for r in records if r.levelno >= logging.WARNING] == []


def test_checkpoint_is_really_in_the_original_layout(tiny_models):
    state = read_checkpoint(__import__("pathlib").Path(tiny_models["motion_ckpt"]))
    assert "down_blocks.0.motion_modules.0.temporal_transformer.transformer_blocks.0.attention_blocks.0.to_q.weight" in state
    assert "down_blocks.0.motion_modules.0.temporal_transformer.transformer_blocks.0.norms.0.weight" in state
    assert not any(".attn1." in k or ".norm1." in k for k in state)
    config = infer_adapter_config(state)
    assert config["block_out_channels"] == (32, 64)
    assert config["motion_max_seq_length"] == 16
    assert config["use_motion_mid_block"] is True


def test_not_a_motion_checkpoint(tmp_path):
    path = tmp_path / "other.ckpt"
    torch.save({"model.diffusion_model.input_blocks.0.0.weight": torch.zeros(1)}, path)
    with pytest.raises(ValueError, match="not an AnimateDiff motion-module checkpoint"):
        load_motion_adapter(str(path))


def test_a_lightning_checkpoint_as_a_motion_adapter_says_what_it_is(tiny_models):
    """AnimateDiff-Lightning's file holds the motion modules in diffusers' layout, distilled for a
    few steps with its own scheduler: given as the motion adapter (the quality preset's setting) it is
    named as what it is, with the preset that runs it - not 'no motion_modules keys'."""
    from pathlib import Path

    from animatediff_ttnn.params import ParamError

    file = Path(tiny_models["lightning"]) / "animatediff_lightning_4step_diffusers.safetensors"
    with pytest.raises(ParamError) as err:
        load_motion_adapter(str(file))
    assert err.value.field == "motion_adapter"
    message = err.value.message
    assert "AnimateDiff-Lightning" in message and "4 steps" in message and "lightning" in message, message
    assert "diffusers' layout" in message and "motion-module tensors" in message


def test_missing_local_path_says_where_it_looked(tmp_path):
    missing = tmp_path / "nowhere" / "sd"
    with pytest.raises(ModelNotFound) as err:
        load_sd_components(str(missing))
    text = str(err.value)
    assert "Stable Diffusion model not found" in text and str(missing) in text


def test_missing_checkpoint_file(tmp_path):
    with pytest.raises(ModelNotFound, match="motion adapter not found"):
        load_motion_adapter(str(tmp_path / "mm_sd_v15_v2.ckpt"))


def test_hub_id_offline_names_the_fetch_command():
    with pytest.raises(ModelNotFound) as err:
        load_motion_adapter("guoyww/animatediff-motion-adapter-v1-5-2")
    text = str(err.value)
    assert "python -m animatediff_ttnn.download guoyww/animatediff-motion-adapter-v1-5-2" in text
    assert "Hugging Face cache" in text


@pytest.mark.parametrize("source, local", [
    ("CompVis/stable-diffusion-v1-4", True is False),
    ("./models/sd", True),
    ("/abs/sd", True),
    ("mm_sd_v15_v2.ckpt", True),
    ("a/b/c", True),
])
def test_is_local(source, local):
    assert is_local(source) is local
