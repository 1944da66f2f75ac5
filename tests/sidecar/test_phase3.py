"""Phase 3 through the real sidecar: run, previews, frames, coherence in the runs list, cancel."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from .conftest import files_in, gen_request
from .rpc_client import RpcError
from .test_generate import assert_progress_is_monotone, first_denoising_step, gif_frames, steps_reported_after


def phase3_request(models, out, **params):
    return gen_request(models, 3, out, backend="torch", **params)


def test_phase3_writes_gif_with_previews_frames_and_coherence(sc_bundle, sc_models, tmp_path):
    out = tmp_path / "out"
    result = sc_bundle.request("studio/generate", phase3_request(sc_models, out, motionScale=0.5,
                                                                 params={"numFrames": 3, "steps": 2}), timeout=180)
    run = result["runId"]
    assert result["status"] == "completed" and result["backend"] == "torch"
    assert len(gif_frames(result["outputs"]["gif"])[0]) == 3
    meta = json.loads(Path(result["metadataPath"]).read_text())
    assert meta["phase"] == 3 and meta["motion_scale"] == 0.5
    assert meta["dtype"] and meta["dtype_reason"]  # the sidecar passes choose_dtype's sentence through (studio_api.build_pipeline)
    assert_progress_is_monotone(sc_bundle.of("studio/progress", run), 3)
    previews = sc_bundle.of("studio/preview", run)
    assert [p["step"] for p in previews] == [1, 2] and all(len(p["frames"]) == 3 for p in previews)
    assert [f["frame"] for f in sc_bundle.of("studio/frameDone", run)] == [0, 1, 2]
    listed = sc_bundle.request("studio/runs", {"outputDir": str(out)})["runs"][0]
    assert listed["phase"] == 3 and set(listed["coherence"]) == {"similarity", "motion_px", "residual"}
    exported = sc_bundle.request("studio/export", {"metadataPath": result["metadataPath"], "formats": ["png"]},
                                 timeout=120)
    assert len(list(Path(exported["outputs"]["png"]).glob("*.png"))) == 3  # re-decoded from the run record


def test_phase3_cancel_stops_within_a_step_and_writes_nothing(sc_bundle, sc_models, tmp_path):
    out = tmp_path / "out"
    t0 = time.perf_counter() - sc_bundle.started
    request_id = sc_bundle.send("studio/generate", phase3_request(sc_models, out, params={"numFrames": 4, "steps": 200}))
    run = first_denoising_step(sc_bundle, request_after=t0)["runId"]
    sent = time.perf_counter() - sc_bundle.started
    assert sc_bundle.request("studio/cancel", {"runId": run}) == {"cancelled": True}
    result = sc_bundle.wait(request_id, timeout=60)
    assert result["status"] == "cancelled" and files_in(out) == []
    assert len(steps_reported_after(sc_bundle, run, sent)) <= 3


@pytest.mark.parametrize("extra, field", [({"motionScale": 3}, "motionScale"),
                                          ({"perturbationStrength": 0.1}, "perturbationStrength")])
def test_phase3_refuses_bad_or_foreign_options_naming_the_field(sc_bundle, sc_models, tmp_path, extra, field):
    with pytest.raises(RpcError) as err:
        sc_bundle.request("studio/generate", phase3_request(sc_models, tmp_path, **extra))
    assert err.value.code == -32602 and err.value.data["field"] == field


def test_phase3_runs_a_prompt_schedule_and_a_motion_lora_and_records_them(sc_bundle, sc_models, tmp_path):
    """The creative controls reach Phase 3 through the one parameter definition: the run record says
    what ran (schedule rows, the LoRA with its weight, no windows for a short clip)."""
    schedule = "0: a lighthouse at dusk | 2: a lighthouse in a storm"
    lora = f"{sc_models['motion_lora_ckpt']}:0.7"
    result = sc_bundle.request("studio/generate", phase3_request(
        sc_models, tmp_path / "out", params={"numFrames": 4, "steps": 2, "promptSchedule": schedule,
                                             "motionLoras": lora}), timeout=180)
    assert result["status"] == "completed" and len(gif_frames(result["outputs"]["gif"])[0]) == 4
    meta = json.loads(Path(result["metadataPath"]).read_text())
    assert meta["phase"] == 3 and meta["params"]["prompt_schedule"] == schedule
    creative = meta["creative"]
    assert creative["prompt_schedule"] == [
        {"from_frame": 0, "to_frame": 1, "prompt": "a lighthouse at dusk"},
        {"from_frame": 2, "to_frame": 3, "prompt": "a lighthouse in a storm"}]
    assert [(l["source"], l["weight"]) for l in creative["motion_loras"]] == [(sc_models["motion_lora_ckpt"], 0.7)]
    assert creative["context_windows"] is None


def test_phase3_refuses_a_window_above_the_trained_length_naming_the_field(sc_bundle, sc_models, tmp_path):
    with pytest.raises(RpcError) as err:
        sc_bundle.request("studio/generate", phase3_request(sc_models, tmp_path, params={"numFrames": 40,
                                                                                          "contextLength": 17}))
    assert err.value.code == -32602 and err.value.data["field"] == "params.contextLength"
