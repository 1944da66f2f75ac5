"""The estimate before a run (runtime/estimate.py): its constants against the committed benchmark records,
its arithmetic on real run records (tiny models, made here), the reference runs against their record.
No timing is asserted: what an estimate is worth is measured by `python -m benchmarks.first_run`."""

import json
import shutil
from pathlib import Path

import pytest

from animatediff_ttnn.params import GenerationParams
from animatediff_ttnn.runtime import estimate as est
from animatediff_ttnn.runtime.device import hardware_description

from conftest import SMALL

REPO = Path(__file__).resolve().parents[2]
BENCH = REPO / "benchmarks"


def record(name):
    return json.loads((BENCH / name).read_text(encoding="utf-8"))


def ratio(tokens_from, tokens_to, constant):
    return tokens_to * (1 + tokens_to / constant) / (tokens_from * (1 + tokens_from / constant))


def test_attention_constant_matches_the_records_256_to_512_step_ratios():
    """4x the tokens cost 5.1x (bf16) and 5.8x (fp32) per step in the records: the model says within 10 %."""
    presets, speedups = record("presets-latest.json")["jobs"], record("cpu-speedups-latest.json")
    calls = {name: v["s"] for name, v in speedups["variants"].items()}  # one UNet call at 256x256, CFG 2 x 8 frames
    measured = {"bf16": presets["ours-quality"]["step_median_s"] / calls["bf16, torch's kernels (as shipped)"],
                "fp32": presets["bare-quality"]["step_median_s"] / calls["fp32, MKL linear (diffusers' kernels)"]}
    assert 5.0 < measured["bf16"] < 5.3 and 5.6 < measured["fp32"] < 6.0, measured
    predicted = ratio(32 * 32, 64 * 64, est.ATTENTION_TOKENS)
    for dtype, value in measured.items():
        assert abs(predicted / value - 1) < 0.10, (dtype, predicted, value)


def test_vae_constant_matches_the_records_256_to_512_decode_ratio():
    at_512 = record("presets-latest.json")["jobs"]["vae"]["float32"]["s_per_frame"]
    at_256 = next(r["s_per_frame"] for r in record("latest.json")["vae_decode"] if r["chunk"] == 2)
    assert abs(ratio(32 * 32, 64 * 64, est.VAE_TOKENS) / (at_512 / at_256) - 1) < 0.10


def test_the_reference_runs_are_the_committed_records():
    from benchmarks.first_run import REFERENCE_PY, reference_from_records, reference_module

    assert REFERENCE_PY.read_text(encoding="utf-8") == reference_module(reference_from_records()), (
        "run: python -m benchmarks.first_run --write-reference --no-run")


@pytest.fixture(scope="module")
def records(tiny_models, tmp_path_factory):
    """Two real Phase 1 runs on the tiny models (fp32, this machine): 3 frames x 2 steps, and 3 x 4."""
    from animatediff_ttnn.pipeline import run_phase1

    out = tmp_path_factory.mktemp("estimate-records")
    for steps in (2, 4):
        params = GenerationParams(prompt="a lighthouse", num_frames=3, steps=steps, **SMALL)
        run_phase1(params, out / f"run{steps}.gif", model=tiny_models["sd"], motion_adapter=tiny_models["motion_adapter"],
                   device="cpu", dtype="float32")
    (out / "notes.json").write_text('{"not": "a run"}')  # other JSON in the folder is not a record
    (out / "broken.json").write_text("{")
    return out


def job(**changes):
    base = dict(phase=1, frames=3, width=64, height=64, steps=2, guidance=7.5, dtype="float32", preset="quality")
    return est.Job(**{**base, **changes})


def host():
    import torch

    return hardware_description(torch.device("cpu"))


def test_the_same_job_is_its_records_own_time(records):
    metas = est.read_records(records)
    assert len(metas) == 2  # the two runs, nothing else
    two = next(m for m in metas if m["params"]["steps"] == 2)
    found = est.estimate(job(), metas, host(), models_loaded=False)
    assert found.basis == "job" and found.runs == 1
    assert found.total_s == pytest.approx(two["timings"]["total_s"], rel=1e-6)  # load, decode, everything
    warm = est.estimate(job(), metas, host(), models_loaded=True)
    assert warm.stages["load_s"] == 0 and warm.total_s == pytest.approx(found.total_s - found.stages["load_s"])


