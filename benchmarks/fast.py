"""The presets benchmark (issue 11): the seed's job, 8 frames at 512x512, four ways in one run.

    scripts/bench.sh --presets            # full-size random-weight models (same FLOPs as the real ones)
    scripts/bench.sh --presets --quick    # tiny models, a minute or two: for working on the benchmark

1. bare diffusers as its docs set it up (fp32, DDIM, 25 steps, CFG 7.5)   - projected from --measure-steps
2. ours, Quality preset (same job; dtype by capability: bf16 here)        - projected the same way
3. ours, Fast (AnimateDiff-Lightning 4-step, no CFG)                      - end to end
4. bare diffusers set up as the Lightning model card says (fp32 on CPU)   - end to end
5. the informed peer: the same with torch_dtype=torch.bfloat16              - end to end
Every generation job is reported beside its compute floor (benchmarks/floor.py): its FLOPs counted, this
machine's GEMM rate measured at the start and at the end of this run, floor = FLOPs / rate.
(+ ours AnimateLCM end to end with --animatelcm; + ours Fast with glibc's malloc defaults, i.e. without
runtime/cpu_memory.py's kept memory, with --ab-memory), the bf16 quality guard and the VAE decode per dtype.
Each job runs in a fresh process (its peak RSS is its own); the machine and its load are recorded.
Writes benchmarks/results/<time>-presets-<mode>.json and, with --write-latest, benchmarks/presets-latest.{json,md}
(or NAME-latest with --latest-name NAME: `--skip ours-quality,bare-quality --latest-name floor` is the floor record).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any, Dict, Optional

from benchmarks.common import ROOT, LoadMonitor, ensure_models, git_revision, log, machine, run_worker, workload
from benchmarks.fast_report import CFG_JOBS

RESULTS = ROOT / "benchmarks" / "results"


def parse(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m benchmarks.fast", description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="tiny models instead of the full-size ones")
    p.add_argument("--measure-steps", type=int, default=2, help="steps measured of the 25-step runs (default 2)")
    p.add_argument("--animatelcm", action="store_true", help="also run the AnimateLCM preset end to end")
    p.add_argument("--ab-memory", action="store_true",
                   help="also run ours Fast with malloc's defaults (ANIMATEDIFF_KEEP_FREED_MEMORY=0): runtime/cpu_memory.py's share")
    p.add_argument("--skip", default="", help="comma list: floor,ours-lightning,ours-quality,bare-quality,bare-lightning,bare-lightning-bf16,guard,vae,floor-end")
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--warm-runs", type=int, default=1,
                   help="ours Fast: runs after the first in the same process (the studio keeps its models loaded)")
    p.add_argument("--wait-quiet", type=float, default=0.0, metavar="S",
                   help="before each job wait up to S seconds for other processes to leave the CPUs")
    p.add_argument("--write-latest", action="store_true")
    p.add_argument("--latest-name", default="presets", metavar="NAME",
                   help="--write-latest writes benchmarks/NAME-latest.{json,md} (default presets; e.g. floor for a "
                        "run of the Fast jobs alone, which must not replace the full presets record)")
    return p.parse_args(argv)


def preset_models(base: Path, full: bool) -> Dict[str, Path]:
    """Lightning / AnimateLCM files beside the SD model, and an HF cache holding them (built once;
    the tiny set comes with the tiny models)."""
    if not (base / "hf-cache" / "models--wangfuyun--AnimateLCM").is_dir():
        from animatediff_testing.tiny_models import build_tiny_preset_models

        log(f"building the preset models into {base} (once)")
        build_tiny_preset_models(base, base / "sd", adapter_kwargs={} if full else None,
                                 step_counts=(4,) if full else None, lora_rank=64 if full else 4)
    return {"lightning": base / "lightning", "hf_cache": base / "hf-cache"}


def main(argv=None) -> int:
    args = parse(argv)
    mode = "quick" if args.quick else "full"
    w = workload(mode, steps=25)
    if not args.quick:
        w = replace(w, width=512, height=512)
    built = ensure_models(w)
    paths = preset_models(Path(w.sd).parent, full=not args.quick)
    import os

    os.environ["HF_HUB_CACHE"] = str(paths["hf_cache"])  # the presets' hub ids resolve to the built files
    skip = set(filter(None, args.skip.split(",")))
    lightning = replace(w, steps=4, guidance_scale=1.0)
    jobs = [  # the headline goal first: on a busy machine the later jobs may be cut short
        ("floor", w, 0),  # the job's FLOPs and this machine's GEMM rates (again at the end: "floor-end")
        ("ours-lightning", lightning, 0),  # + a warm run (see --warm-runs)
        ("ours-quality", w, args.measure_steps),
        ("bare-quality", w, args.measure_steps),
        ("bare-lightning", replace(lightning, motion_adapter=str(paths["lightning"] / "animatediff_lightning_4step_diffusers.safetensors")), 0),
        ("bare-lightning-bf16", replace(lightning, motion_adapter=str(paths["lightning"] / "animatediff_lightning_4step_diffusers.safetensors")), 0),
    ]
    if args.ab_memory:
        jobs.append(("ours-lightning-malloc-defaults", lightning, 0))
    if args.animatelcm:
        jobs.append(("ours-animatelcm", replace(w, steps=6, guidance_scale=2.0), 0))
    jobs += [("guard", replace(w, width=256, height=256) if not args.quick else w, 0), ("vae", w, 0), ("floor-end", w, 0)]

    from animatediff_ttnn.runtime.device import cpu_bf16_support

    # bf16 jobs on a CPU without native bf16 would be emulated (~40x slower: hours for one run): left out, said why
    no_bf16 = "" if cpu_bf16_support() else "this CPU has no native bf16 (bf16 would be emulated, many times slower)"
    if no_bf16:
        skip |= {"bare-lightning-bf16", "guard"}
    monitor = LoadMonitor().start()
    record: Dict[str, Any] = {"kind": "presets", "mode": mode, "started": time.strftime("%Y-%m-%d %H:%M:%S"),
                              "machine": machine(), "git": git_revision(), "models": built, "jobs": {}}
    out = RESULTS / f"{time.strftime('%Y%m%d-%H%M%S')}-presets-{mode}"
    extra = ["--adapter-config", w.motion_adapter] if args.quick else []
    for name, job_w, measure in jobs:
        if name in skip:
            if no_bf16 and name in ("bare-lightning-bf16", "guard"):
                record.setdefault("skipped", {})[name] = no_bf16
            continue
        if args.wait_quiet:
            monitor.wait_quiet(args.wait_quiet)
        log(f"{name} ...")
        t0 = time.perf_counter()
        try:
            if name.startswith("floor"):  # FLOPs once; the rates at both ends of the run
                result = run_worker("floor", ["--workload", job_w.to_json(), *(["--rates-only"] if name == "floor-end" else [])],
                                    args.threads)
            else:
                result = run_worker("fast_job", [name.replace("-malloc-defaults", ""), "--workload", job_w.to_json(),
                                             "--out", str(out), "--measure-steps", str(measure), *extra,
                                                 *(["--warm-runs", str(args.warm_runs)] if name == "ours-lightning" else [])],
                                    args.threads, env={"ANIMATEDIFF_KEEP_FREED_MEMORY": "0"} if "malloc-defaults" in name else None)
        except Exception as exc:  # noqa: BLE001 - one failed job must not lose the others
            log(f"{name} FAILED: {exc}")
            record.setdefault("errors", {})[name] = str(exc)[-3000:]
            continue
        t1 = time.perf_counter()
        result["other_cpus"] = monitor.others(t0, t1)
        result["job_wall_s"] = round(t1 - t0, 1)
        record["jobs"][name] = result
        add_floors(record)
        log(f"{name} done in {t1 - t0:.0f} s (others used {result['other_cpus']} CPUs meanwhile)")
        save(record, out, args.latest_name if args.write_latest else None)  # after every job: a long run stopped early keeps what it measured
    monitor.stop()
    print(save(record, out, args.latest_name if args.write_latest else None))
    return 1 if record.get("errors") else 0


def add_floors(record: Dict[str, Any]) -> None:
    """Each generation job's compute floor and its ratio to it (benchmarks/floor.py), from the floor jobs'
    FLOP counts and the best GEMM rate this run measured in the job's dtype."""
    from benchmarks.floor import job_floor

    floor = record["jobs"].get("floor")
    if not floor:
        return
    ends = [record["jobs"][k]["gemm"] for k in ("floor", "floor-end") if k in record["jobs"]]
    for name, job in record["jobs"].items():
        if "time_to_frames_s" in job:
            job.update(job_floor(job, floor["flops"], ends, cfg=name in CFG_JOBS))


def save(record: Dict[str, Any], out: Path, latest: Optional[str]) -> str:
    from benchmarks.fast_report import render

    text = render(record)
    RESULTS.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".json").write_text(json.dumps(record, indent=1))
    if latest:
        from benchmarks.run import shareable_json  # the committed record names no folder of this machine

        (ROOT / "benchmarks" / f"{latest}-latest.json").write_text(shareable_json(record))
        (ROOT / "benchmarks" / f"{latest}-latest.md").write_text(text + "\n")
    return text


if __name__ == "__main__":
    sys.exit(main())
