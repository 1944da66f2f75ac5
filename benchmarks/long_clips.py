"""Long clips (issue #14): 16 vs 64 frames with FreeNoise context windows, Phases 1 and 3, one process per job.

    python -m benchmarks.long_clips suite [--models DIR] [--size 256] [--steps 2] [--phases 1,3] [--write]
    python -m benchmarks.long_clips --workload JSON --frames 64 [--phase 3] [--context-length 16] [--no-split] --out DIR

`suite` runs every job in a fresh process (so each peak RSS is that job's alone), measures how busy
the rest of the machine was during each job, and with --write updates benchmarks/long-clips-latest.json
and .md (the committed table that README links). One job = one run on freshly loaded models
(in-process, no sidecar): seconds per frame (time to GIF / frames), seconds per denoising step, VAE
decode, and the process's peak resident memory after loading and at the end of the run.
`--no-split` turns split inference off (the whole batch of frames through each layer at once), to
show what the slicing saves.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

from benchmarks.common import (ROOT, LoadMonitor, Workload, cpu_seconds, emit, ensure_models, git_revision, log,
                               machine, peak_rss_mb, reset_peak_rss, rss_mb, run_worker, workload)

LATEST = ROOT / "benchmarks" / "long-clips-latest"


def main(argv=None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "suite":
        return suite(argv[1:])
    parser = argparse.ArgumentParser()
    parser.add_argument("--workload", required=True)
    parser.add_argument("--frames", type=int, required=True)
    parser.add_argument("--phase", type=int, choices=(1, 3), default=1)
    parser.add_argument("--context-length", type=int, default=16)
    parser.add_argument("--context-stride", type=int, default=4)
    parser.add_argument("--no-split", action="store_true")
    parser.add_argument("--out", required=True, type=Path)
    args = parser.parse_args(argv)
    w = Workload.from_json(args.workload)

    import torch

    import animatediff_ttnn.creative.long_clips as long_clips
    from animatediff_ttnn.params import GenerationParams

    if args.no_split:  # one slice = the whole batch: split inference without any splitting
        long_clips.TEMPORAL_SPLIT_FRAMES = 10**6
        long_clips.SPATIAL_SPLIT_PIXELS = 10**9
    if args.phase == 1:
        from animatediff_ttnn.pipeline import Phase1Pipeline, run_phase1 as run

        pipeline, load_s = Phase1Pipeline.from_sources(w.sd, w.motion_adapter, device="cpu")
    else:
        from animatediff_ttnn.motion_pipeline import Phase3Pipeline, run_phase3 as run

        pipeline, load_s = Phase3Pipeline.from_sources(w.sd, w.motion_adapter, backend="torch", device="cpu")
    rss_loaded, peak_loaded = rss_mb(), peak_rss_mb()
    # loading peaks above the run (fp32 files cast to bf16): start the high-water mark again, so the
    # run's own peak is measured too (falls back to the process peak where the kernel cannot reset it)
    run_peak_measured = reset_peak_rss()
    params = GenerationParams(**{**w.params(), "num_frames": args.frames, "context_length": args.context_length,
                                 "context_stride": args.context_stride})
    cpu0, t0 = cpu_seconds(), time.perf_counter()
    name = f"long-p{args.phase}-{args.frames}{'-nosplit' if args.no_split else ''}.gif"
    result = run(params, args.out / name, pipeline=pipeline)
    wall = time.perf_counter() - t0
    timings = result.metadata["timings"]
    windows = result.metadata["creative"]["context_windows"]
    emit({
        "kind": "long-clip",
        "phase": args.phase,
        "frames": args.frames,
        "dtype": result.metadata.get("dtype"),
        "split_inference": bool(windows and windows["split_inference"]) and not args.no_split,
        "windows": windows,
        "torch_threads": torch.get_num_threads(),
        "load_s": load_s,
        "rss_loaded_mb": rss_loaded,
        "peak_rss_loaded_mb": peak_loaded,
        "time_to_gif_s": wall,
        "s_per_frame": wall / args.frames,
        "cpu_s": cpu_seconds() - cpu0,
        "steps_s": timings["steps_s"],
        "decode_s": timings["decode_s"],
        "peak_rss_mb": max(peak_loaded or 0, peak_rss_mb() or 0),
        "peak_rss_run_mb": peak_rss_mb() if run_peak_measured else None,
    })


JOBS = [(16, False), (64, False), (64, True)]  # (frames, no_split): 16 vs 64 frames, and 64 without slicing


def run_section(sec, worker, wl, scratch, threads, quick: bool = False) -> list:
    """benchmarks.run's section: one fresh process per job (--quick: without the no-split job)."""
    runs = []
    for frames, no_split in JOBS[:2] if quick else JOBS:
        label = f"phase 1, {frames} frames with context windows{' (no split inference)' if no_split else ''}"
        args = wl + ["--frames", str(frames), "--out", str(scratch)] + (["--no-split"] if no_split else [])
        result = sec.run(label, worker, "long_clips", args, threads)
        if result:
            runs.append(result)
    return runs