def test_other_jobs_are_scaled_by_their_work(records):
    metas = est.read_records(records)
    one = est.estimate(job(steps=4), metas, host(), models_loaded=True)
    bigger = est.estimate(job(steps=4, frames=6, guidance=1.0), metas, host(), models_loaded=True)
    assert bigger.basis == "scaled"
    # 6 frames but no CFG: the same number of UNet images per step; the VAE decodes twice the frames
    assert bigger.stages["denoise_s"] == pytest.approx(one.stages["denoise_s"])
    assert bigger.stages["decode_s"] == pytest.approx(2 * one.stages["decode_s"])
    wide = est.estimate(job(steps=4, width=128), metas, host(), models_loaded=True)
    tokens = 16 * 8
    assert wide.stages["denoise_s"] == pytest.approx(
        one.stages["denoise_s"] * est.unet_image_work(tokens) / est.unet_image_work(64))


def test_records_of_another_machine_phase_or_dtype_are_not_this_machines(records):
    metas = est.read_records(records)
    elsewhere = {**host(), "cpu": "another CPU"}
    assert est.from_records(job(), metas, elsewhere, False) is None
    assert est.from_records(job(phase=3), metas, host(), False) is None
    assert est.from_records(job(dtype="bfloat16"), metas, host(), False) is None


REFERENCE = {"machine": "a test machine", "source": "test", "calibration_s": {"float32": 0.5},
             "runs": [{"phase": 1, "backend": "torch", "dtype": "float32", "preset": {"name": "lightning"},
                       "params": {"num_frames": 8, "width": 512, "height": 512, "steps": 4, "guidance_scale": 1.0},
                       "timings": {"load_s": 30.0, "encode_s": 0.2, "steps_s": [40.0] * 4, "decode_s": 50.0,
                                   "export_s": 2.0, "total_s": 242.2}}]}


def test_without_a_record_the_reference_runs_scaled_by_the_calibration_and_called_a_guess():
    first_click = job(frames=8, width=512, height=512, steps=4, guidance=1.0, preset="lightning")
    same = est.estimate(first_click, [], host(), False, REFERENCE, calibrate=lambda: 0.5)
    assert same.basis == "calibration" and same.total_s == pytest.approx(242.2)
    assert same.note.startswith("a guess: no Phase 1 run here yet")
    slower = est.estimate(first_click, [], host(), False, REFERENCE, calibrate=lambda: 1.0)
    assert slower.total_s == pytest.approx(2 * 242.2)
    busy = est.estimate(first_click, [], host(), False, REFERENCE, calibrate=None)
    assert busy.total_s is None and "waits until no run is in progress" in busy.note
    unscaled = est.estimate(first_click, [], host(), False, {**REFERENCE, "calibration_s": None})
    assert unscaled.basis == "reference" and unscaled.total_s == pytest.approx(242.2)
    assert "not scaled to this machine" in unscaled.note


def test_no_card_figure_without_a_run_on_a_card():
    card = job(phase=2, backend="blackhole", steps=25)
    found = est.estimate(card, [], host(), False, REFERENCE, calibrate=lambda: 0.5)
    assert found.total_s is None and "not run on a card" in found.note


def test_phase_work_follows_each_phase_loop():
    assert est.unet_calls(job(phase=2, steps=4, frames=8)) == 8 * 5  # PNDM's extra warm-up call per frame
    assert est.images_per_call(job(phase=2)) == 2
    assert est.images_per_call(job(phase=1, guidance=1.0, frames=8)) == 8  # no unconditional half
    assert est.images_per_call(job(phase=3, guidance=1.0, frames=8)) == 16  # the frame loop runs both halves


def test_the_studio_contract_estimates_from_the_output_folder(records, tmp_path):
    from animatediff_ttnn import studio_api as api

    params = GenerationParams(prompt="a lighthouse", num_frames=3, steps=2, **SMALL)
    answer = api.estimate_run(1, params, {"device": "cpu", "dtype": "float32", "preset": "quality"}, records,
                              models_loaded=False, may_calibrate=False)
    assert answer["basis"] == "job" and answer["total_s"] > 0
    empty = api.estimate_run(1, params, {"device": "cpu", "dtype": "float32", "preset": "quality"}, tmp_path,
                             models_loaded=False, may_calibrate=False)
    assert empty["basis"] in ("reference", "none") and "no Phase 1 run here" in empty["note"]
