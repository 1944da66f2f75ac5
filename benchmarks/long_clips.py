"""Long clips (issue #14): Phase 1 at N frames with FreeNoise context windows, one process per job.

    python -m benchmarks.long_clips --workload JSON --frames 64 [--context-length 16] [--no-split] --out DIR

One run on freshly loaded models (in-process, no sidecar): seconds per frame (time to GIF / frames),
seconds per denoising step, VAE decode, and the process's peak resident memory after loading and at
the end of the run. `--no-split` turns diffusers' split inference off (the whole batch of frames
through each spatial layer at once), to show what the slicing saves.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from benchmarks.common import Workload, cpu_seconds, emit, peak_rss_mb, rss_mb


def main(argv=None) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--workload", required=True)
    parser.add_argument("--frames", type=int, required=True)
    parser.add_argument("--context-length", type=int, default=16)
    parser.add_argument("--context-stride", type=int, default=4)
    parser.add_argument("--no-split", action="store_true")
    parser.add_argument("--out", required=True, type=Path)
    args = parser.parse_args(argv)
    w = Workload.from_json(args.workload)

    import time

    import torch

    import animatediff_ttnn.long_clips as long_clips
    from animatediff_ttnn.params import GenerationParams
    from animatediff_ttnn.pipeline import Phase1Pipeline, run_phase1

    if args.no_split:  # one slice = the whole batch: split inference without any splitting
        long_clips.TEMPORAL_SPLIT_FRAMES = 10**6
        long_clips.SPATIAL_SPLIT_PIXELS = 10**9
    pipeline, load_s = Phase1Pipeline.from_sources(w.sd, w.motion_adapter, device="cpu")
    rss_loaded, peak_loaded = rss_mb(), peak_rss_mb()
    params = GenerationParams(**{**w.params(), "num_frames": args.frames, "context_length": args.context_length,
                                 "context_stride": args.context_stride})
    cpu0, t0 = cpu_seconds(), time.perf_counter()
    result = run_phase1(params, args.out / f"long-{args.frames}{'-nosplit' if args.no_split else ''}.gif",
                        pipeline=pipeline)
    wall = time.perf_counter() - t0
    timings = result.metadata["timings"]
    emit({
        "kind": "long-clip",
        "frames": args.frames,
        "split_inference": bool(result.metadata["creative"]["context_windows"]["split_inference"]) and not args.no_split,
        "windows": result.metadata["creative"]["context_windows"],
        "torch_threads": torch.get_num_threads(),
        "load_s": load_s,
        "rss_loaded_mb": rss_loaded,
        "peak_rss_loaded_mb": peak_loaded,
        "time_to_gif_s": wall,
        "s_per_frame": wall / args.frames,
        "cpu_s": cpu_seconds() - cpu0,
        "steps_s": timings["steps_s"],
        "decode_s": timings["decode_s"],
        "peak_rss_mb": peak_rss_mb(),
    })


if __name__ == "__main__":
    main()


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
