"""Generation through the sidecar: both phases, progress and previews, cancel, busy, runs, export."""

from __future__ import annotations

import base64
import io
import json
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageSequence

from .conftest import files_in, gen_request
from .rpc_client import RpcError

STAGES = ["loading", "encoding", "denoising", "decoding", "exporting"]


def gif_frames(path):
    with Image.open(path) as im:
        return [np.asarray(f.convert("RGB")) for f in ImageSequence.Iterator(im)], im.size


def png_size(b64: str):
    with Image.open(io.BytesIO(base64.b64decode(b64))) as im:
        assert im.format == "PNG"
        return im.size


def assert_progress_is_monotone(progress, phase: int):
    stages = [STAGES.index(p["stage"]) for p in progress]
    assert stages[0] == 0 and stages[-1] == 4
    denoise = [p for p in progress if p["stage"] in ("denoising", "decoding")]
    positions = [((p["frame"] or 0), p["step"]) for p in denoise]
    assert positions == sorted(positions), "progress went backwards"
    steps = [(p["frame"] or 0, p["step"]) for p in progress if p["stage"] == "denoising"]
    assert len(steps) == len(set(steps)), "a step was reported twice"
    elapsed = [p["elapsedS"] for p in progress]
    assert elapsed == sorted(elapsed)
    assert all(p["etaS"] is None or p["etaS"] >= 0 for p in progress)
    assert all(p["phase"] == phase for p in progress)
    # ETA counts down to zero at the very last denoising step
    assert steps and [p for p in progress if p["stage"] == "denoising"][-1]["etaS"] == 0


def test_phase1_writes_gif_with_progress_and_previews(sc_bundle, sc_models, tmp_path):
    out = tmp_path / "out"
    result = sc_bundle.request("studio/generate", gen_request(sc_models, 1, out, params={"numFrames": 3, "steps": 3}),
                               timeout=180)
    run = result["runId"]
    assert result["status"] == "completed" and result["backend"] == "torch" and result["device"].startswith("cpu (")
    frames, size = gif_frames(result["outputs"]["gif"])
    assert len(frames) == 3 and size == (64, 64)
    meta = json.loads(Path(result["metadataPath"]).read_text())
    assert meta["run_id"] == run and meta["phase"] == 1 and meta["params"]["num_frames"] == 3
    assert len(result["timings"]["stepsS"]) == 3 and result["timings"]["firstStepS"] is not None

    progress = sc_bundle.of("studio/progress", run)
    assert_progress_is_monotone(progress, 1)
    assert [p["step"] for p in progress if p["stage"] == "denoising"] == [1, 2, 3]
    previews = sc_bundle.of("studio/preview", run)
    assert [p["step"] for p in previews] == [1, 2, 3]  # at least one per step
    for p in previews:
        assert len(p["frames"]) == 3 and p["frame"] is None and p["totalSteps"] == 3
        assert all(max(png_size(f)) <= 128 for f in p["frames"])
        assert png_size(p["frames"][0]) == (p["width"], p["height"])
    assert sc_bundle.of("studio/frameDone", run) == []  # Phase 1 has no per-frame completion


def test_phase2_torch_backend_reports_every_frame(sc_bundle, sc_models, tmp_path):
    out = tmp_path / "out"
    result = sc_bundle.request("studio/generate", gen_request(sc_models, 2, out, params={"numFrames": 3, "steps": 2}),
                               timeout=180)
    run = result["runId"]
    assert result["status"] == "completed" and result["backend"] == "torch"
    assert result["backendReason"] == "torch: asked for explicitly"
    frames, size = gif_frames(result["outputs"]["gif"])
    assert len(frames) == 3 and size == (64, 64)

    progress = sc_bundle.of("studio/progress", run)
    assert_progress_is_monotone(progress, 2)
    per_frame_steps = 2 + 1  # PNDM (PLMS) calls the UNet steps + 1 times per frame
    denoise = [(p["frame"], p["step"]) for p in progress if p["stage"] == "denoising"]
    assert denoise == [(f, s) for f in range(3) for s in range(1, per_frame_steps + 1)]
    previews = sc_bundle.of("studio/preview", run)
    assert len(previews) >= len(denoise)
    # only the frame being denoised: a preview's size must not grow with the frame count
    assert [len(p["frames"]) for p in previews] == [1] * len(previews)
    done = sc_bundle.of("studio/frameDone", run)
    assert [d["frame"] for d in done] == [0, 1, 2]
    assert all(max(png_size(d["png"])) <= 256 and d["totalFrames"] == 3 for d in done)
    meta = json.loads(Path(result["metadataPath"]).read_text())
    assert meta["perturbation_strength"] == 0.05 and meta["backend"] == "torch"


