"""The benchmark: our pipelines through the sidecar vs diffusers' bare AnimateDiffPipeline, preview
cost, cold vs warm start, Phase 2 vs Phase 1, peak memory, and where a step's time goes.

    scripts/bench.sh            # full-size random-weight models, 8 frames, 256x256, 3 steps (~30 min)
    scripts/bench.sh --quick    # tiny models, seconds: for developing the benchmark itself
    .venv/bin/python -m benchmarks.run --help

Every figure is measured in this run beside its baseline, in a fresh process per job, with the
same thread count for all of them. Prints a table; writes benchmarks/results/<time>-<mode>.json
(and with --write-latest, benchmarks/latest.json + latest.md, which are committed).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Dict, List, Optional

from benchmarks import report
from benchmarks.common import (ROOT, LoadMonitor, ensure_models, git_revision, log, machine, run_worker, workload)

RESULTS = ROOT / "benchmarks" / "results"


def parse(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="tiny models (seconds) instead of the full-size ones")
    p.add_argument("--steps", type=int, default=3, help="denoising steps per run (default 3)")
    p.add_argument("--threads", type=int, default=None,
                   help="torch threads for every process (default: torch's own default, the physical cores)")
    p.add_argument("--models", type=Path, default=None, help="where the random-weight models live / are built")
    p.add_argument("--vae-chunks", default="1,2,4,8", help="decode_chunk_size values to measure ('' = skip)")
    p.add_argument("--experiments", action="store_true",
                   help="also measure the candidate optimisations (threads, channels_last, flush-denormal, ...)")
    p.add_argument("--skip", default="", help="comma list of sections to skip: baseline,sidecar,phase2,phase3,profile,vae,long")
    p.add_argument("--direct", action="store_true", help="also run our pipelines in-process (no sidecar)")
    p.add_argument("--wait-quiet", type=float, default=0.0, metavar="S",
                   help="before each measurement wait up to S seconds for other processes to leave the CPUs "
                        "(< 0.2 CPU): for machines shared with other work")
    p.add_argument("--write-latest", action="store_true", help="also write benchmarks/latest.json and latest.md")
    p.add_argument("--out", type=Path, default=RESULTS, help="folder for the JSON result and scratch outputs")
    return p.parse_args(argv)


class Section:
    """Runs one measurement, records its wall time and how busy the rest of the machine was."""

    def __init__(self, monitor: LoadMonitor, record: Dict[str, Any], quiet_wait: float = 0.0):
        self.monitor, self.record, self.quiet_wait = monitor, record, quiet_wait

    def run(self, name: str, fn, *args, **kwargs) -> Optional[Dict[str, Any]]:
        if self.quiet_wait:
            busy = self.monitor.wait_quiet(self.quiet_wait, window=3.0)
            if busy is not None and busy >= 0.2:
                log(f"machine still busy (others use {busy} CPUs) after waiting {self.quiet_wait:.0f} s; measuring anyway")
        log(f"{name} ...")
        t0 = time.perf_counter()
        try:
            out = fn(*args, **kwargs)
        except Exception as exc:  # noqa: BLE001 - one failed section must not lose the others
            log(f"{name} FAILED: {exc}")
            self.record.setdefault("errors", {})[name] = str(exc)[-4000:]
            return None
        t1 = time.perf_counter()
        out["section_wall_s"] = t1 - t0
        out["t_spawn"] = out.get("t_spawn", t0)
        out["other_cpus"] = self.monitor.others(t0, t1)
        log(f"{name} done in {t1 - t0:.1f} s (other processes used {out['other_cpus']} CPUs meanwhile)")
        return out


def worker(module: str, args: List[str], threads: Optional[int]) -> Dict[str, Any]:
    t_spawn = time.perf_counter()
    out = run_worker(module, args, threads)
    out["t_spawn"] = t_spawn
    return out


def main(argv=None) -> int:
    args = parse(argv)
    mode = "quick" if args.quick else "full"
    w = workload(mode, args.models, steps=args.steps)
    skip = {s.strip() for s in args.skip.split(",") if s.strip()}
    stamp = time.strftime("%Y%m%d-%H%M%S")
    scratch = Path(tempfile.mkdtemp(prefix=f"bench-{mode}-", dir=None))
    args.out.mkdir(parents=True, exist_ok=True)

    if args.threads:
        import os

        os.environ["OMP_NUM_THREADS"] = str(args.threads)  # before torch is imported here
    record: Dict[str, Any] = {"schema": 1, "mode": mode, "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                              "command": " ".join(["python -m benchmarks.run", *(argv if argv is not None else sys.argv[1:])]),
                              "git": git_revision(), "workload": json.loads(w.to_json())}
    record["machine"] = machine()
    threads = args.threads or record["machine"]["torch_threads"]
    record["machine"]["torch_threads"] = threads
    record["models"] = ensure_models(w)
    from animatediff_ttnn.pipeline import DECODE_CHUNK_FRAMES

    record["decode_chunk_size"] = DECODE_CHUNK_FRAMES

    monitor = LoadMonitor().start()
    time.sleep(3.5)  # a first reading of the machine's load
    sec = Section(monitor, record, args.wait_quiet)
    wl = ["--workload", w.to_json()]
    t_all = time.perf_counter()

    if "baseline" not in skip:
        record["baseline"] = sec.run("phase 1, bare diffusers (2 runs in one process)", worker, "baseline",
                                     wl + ["--out", str(scratch), "--runs", "2",
                                           "--decode-chunk-size", str(DECODE_CHUNK_FRAMES)], threads)
    from benchmarks import sidecar_bench

    why_not = sidecar_bench.available()
    record["sidecar_available"] = why_not is None
    if why_not:
        record["sidecar_missing"] = why_not
        log(f"sidecar not available ({why_not}): our pipelines are measured in-process instead")
    if "sidecar" not in skip and why_not is None:
        # 1) with diffusers' own kernels (MKL linear layers): what the sidecar + our wrapper add
        record["sidecar_phase1_same_kernels"] = sec.run(
            "phase 1 through the sidecar, diffusers' kernels (cold run, warm run)", sidecar_bench.run_sidecar,
            w, 1, 2, scratch, threads, {"ANIMATEDIFF_ONEDNN_LINEAR": "0"}, "same-kernels")
        # 2) as shipped (cpu_speedups on where they apply)
        record["sidecar_phase1"] = sec.run("phase 1 through the sidecar, as shipped (cold run, warm run)",
                                           sidecar_bench.run_sidecar, w, 1, 2, scratch, threads)
    if "phase2" not in skip and why_not is None:
        record["sidecar_phase2"] = sec.run("phase 2 (torch backend) through the sidecar",
                                           sidecar_bench.run_sidecar, w, 2, 1 if mode == "full" else 2, scratch, threads)
    if args.direct or why_not is not None:
        for phase in (1, 2):
            record[f"direct_phase{phase}"] = sec.run(f"phase {phase} in-process (no sidecar)", worker, "direct",
                                                     wl + ["--phase", str(phase), "--out", str(scratch), "--runs", "2"],
                                                     threads)
    if "phase3" not in skip:
        # Phase 3 (frame loop) beside Phase 1 (diffusers, all frames at once), both in-process, same job
        if "direct_phase1" not in record:
            record["direct_phase1"] = sec.run("phase 1 in-process (no sidecar)", worker, "direct",
                                              wl + ["--phase", "1", "--out", str(scratch), "--runs", "2"], threads)
        record["direct_phase3"] = sec.run("phase 3 (torch backend) in-process", worker, "direct",
                                          wl + ["--phase", "3", "--out", str(scratch), "--runs", "2"], threads)
    if "profile" not in skip:
        record["profile"] = sec.run("profile of one step (FLOPs, hooks, torch.profiler), matmul rate, previews",
                                    worker, "profile_step", wl + ["--quiet-wait", str(args.wait_quiet)], threads)
    chunks = [int(c) for c in args.vae_chunks.split(",") if c.strip()] if "vae" not in skip else []
    record["vae_decode"] = [r for r in (sec.run(f"VAE decode of {w.num_frames} frames, chunk {c}", worker, "experiments",
                                                ["vae", *wl, "--chunk", str(c)], threads) for c in chunks) if r]
    if "long" not in skip:  # issue #14: s/frame and peak RSS at 16 vs 64 frames with context windows
        from benchmarks import long_clips

        record["long_clips"] = long_clips.run_section(sec, worker, wl, scratch, threads, quick=mode == "quick")
    if args.experiments:
        record["experiments"] = run_experiments(sec, w, wl, threads, args.wait_quiet)

    record["total_wall_s"] = time.perf_counter() - t_all
    monitor.stop()
    record["other_cpus_overall"] = monitor.others(t_all, time.perf_counter())
    report.check_outputs(record)
    out_json = args.out / f"{stamp}-{mode}.json"
    out_json.write_text(json.dumps(record, indent=1, default=str) + "\n", encoding="utf-8")  # before rendering
    log(f"wrote {out_json}")
    text = report.render(record)
    print(text)
    if args.write_latest:
        (ROOT / "benchmarks" / "latest.json").write_text(shareable_json(record), encoding="utf-8")
        (ROOT / "benchmarks" / "latest.md").write_text(text + "\n", encoding="utf-8")
        log("wrote benchmarks/latest.json and benchmarks/latest.md")
    return 0 if not record.get("errors") else 1


def shareable_json(record: Dict[str, Any]) -> str:
    """The committed record names no folder of the machine it ran on: paths become repo-relative,
    and scratch files (temp folders, gone after the run) become <tmp>/..."""
    text = json.dumps(record, indent=1, default=str).replace(str(ROOT) + "/", "")
    text = re.sub(re.escape(tempfile.gettempdir().rstrip("/")) + r"/[^/\"]+", "<tmp>", text)
    return text + "\n"


def run_experiments(sec: Section, w, wl: List[str], threads: int, quiet: float) -> Dict[str, Any]:
    """Candidate optimisations. A/B ones alternate both settings on one loaded UNet (robust on a
    shared machine); the others run each setting in its own process."""
    exp: Dict[str, Any] = {}
    q = ["--quiet-wait", str(quiet)]
    variants = {
        "A/B Phase 1 UNet: linear layers MKL vs oneDNN": ["ab", *wl, "--phase", "1", "--variant", "linear", "--pairs", "2", *q],
        "A/B Phase 2 UNet: linear layers MKL vs oneDNN": ["ab", *wl, "--phase", "2", "--variant", "linear", "--pairs", "5", *q],
        "A/B Phase 2 UNet: contiguous vs channels_last": ["ab", *wl, "--phase", "2", "--variant", "channels_last", "--pairs", "5", *q],
        "Phase 2 UNet, flush denormals": ["unet", *wl, "--phase", "2", "--calls", "4", "--flush-denormal"],
        "Phase 2 UNet, inference_mode": ["unet", *wl, "--phase", "2", "--calls", "4", "--inference-mode"],
        "Phase 2 UNet, control": ["unet", *wl, "--phase", "2", "--calls", "4"],
        "A/B VAE decode of 2 frames: contiguous vs channels_last": ["ab", *wl, "--variant", "vae_channels_last",
                                                                   "--chunk", "2", "--pairs", "4", *q],
    }
    for name, argv in variants.items():
        exp[name] = sec.run(f"experiment: {name}", worker, "experiments", argv, threads)
    if threads > 1:
        exp["Phase 2 UNet, 1 thread"] = sec.run("experiment: Phase 2 UNet, 1 thread", worker, "experiments",
                                                ["unet", *wl, "--phase", "2", "--calls", "4"], 1)
    return exp


if __name__ == "__main__":
    sys.exit(main())