def suite(argv) -> None:
    """16 and 64 frames for each phase asked for, each in its own process; table + JSON."""
    import tempfile

    p = argparse.ArgumentParser(prog="python -m benchmarks.long_clips suite")
    p.add_argument("--quick", action="store_true", help="tiny models (seconds), for working on the benchmark")
    p.add_argument("--models", type=Path, default=None, help="where the random-weight models live / are built")
    p.add_argument("--size", type=int, default=256, help="width = height in pixels (default 256)")
    p.add_argument("--steps", type=int, default=2, help="denoising steps (default 2)")
    p.add_argument("--phases", default="1,3")
    p.add_argument("--frames", default="16,64")
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--write", action="store_true", help="write benchmarks/long-clips-latest.json and .md")
    p.add_argument("--append", action="store_true",
                   help="with --write: add these runs to the record already there (e.g. Phase 3 after Phase 1)")
    args = p.parse_args(argv)
    w = workload("quick" if args.quick else "full", args.models, args.steps)
    if not args.quick:
        w.width = w.height = args.size
    ensure_models(w)
    monitor = LoadMonitor().start()
    record = {"benchmark": "long clips (issue #14)", "machine": machine(), "revision": git_revision(),
              "started": time.strftime("%Y-%m-%d %H:%M:%S %Z"), "load_average_before": os.getloadavg(),
              "workload": {k: v for k, v in json.loads(w.to_json()).items() if k not in ("sd", "motion_adapter")},
              "context": {"length": 16, "stride": 4}, "runs": []}
    with tempfile.TemporaryDirectory() as scratch:
        for phase in [int(x) for x in args.phases.split(",")]:
            for frames in [int(x) for x in args.frames.split(",")]:
                log(f"phase {phase}, {frames} frames")
                t0 = time.perf_counter()
                try:
                    result = run_worker("long_clips", ["--workload", w.to_json(), "--frames", str(frames), "--phase",
                                                       str(phase), "--out", scratch], args.threads)
                except RuntimeError as exc:
                    log(str(exc))
                    result = {"phase": phase, "frames": frames, "error": str(exc)[-500:]}
                result["others_cpus"] = monitor.others(t0, time.perf_counter())
                record["runs"].append(result)
                log(json.dumps({k: result.get(k) for k in ("s_per_frame", "peak_rss_mb", "others_cpus")}))
    monitor.stop()
    record["load_average_after"] = os.getloadavg()
    if args.write and args.append and LATEST.with_suffix(".json").is_file():
        earlier = json.loads(LATEST.with_suffix(".json").read_text())
        record["runs"] = earlier["runs"] + record["runs"]
        record["sessions"] = earlier.get("sessions", [_session(earlier)]) + [_session(record)]
    lines = render_suite(record)
    print("\n".join(lines))
    if args.write:
        LATEST.with_suffix(".json").write_text(json.dumps(record, indent=2) + "\n")
        LATEST.with_suffix(".md").write_text("\n".join(lines) + "\n")


def _session(record) -> dict:
    return {k: record[k] for k in ("started", "load_average_before", "load_average_after", "revision")}