def test_runs_lists_finished_runs_newest_first(sc_bundle, sc_models, tmp_path):
    out = tmp_path / "out"
    first = sc_bundle.request("studio/generate", gen_request(sc_models, 2, out), timeout=180)
    time.sleep(1.1)  # `created` has one-second resolution
    second = sc_bundle.request("studio/generate", gen_request(sc_models, 1, out, params={"prompt": "second"}),
                               timeout=180)
    (out / "notes.json").write_text('{"not": "a run"}')
    (out / "broken.json").write_text("{")
    runs = sc_bundle.request("studio/runs", {"outputDir": str(out)})["runs"]
    assert [r["runId"] for r in runs] == [second["runId"], first["runId"]]
    newest = runs[0]
    assert newest["phase"] == 1 and newest["prompt"] == "second" and newest["params"]["numFrames"] == 3
    assert newest["outputs"] == second["outputs"] and newest["metadataPath"] == second["metadataPath"]
    assert newest["perturbationStrength"] is None and runs[1]["perturbationStrength"] == 0.05
    assert set(newest["timings"]) >= {"loadS", "stepsS", "totalS"}
    assert len(sc_bundle.request("studio/runs", {"outputDir": str(out), "limit": 1})["runs"]) == 1
    assert sc_bundle.request("studio/runs", {"outputDir": str(tmp_path / "none")})["runs"] == []


LONG_PHASE1 = {"numFrames": 16, "steps": 400}  # ~20 s if nothing stops it
LONG_PHASE2 = {"numFrames": 16, "steps": 200}


def first_denoising_step(client, run_id=None, request_after=0.0):
    return client.wait_for(lambda n: n["method"] == "studio/progress" and n["params"]["stage"] == "denoising"
                           and n["_t"] > request_after and (run_id is None or n["params"]["runId"] == run_id),
                           timeout=120)["params"]


def steps_reported_after(client, run_id, t):
    return [n for n in client.notifications if n["method"] == "studio/progress" and n["_t"] > t
            and n["params"]["runId"] == run_id and n["params"]["stage"] == "denoising"]


def test_cancel_with_studio_cancel_stops_within_a_step_and_writes_nothing(sc_bundle, sc_models, tmp_path):
    out = tmp_path / "out"
    t0 = time.perf_counter() - sc_bundle.started
    request_id = sc_bundle.send("studio/generate", gen_request(sc_models, 1, out, params=LONG_PHASE1))
    run = first_denoising_step(sc_bundle, request_after=t0)["runId"]
    sent = time.perf_counter() - sc_bundle.started
    assert sc_bundle.request("studio/cancel", {"runId": run}) == {"cancelled": True}
    result = sc_bundle.wait(request_id, timeout=60)
    assert result["status"] == "cancelled" and result["runId"] == run
    assert result["outputs"] == {} and result["metadataPath"] is None
    assert len(steps_reported_after(sc_bundle, run, sent)) <= 3  # the step in flight, and no more
    assert files_in(out) == []
    assert sc_bundle.request("studio/cancel", {"runId": run}) == {"cancelled": False}  # nothing left to stop

    after = sc_bundle.request("studio/generate", gen_request(sc_models, 1, out), timeout=180)
    assert after["status"] == "completed" and Path(after["outputs"]["gif"]).is_file()


def test_cancel_request_on_generate_cancels_the_run(sc_bundle, sc_models, tmp_path):
    out = tmp_path / "out"
    t0 = time.perf_counter() - sc_bundle.started
    request_id = sc_bundle.send("studio/generate", gen_request(sc_models, 2, out, params=LONG_PHASE2))
    run = first_denoising_step(sc_bundle, request_after=t0)["runId"]
    sent = time.perf_counter() - sc_bundle.started
    sc_bundle.notify("$/cancelRequest", {"id": request_id})
    result = sc_bundle.wait(request_id, timeout=60)
    assert result["status"] == "cancelled" and result["runId"] == run
    assert len(steps_reported_after(sc_bundle, run, sent)) <= 3
    assert files_in(out) == []

    after = sc_bundle.request("studio/generate", gen_request(sc_models, 2, out), timeout=180)
    assert after["status"] == "completed" and Path(after["metadataPath"]).is_file()


