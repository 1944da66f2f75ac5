"""studio/estimate through the real sidecar: before any run it says it is a guess (the reference runs,
scaled by a calibration when the reference has one); after a run, the run's own record gives this very
job's estimate, with no load time while the models stay resident; a bad field is refused by name."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from .conftest import gen_request
from .rpc_client import RpcError


def test_before_a_run_a_guess_then_the_runs_own_record(sc_presets, sc_models, tmp_path):
    request = gen_request(sc_models, 1, tmp_path, preset="lightning", params={"steps": 4, "guidanceScale": 1.0})
    before = sc_presets.request("studio/estimate", request, timeout=300)
    assert before["basis"] in ("calibration", "reference") and before["totalS"] > 0
    assert before["note"].startswith("a guess: no Phase 1 run here yet") and not before["modelsLoaded"]
    assert before["stages"]["loadS"] > 0 and before["stages"]["decodeS"] > 0  # load and VAE decode counted

    result = sc_presets.request("studio/generate", request, timeout=300)
    meta = json.loads(Path(result["metadataPath"]).read_text())
    after = sc_presets.request("studio/estimate", request, timeout=60)
    assert after["basis"] == "job" and after["runs"] == 1 and after["modelsLoaded"] is True
    assert after["stages"]["loadS"] == 0.0  # the models stay resident: the next run loads nothing
    assert after["stages"]["denoiseS"] == pytest.approx(sum(meta["timings"]["steps_s"]), abs=0.02)
    assert after["stages"]["decodeS"] == pytest.approx(meta["timings"]["decode_s"], abs=0.02)

    twice = sc_presets.request("studio/estimate", {**request, "params": {**request["params"], "numFrames": 6}},
                                  timeout=60)
    assert twice["basis"] == "scaled"
    assert twice["stages"]["denoiseS"] == pytest.approx(2 * after["stages"]["denoiseS"], abs=0.02)  # 3 -> 6 frames


def test_no_card_figure_without_a_run_on_a_card(sc_presets, sc_models, tmp_path):
    request = gen_request(sc_models, 2, tmp_path, backend="blackhole")
    answer = sc_presets.request("studio/estimate", request, timeout=60)
    assert answer["totalS"] is None and answer["basis"] == "none" and "not run on a card" in answer["note"]


def test_a_bad_field_is_refused_by_name(sc_presets, sc_models, tmp_path):
    with pytest.raises(RpcError) as err:
        sc_presets.request("studio/estimate", gen_request(sc_models, 1, tmp_path, params={"width": 60}), timeout=60)
    assert err.value.code == -32602 and err.value.data["field"] == "params.width"


def test_the_eta_counts_the_decode_the_records_expect(sc_presets, sc_models, tmp_path):
    """After a run here, the next run's ETA at its last step is not 0: the VAE decode and export are still to come."""
    request = gen_request(sc_models, 1, tmp_path, params={"steps": 2})
    sc_presets.request("studio/generate", request, timeout=300)
    expected = sc_presets.request("studio/estimate", request, timeout=60)["stages"]
    second = sc_presets.request("studio/generate", request, timeout=300)
    last = [p for p in sc_presets.of("studio/progress", second["runId"]) if p["stage"] == "denoising"][-1]
    after = expected["decodeS"] + expected["exportS"] + expected["otherS"]
    assert after > 0 and last["etaS"] == pytest.approx(after, abs=0.05)
