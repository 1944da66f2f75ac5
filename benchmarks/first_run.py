"""The learner's first click, measured: how long the run form's default job takes on this machine, and how
far the studio's estimate before each run ("about N min on this machine") lands from the truth.

    scripts/bench.sh --first-run                  # full-size random-weight models (the real FLOPs), ~12 min quiet
    scripts/bench.sh --first-run --quick          # tiny models, a minute: for working on the benchmark
    scripts/bench.sh --first-run --write-latest --write-reference   # + the committed record and the estimate's
                                                  # reference runs (animatediff_ttnn/runtime/reference_runs.py)

Everything goes through one fresh sidecar, as the extension drives it, with an empty output folder (a
machine with no run records yet):
  A  the first click: the run form's defaults on this hardware (params.py: the Fast preset where torch
     has no GPU), 8 frames at 512x512, cold - the sidecar loads the models. Its estimate comes from the
     calibration (no record yet). Timed from the sidecar's start ("click to GIF": spawn, handshake, the
     estimate, the run) and by the run's own record (`totalS`, what the estimate predicts).
  B  Quality, one click away: the same clip with the Quality preset, 2 of its steps (the step count only
     multiplies a measured step). Its estimate is scaled from A's record (another preset, CFG, a load).
  C  A again, warm (models resident): its estimate comes from A's record of the very same job.
For each: the estimate given before the run, the truth, and the error (estimate - truth) / truth.

Writes benchmarks/results/<time>-first-run-<mode>.json; --write-latest also benchmarks/first-run-latest.
{json,md}. --write-reference rewrites runtime/reference_runs.py from benchmarks/first-run-latest.json (else
from benchmarks/presets-latest.json's runs, without a calibration): `python -m benchmarks.first_run
--write-reference --no-run` does only that; tests/python/test_estimate.py checks the file against the record.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any, Dict, List, Optional

from benchmarks.common import CORE, ROOT, LoadMonitor, child_env, ensure_models, git_revision, log, machine, workload

RESULTS = ROOT / "benchmarks" / "results"
LATEST = ROOT / "benchmarks" / "first-run-latest.json"
PRESETS_LATEST = ROOT / "benchmarks" / "presets-latest.json"
REFERENCE_PY = CORE / "animatediff_ttnn" / "runtime" / "reference_runs.py"
QUALITY_STEPS_MEASURED = 2
# What a run record holds that the estimate reads (runtime/estimate.py: job_of, stages_of); the rest stays out.
RECORD_KEYS = ("phase", "backend", "dtype", "preset", "params", "timings", "host", "models_reloaded")
PARAM_KEYS = ("num_frames", "width", "height", "steps", "guidance_scale")


def parse(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    p.add_argument("--quick", action="store_true", help="tiny models (a sanity run, not a measurement)")
    p.add_argument("--wait-quiet", type=float, default=0.0, metavar="S",
                   help="before each run wait up to S seconds for other processes to leave the CPUs")
    p.add_argument("--write-latest", action="store_true", help="write benchmarks/first-run-latest.{json,md}")
    p.add_argument("--write-reference", action="store_true",
                   help="rewrite runtime/reference_runs.py from the committed record (after the run, if any)")
    p.add_argument("--no-run", action="store_true", help="measure nothing (with --write-reference)")
    return p.parse_args(argv)


# -- the reference runs the estimate's calibration scales (runtime/reference_runs.py) ----------------

def slim(meta: Dict[str, Any]) -> Dict[str, Any]:
    """A run record reduced to what the estimate reads."""
    out = {k: meta[k] for k in RECORD_KEYS if k in meta}
    out["params"] = {k: meta["params"][k] for k in PARAM_KEYS}
    if isinstance(meta.get("preset"), dict):
        out["preset"] = {"name": meta["preset"]["name"]}
    timings = meta["timings"]
    out["timings"] = {k: timings[k] for k in ("load_s", "encode_s", "steps_s", "decode_s", "export_s", "total_s")}
    return out


def _machine_words(m: Dict[str, Any], source: str, when: str) -> str:
    return f"a {m['cpu_cores']}-core {m['cpu']} ({m.get('cpu_capability', '?')}; {source}, {when})"


def _presets_runs(record: Dict[str, Any]) -> List[Dict[str, Any]]:
    """presets-latest's ours-lightning and ours-quality jobs as run records: 8 frames at 512x512
    (benchmarks/fast.py's workload); Quality ran 2 of its steps."""
    runs = []
    for name, preset, guidance in (("ours-lightning", "lightning", 1.0), ("ours-quality", "quality", 7.5)):
        job = record["jobs"].get(name)
        if not job:
            continue
        steps = job["steps_s"]
        export = job.get("gif_s", 0.0)
        runs.append({"phase": 1, "backend": "torch", "dtype": job["dtype"], "preset": {"name": preset},
                     "params": {"num_frames": 8, "width": 512, "height": 512, "steps": len(steps),
                                "guidance_scale": guidance},
                     "timings": {"load_s": job["load_s"], "encode_s": job["encode_s"], "steps_s": steps,
                                 "decode_s": job["decode_s"], "export_s": export,
                                 "total_s": job["load_s"] + job["wall_s"] + export},
                     "models_reloaded": True})
    return runs


def reference_from_records() -> Dict[str, Any]:
    """The estimate's reference: benchmarks/first-run-latest.json (its calibration and its runs) when it
    exists, else benchmarks/presets-latest.json's runs with no calibration (the estimate then gives the
    reference machine's figures unscaled, and says so)."""
    if LATEST.is_file():
        record = json.loads(LATEST.read_text(encoding="utf-8"))
        return {"machine": _machine_words(record["machine"], "benchmarks/first-run-latest.json", record["started"][:10]),
                "source": "benchmarks/first-run-latest.json", "calibration_s": record["calibration_s"],
                "runs": [job["run"] for job in record["jobs"] if job.get("run") and job["name"] != "C"]}
    record = json.loads(PRESETS_LATEST.read_text(encoding="utf-8"))
    return {"machine": _machine_words(record["machine"], "benchmarks/presets-latest.json", record["started"][:10]),
            "source": "benchmarks/presets-latest.json", "calibration_s": None, "runs": _presets_runs(record)}


def reference_module(reference: Dict[str, Any]) -> str:
    return ('"""GENERATED by `python -m benchmarks.first_run --write-reference` from ' + reference["source"] + '.\n\n'
            "The runs whose stage times runtime/estimate.py scales to a machine that has no run record of its own,\n"
            "by the ratio of runtime/calibration.py's time there to its time here (`calibration_s`, measured in\n"
            "the same benchmark run as these runs; None: not measured, the figures are given unscaled). Do not\n"
            'edit: tests/python/test_estimate.py checks this file against the record.\n"""\n\n'
            f"REFERENCE = {json.dumps(reference, indent=4)}\n"
            .replace(": null", ": None").replace(": true", ": True").replace(": false", ": False"))


def write_reference() -> Path:
    REFERENCE_PY.write_text(reference_module(reference_from_records()), encoding="utf-8")
    return REFERENCE_PY


# -- the measurement ----------------------------------------------------------------------------------

def first_click_request(w, preset: str, steps: int, guidance: float, out_dir: Path) -> Dict[str, Any]:
    """studio/generate as the run form sends it for Phase 1 (extension/src/params.ts toGenerateParams)."""
    params = {**w.wire_params(), "steps": steps, "guidanceScale": guidance}
    return {"phase": 1, "device": "auto", "preset": preset, "models": {"sd": w.sd, "motionAdapter": w.motion_adapter},
            "params": params, "outputDir": str(out_dir)}


def hardware_preset() -> str:
    """The run form's first preset on this machine (params.py device_defaults, as presetForHardware reads it)."""
    import torch

    from animatediff_ttnn.params import SPEC

    gpu = torch.cuda.is_available() or torch.backends.mps.is_available()
    param = SPEC["preset"]
    return param.default if gpu else dict(param.device_defaults).get("cpu", param.default)


def run_job(client, name: str, request: Dict[str, Any], monitor: LoadMonitor, wait_quiet: float,
            since_spawn: bool = False) -> Dict[str, Any]:
    if wait_quiet:
        monitor.wait_quiet(wait_quiet)
    t0 = time.perf_counter()
    t_est = client.since_start()
    estimate = client.request("studio/estimate", request, timeout=600)
    estimate_s = client.since_start() - t_est
    log(f"{name}: estimate {estimate['totalS']} s ({estimate['basis']}: {estimate['note']})")
    t_send = client.since_start()
    result = client.request("studio/generate", request, timeout=7200)
    t_done = client.since_start()
    meta = json.loads(Path(result["metadataPath"]).read_text(encoding="utf-8"))
    truth = result["timings"]["totalS"]
    job = {"name": name, "request": {k: v for k, v in request.items() if k not in ("models", "outputDir")},
           "estimate": estimate, "estimate_request_s": round(estimate_s, 3), "total_s": truth,
           "error": None if estimate["totalS"] is None else round((estimate["totalS"] - truth) / truth, 4),
           "generate_s": round(t_done - t_send, 3), "run": slim(meta),
           "other_cpus": monitor.others(t0, time.perf_counter())}
    if since_spawn:
        job["click_to_gif_s"] = round(t_done, 3)  # from the sidecar's start: what the learner waits
    log(f"{name}: took {truth:.1f} s (estimate error {job['error']}); others used {job['other_cpus']} CPUs")
    return job


def measure(quick: bool, wait_quiet: float) -> Dict[str, Any]:
    from benchmarks.fast import preset_models
    from animatediff_ttnn.models.presets import get_preset
    from animatediff_ttnn.runtime.calibration import calibrate
    from tests.sidecar.rpc_client import SidecarClient

    import torch

    w = workload("quick" if quick else "full")
    if not quick:
        w = replace(w, width=512, height=512)
    w = replace(w, num_frames=8)
    built = ensure_models(w)
    paths = preset_models(Path(w.sd).parent, full=not quick)
    preset = hardware_preset()
    first = get_preset(preset)
    quality = get_preset("quality")
    monitor = LoadMonitor().start()
    record: Dict[str, Any] = {"kind": "first-run", "mode": "quick" if quick else "full",
                              "started": time.strftime("%Y-%m-%d %H:%M:%S"), "machine": machine(),
                              "git": git_revision(), "models": built, "first_click_preset": preset, "jobs": []}
    # The calibration the estimate scales the reference runs by, measured here in this run (both dtypes it
    # may meet on a CPU; bf16 only where the CPU has it natively: emulated bf16 would take minutes).
    from animatediff_ttnn.runtime.device import choose_dtype

    native, _why = choose_dtype(torch.device("cpu"), None)
    dtypes = {torch.float32, native}
    record["calibration_s"] = {str(d).replace("torch.", ""): round(calibrate(d), 5) for d in dtypes}
    log(f"calibration: {record['calibration_s']}")
    out_dir = Path(tempfile.mkdtemp(prefix="first-run-outputs-"))  # no run record yet: a new machine
    scratch = Path(tempfile.mkdtemp(prefix="first-run-scratchpad-"))  # empty: the sidecar runs the bundle
    env = {**child_env(), "HF_HUB_CACHE": str(paths["hf_cache"])}
    client = SidecarClient(["--scratchpad", str(scratch), "--bundle", str(CORE)], env=env, cwd=str(ROOT))
    try:
        client.request("studio/handshake", {"protocolVersion": 1, "clientName": "benchmarks.first_run"}, timeout=120)
        jobs = [("A", first_click_request(w, preset, first.steps, first.guidance_scale, out_dir), True),
                ("B", first_click_request(w, "quality", QUALITY_STEPS_MEASURED, quality.guidance_scale, out_dir), False),
                ("C", first_click_request(w, preset, first.steps, first.guidance_scale, out_dir), False)]
        for name, request, cold in jobs:
            log(f"{name}: {request['preset']}, {w.num_frames} frames at {w.width}x{w.height}, "
                f"{request['params']['steps']} steps")
            record["jobs"].append(run_job(client, name, request, monitor, wait_quiet, since_spawn=cold))
    finally:
        record["sidecar_exit"] = client.close(timeout=60)
        monitor.stop()
    return record


def render(record: Dict[str, Any]) -> str:
    m = record["machine"]
    lines = [f"# The first click and the estimate before it ({record['mode']}), {record['started']}", "",
             f"Machine: {m['cpu']}, {m['cpu_cores']} cores, {m['torch_threads']} torch threads, {m['cpu_capability']}, "
             f"torch {m['torch']}; {'tiny' if record['mode'] == 'quick' else 'full-size random-weight'} models; "
             f"calibration {record['calibration_s']} s. First-click preset on this machine: {record['first_click_preset']}.",
             "", "| job | estimate before the run | from | run's total | error | click to GIF | other CPUs busy |",
             "| --- | --- | --- | --- | --- | --- | --- |"]
    for job in record["jobs"]:
        est = job["estimate"]
        est_s = "none" if est["totalS"] is None else f"{est['totalS']:.0f} s"
        error = "-" if job["error"] is None else f"{job['error'] * 100:+.0f} %"
        click = f"{job['click_to_gif_s']:.0f} s" if "click_to_gif_s" in job else "-"
        run = job["run"]
        what = (f"{job['name']}: {run['preset']['name']}, {run['params']['num_frames']} frames at "
                f"{run['params']['width']}x{run['params']['height']}, {run['params']['steps']} steps, {run['dtype']}")
        lines.append(f"| {what} | {est_s} | {est['basis']}: {est['note']} | {job['total_s']:.0f} s | {error} | {click} | "
                     f"{job['other_cpus']} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    args = parse(argv)
    if not args.no_run:
        record = measure(args.quick, args.wait_quiet)
        RESULTS.mkdir(parents=True, exist_ok=True)
        out = RESULTS / f"{time.strftime('%Y%m%d-%H%M%S')}-first-run-{record['mode']}.json"
        out.write_text(json.dumps(record, indent=1), encoding="utf-8")
        text = render(record)
        if args.write_latest:
            if record["mode"] != "full":
                log("--write-latest keeps only full-size measurements; the quick record stays in benchmarks/results/")
            else:
                from benchmarks.run import shareable_json  # the committed record names no folder of this machine

                LATEST.write_text(shareable_json(record), encoding="utf-8")
                LATEST.with_suffix(".md").write_text(text + "\n", encoding="utf-8")
        print(text)
    if args.write_reference:
        log(f"wrote {write_reference().relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