def test_second_generate_while_running_is_busy(sc_bundle, sc_models, tmp_path):
    t0 = time.perf_counter() - sc_bundle.started
    first = sc_bundle.send("studio/generate", gen_request(sc_models, 2, tmp_path / "a", params=LONG_PHASE2))
    run = first_denoising_step(sc_bundle, request_after=t0)["runId"]
    with pytest.raises(RpcError) as err:
        sc_bundle.request("studio/generate", gen_request(sc_models, 1, tmp_path / "b"))
    assert err.value.code == -32001 and err.value.data == {"runId": run}
    assert run in err.value.message
    sc_bundle.request("studio/cancel", {"runId": run})
    assert sc_bundle.wait(first, timeout=60)["status"] == "cancelled"
    assert files_in(tmp_path / "b") == []


def test_export_from_run_record_decodes_without_denoising(sc_bundle, sc_models, tmp_path):
    out = tmp_path / "out"
    result = sc_bundle.request("studio/generate",
                               gen_request(sc_models, 2, out, params={"formats": ["gif", "png"], "numFrames": 3}),
                               timeout=180)
    record = out / f"{result['runId']}.run.msgpack"
    assert record.is_file()
    notes_before = len(sc_bundle.notifications)
    exported = sc_bundle.request("studio/export", {"metadataPath": result["metadataPath"], "formats": ["webp"]},
                                 timeout=180)
    assert not [n for n in sc_bundle.notifications[notes_before:]
                if n["method"] == "studio/progress" and n["params"]["stage"] == "denoising"]
    webp = Path(exported["outputs"]["webp"])
    assert exported["outputs"]["gif"] == result["outputs"]["gif"] and webp.is_file()
    meta = json.loads(Path(result["metadataPath"]).read_text())
    assert meta["outputs"]["webp"] == str(webp)
    with Image.open(webp) as im:
        again = [np.asarray(f.convert("RGB")).astype(int) for f in ImageSequence.Iterator(im)]
    original = [np.asarray(Image.open(p).convert("RGB")).astype(int)
                for p in sorted(Path(result["outputs"]["png"]).glob("*.png"))]
    assert len(again) == len(original) == 3
    assert all(np.abs(a - b).max() <= 1 for a, b in zip(again, original))  # the same frames, lossless WebP

    with pytest.raises(RpcError) as err:
        sc_bundle.request("studio/export", {"metadataPath": str(out / "missing.json"), "formats": ["webp"]})
    assert err.value.code == -32602 and err.value.data["field"] == "metadataPath"
    record.write_bytes(b"\xc1 not msgpack")  # a damaged record: the file's problem, named (not an internal error)
    with pytest.raises(RpcError) as err:
        sc_bundle.request("studio/export", {"metadataPath": result["metadataPath"], "formats": ["mp4"]})
    assert err.value.code == -32602 and record.name in err.value.data["message"], err.value
    assert not (out / f"{result['runId']}.mp4").exists()
    assert sc_bundle.request("studio/runs", {"outputDir": str(out)})["runs"][0]["runId"] == result["runId"]


def test_missing_model_gives_model_not_found(sc_bundle, sc_models, tmp_path):
    request = gen_request(sc_models, 2, tmp_path / "out")
    request["models"] = {"sd": str(tmp_path / "no-such-model")}
    with pytest.raises(RpcError) as err:
        sc_bundle.request("studio/generate", request, timeout=120)
    assert err.value.code == -32002
    assert err.value.data["source"] == str(tmp_path / "no-such-model") and err.value.data["fix"]
    request["models"] = {"sd": "someone/not-cached-model"}  # offline: not in the (empty) hub cache
    with pytest.raises(RpcError) as err:
        sc_bundle.request("studio/generate", request, timeout=120)
    assert err.value.code == -32002 and "animatediff_ttnn.download" in err.value.data["fix"]
    assert files_in(tmp_path / "out") == []


def test_blackhole_backend_without_a_card_is_unavailable(sc_bundle, sc_models, tmp_path):
    request = gen_request(sc_models, 2, tmp_path / "out")
    request["backend"] = "blackhole"
    with pytest.raises(RpcError) as err:
        sc_bundle.request("studio/generate", request, timeout=120)
    assert err.value.code == -32004 and "torch" in err.value.data["reason"]
    auto = sc_bundle.request("studio/generate", {**request, "backend": "auto"}, timeout=120)
    assert auto["backend"] == "torch" and "no Blackhole" in auto["backendReason"]
