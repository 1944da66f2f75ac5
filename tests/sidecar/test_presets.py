"""Presets and dtype through the real sidecar: the request's run options choose the motion module,
the sampler and the precision; bad combinations are refused naming the field."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from .conftest import gen_request
from .rpc_client import RpcError


def test_lightning_preset_runs_its_checkpoint_sampler_and_steps(sc_presets, sc_models, tmp_path):
    request = gen_request(sc_models, 1, tmp_path, preset="lightning", dtype="float32",
                          params={"steps": 4, "guidanceScale": 1.0})
    result = sc_presets.request("studio/generate", request, timeout=300)
    assert result["status"] == "completed" and result["device"] == "cpu (float32)"
    meta = json.loads(Path(result["metadataPath"]).read_text())
    assert meta["preset"]["name"] == "lightning" and meta["dtype"] == "float32"
    assert meta["models"]["motion_adapter"]["source"].endswith("animatediff_lightning_4step_diffusers.safetensors")
    assert meta["scheduler"]["class"] == "EulerDiscreteScheduler" and len(meta["timings"]["steps_s"]) == 4


def test_animatelcm_preset_in_the_hardware_dtype(sc_presets, sc_models, tmp_path):
    result = sc_presets.request("studio/generate", gen_request(sc_models, 1, tmp_path, preset="animatelcm",
                                                               params={"steps": 2, "guidanceScale": 2.0}), timeout=300)
    meta = json.loads(Path(result["metadataPath"]).read_text())
    assert meta["preset"]["lora"]["file"] == "AnimateLCM_sd15_t2v_lora.safetensors"
    assert meta["scheduler"]["class"] == "LCMScheduler" and meta["dtype_reason"]


@pytest.mark.parametrize("extra, field", [
    ({"preset": "lightning", "params": {"steps": 5}}, "params.steps"),
    ({"preset": "turbo"}, "preset"),
    ({"dtype": "int8"}, "dtype"),
])
def test_bad_preset_or_dtype_names_the_field(sc_presets, sc_models, tmp_path, extra, field):
    with pytest.raises(RpcError) as err:
        sc_presets.request("studio/generate", gen_request(sc_models, 1, tmp_path, **extra), timeout=120)
    assert err.value.code == -32602 and err.value.data["field"] == field


@pytest.mark.parametrize("preset, motion", [
    ("lightning", "ByteDance/AnimateDiff-Lightning:animatediff_lightning_4step_diffusers.safetensors"),
    ("animatelcm", "wangfuyun/AnimateLCM"),
    ("quality", None),  # the settings' motion adapter
])
def test_models_status_and_download_cover_exactly_what_the_preset_runs(sc_presets, sc_models, preset, motion):
    """The few-step presets bring their own motion module: the settings' adapter (the quality preset's,
    ~1.8 GB on the hub) is neither reported missing nor downloaded for them - and when it is given,
    the answer says it is not used."""
    models = {"sd": sc_models["sd"], "motionAdapter": sc_models["motion_adapter"]}
    answer = sc_presets.request("studio/modelsStatus", {"models": models, "preset": preset}, timeout=60)
    status = answer["models"]
    assert [m["source"] for m in status] == [sc_models["sd"], motion or sc_models["motion_adapter"]]
    assert [m["role"] for m in status] == ["sd", "motionAdapter"] and all(m["available"] for m in status)
    if motion is None:
        assert answer["unused"] == []
    else:
        [unused] = answer["unused"]
        assert (unused["field"], unused["value"]) == ("models.motionAdapter", sc_models["motion_adapter"])
        assert preset in unused["reason"] and "own motion module" in unused["reason"]
    # already in the (tiny) cache: the Download step checks them and fetches nothing (HF_HUB_OFFLINE is set)
    done = sc_presets.request("studio/downloadModels", {"models": models, "preset": preset}, timeout=60)["models"]
    assert [m["source"] for m in done] == [m["source"] for m in status] and all(m["available"] for m in done)


def test_a_motion_adapter_the_preset_does_not_use_is_said_not_silently_ignored(sc_presets, sc_models, tmp_path):
    request = gen_request(sc_models, 1, tmp_path, preset="lightning", params={"steps": 4, "guidanceScale": 1.0})
    request["models"]["motionAdapter"] = str(tmp_path / "no-such-adapter")
    notes = len(sc_presets.notifications)
    assert sc_presets.request("studio/generate", request, timeout=300)["status"] == "completed"
    said = [n["params"]["message"] for n in sc_presets.notifications[notes:] if n["method"] == "studio/log"]
    assert any("models.motionAdapter" in m and "not used" in m and "lightning" in m for m in said), said


def test_a_preset_missing_from_the_cache_is_reported_with_its_download_command(sc_spawn, sc_no_scratchpad, sc_models, tmp_path):
    client = sc_spawn("--scratchpad", sc_no_scratchpad, env={"HF_HUB_CACHE": str(tmp_path / "empty-cache")})
    client.handshake()
    models = {"sd": sc_models["sd"], "motionAdapter": sc_models["motion_adapter"]}
    status = client.request("studio/modelsStatus", {"models": models, "preset": "lightning"}, timeout=60)["models"]
    assert not status[1]["available"]
    assert "python -m animatediff_ttnn.download ByteDance/AnimateDiff-Lightning:animatediff_lightning_4step" in status[1]["fix"]
    with pytest.raises(RpcError) as err:
        client.request("studio/modelsStatus", {"models": models, "preset": "turbo"}, timeout=60)
    assert err.value.code == -32602 and err.value.data["field"] == "preset"


@pytest.mark.parametrize("phase", [1, 3])
def test_a_lightning_checkpoint_given_as_the_motion_adapter_is_invalid_params(sc_bundle, sc_models, tmp_path, phase):
    """Not -32003 blaming the lesson's motion_checkpoint.py: the setting names the wrong kind of file."""
    lightning = Path(sc_models["lightning"]) / "animatediff_lightning_4step_diffusers.safetensors"
    request = gen_request(sc_models, phase, tmp_path / "out")
    request["models"]["motionAdapter"] = str(lightning)
    with pytest.raises(RpcError) as err:
        sc_bundle.request("studio/generate", request, timeout=300)
    assert err.value.code == -32602 and err.value.data["field"] == "models.motionAdapter", err.value
    assert "Lightning" in err.value.data["message"] and "preset" in err.value.data["message"]