def render_suite(record) -> list:
    m, w = record["machine"], record["workload"]
    head = [f"# Long clips: 16 vs 64 frames (issue #14)", "",
            f"Machine: {m['cpu']}, {m['cpu_cores']} cores, {m['memory_gib']} GiB, torch {m['torch']} "
            f"({m['torch_threads']} threads), diffusers {m.get('diffusers', '?')}. "
            + " ".join(f"Run started {s['started']}, load average before "
                       f"{', '.join(f'{x:.2f}' for x in s['load_average_before'])}, after "
                       f"{', '.join(f'{x:.2f}' for x in s['load_average_after'])}."
                       for s in record.get("sessions", [_session(record)]))
            + " The machine was shared: 'others' is how many CPUs other processes kept busy during each job "
            f"(of {m['cpu_cores']}).", "",
            f"Full-size SD 1.x UNet/VAE/CLIP + v1-5-2 motion adapter with random weights (real FLOPs), "
            f"{w['width']}x{w['height']}, {w['steps']} steps, guidance {w['guidance_scale']}, torch CPU. "
            "FreeNoise windows of 16 frames every 4 (a 16-frame clip is one window, no slicing); at 64 frames "
            "split inference is on. Each job ran in its own process: s/frame = (denoise + decode + export) / "
            "frames (wall clock, so it grows with the 'others' load); CPU s/frame = this process's CPU seconds "
            "for the run / frames (less sensitive to that load); peak RSS = the process's VmHWM, loading "
            "included; run peak = VmHWM reset after loading ('-' where the record predates that reading).", "",
            "| phase | frames | dtype | windows | s/frame | CPU s/frame | s/step | VAE decode s | peak RSS MB | "
            "run peak MB | after load MB | others (CPUs) |",
            "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    rows = []
    for r in record["runs"]:
        if "error" in r:
            rows.append(f"| {r['phase']} | {r['frames']} | - | failed: {r['error'][-80:]!r} | | | | | | | | |")
            continue
        win = r.get("windows") or {}
        steps = r.get("steps_s") or []
        run_peak = r.get("peak_rss_run_mb")
        rows.append(f"| {r['phase']} | {r['frames']} | {r.get('dtype')} | "
                    f"{win.get('context_length', '-')}/{win.get('context_stride', '-')}"
                    f"{' split' if r.get('split_inference') else ''} | {r['s_per_frame']:.2f} | "
                    f"{r['cpu_s'] / r['frames']:.2f} | {sum(steps) / max(len(steps), 1):.1f} | {r['decode_s']:.1f} | "
                    f"{r['peak_rss_mb']:.0f} | {'-' if run_peak is None else f'{run_peak:.0f}'} | "
                    f"{r['rss_loaded_mb']:.0f} | {r.get('others_cpus')} |")
    notes = [line for note in record.get("notes", []) for line in ("", note)]
    return head + rows + notes


def render(record) -> list:
    """Lines of the report's table: s/frame and peak RSS, 16 vs 64 frames."""
    runs = record.get("long_clips") or []
    if not runs:
        return []

    def cell(x, digits=2):
        return "-" if x is None else f"{x:.{digits}f}"

    rows = ["| frames | windows (length/stride) | split inference | s/frame | s/step | VAE decode s | peak RSS MB | "
            "after load MB |", "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for r in runs:
        win = r.get("windows") or {}
        steps = r.get("steps_s") or []
        rows.append(f"| {r['frames']} | {win.get('context_length', '-')}/{win.get('context_stride', '-')} | "
                    f"{'yes' if r.get('split_inference') else 'no'} | {cell(r.get('s_per_frame'))} | "
                    f"{cell(sum(steps) / len(steps) if steps else None)} | {cell(r.get('decode_s'))} | "
                    f"{cell(r.get('peak_rss_mb'), 0)} | {cell(r.get('rss_loaded_mb'), 0)} |")
    return ["### g. Long clips: FreeNoise context windows, 16 vs 64 frames (Phase 1, in-process, one process each)", "",
            "Windows of 16 frames every 4 (a 16-frame clip is one window). Split inference: spatial layers 16 frames "
            "at a time, motion modules 256 pixels at a time.", "", *rows, ""]


if __name__ == "__main__":
    main()
