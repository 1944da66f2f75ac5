"""Our pipelines called in-process (no sidecar): the core's own cost, and the preview cost in situ.

    python -m benchmarks.direct --workload JSON --phase 1|2|3 --out DIR [--runs N]

Loads with `Phase1Pipeline.from_sources` / `Phase2Pipeline` / `Phase3Pipeline.from_sources`, then runs
`run_phase1` / `run_phase2` / `run_phase3` N times on the resident models (run 1 = cold: first calls into oneDNN etc.). Every
step's preview work is timed where it happens: the core's latents->RGB map (wrapped in place)
and the PNG + base64 encoding a client needs (what the sidecar does before sending a preview).
"""

from __future__ import annotations

import time

T_START = time.perf_counter()

import argparse  # noqa: E402
import base64  # noqa: E402
import io  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any, Dict, List  # noqa: E402

from benchmarks.common import Workload, cpu_seconds, emit, peak_rss_mb, reset_peak_rss, rss_mb  # noqa: E402

PREVIEW_MAX_SIDE = 128  # docs/protocol.md: previews at most 128 px on the longer side


def encode_previews(images) -> List[str]:
    """What the sidecar does with a step's previews: a base64 PNG each (its own encoder if importable)."""
    try:
        from animatediff_sidecar.images import png_base64
    except ImportError:
        png_base64 = None
    out = []
    for im in images:
        if png_base64 is not None:
            out.append(png_base64(im, PREVIEW_MAX_SIDE)[0])
            continue
        if max(im.size) > PREVIEW_MAX_SIDE:
            im = im.copy()
            im.thumbnail((PREVIEW_MAX_SIDE, PREVIEW_MAX_SIDE))
        buf = io.BytesIO()
        im.save(buf, format="PNG")
        out.append(base64.b64encode(buf.getvalue()).decode("ascii"))
    return out


def apply_knobs(args) -> Dict[str, Any]:
    """Experimental settings (each is a candidate optimisation measured by experiments.py)."""
    import torch

    knobs: Dict[str, Any] = {}
    if args.flush_denormal:
        knobs["flush_denormal"] = torch.set_flush_denormal(True)
    if args.decode_chunk_size:
        import animatediff_ttnn.pipeline as p1

        p1.DECODE_CHUNK_FRAMES = args.decode_chunk_size
        knobs["decode_chunk_size"] = args.decode_chunk_size
    return knobs


def main(argv=None) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--workload", required=True)
    parser.add_argument("--phase", type=int, choices=(1, 2, 3), required=True)
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--no-previews", action="store_true", help="pass no on_step callback at all")
    parser.add_argument("--flush-denormal", action="store_true")
    parser.add_argument("--decode-chunk-size", type=int, default=0)
    args = parser.parse_args(argv)
    w = Workload.from_json(args.workload)

    import torch

    import animatediff_ttnn.motion_pipeline as p3
    import animatediff_ttnn.pipeline as p1
    import animatediff_ttnn.ttnn_pipeline as p2
    from animatediff_ttnn.params import GenerationParams

    t_imported = time.perf_counter()
    knobs = apply_knobs(args)
    preview_map_s: List[float] = []
    preview_encode_s: List[float] = []

    def timed(fn):
        def wrapper(*a, **k):
            t0 = time.perf_counter()
            try:
                return fn(*a, **k)
            finally:
                preview_map_s.append(time.perf_counter() - t0)
        return wrapper

    p1.video_latents_to_previews = timed(p1.video_latents_to_previews)
    p2.latents_to_previews = timed(p2.latents_to_previews)
    p3.video_latents_to_previews = timed(p3.video_latents_to_previews)

    def on_step(event):
        t0 = time.perf_counter()
        encode_previews(event.previews)
        preview_encode_s.append(time.perf_counter() - t0)

    if args.phase == 1:
        pipeline, load_s = p1.Phase1Pipeline.from_sources(w.sd, w.motion_adapter, device="cpu")
    elif args.phase == 2:
        pipeline, load_s = p2.Phase2Pipeline.from_sources(w.sd, backend="torch", device="cpu")
    else:
        pipeline, load_s = p3.Phase3Pipeline.from_sources(w.sd, w.motion_adapter, backend="torch", device="cpu")
    rss_loaded, peak_load = rss_mb(), peak_rss_mb()
    runs = []
    for i in range(args.runs):
        preview_map_s.clear()
        preview_encode_s.clear()
        reset_peak_rss()
        params = GenerationParams(**w.params())
        out = args.out / f"direct-phase{args.phase}-run{i + 1}.gif"
        cpu0 = cpu_seconds()
        t0 = time.perf_counter()
        cb = None if args.no_previews else on_step
        if args.phase == 1:
            result = p1.run_phase1(params, out, pipeline=pipeline, on_step=cb)
        elif args.phase == 2:
            result = p2.run_phase2(params, out, pipeline=pipeline, backend="torch", on_step=cb)
        else:
            result = p3.run_phase3(params, out, pipeline=pipeline, backend="torch", on_step=cb)
        wall = time.perf_counter() - t0
        timings = result.metadata["timings"]
        runs.append({
            "time_to_gif_s": wall,
            "cpu_s": cpu_seconds() - cpu0,
            "timings": timings,
            "preview_map_ms": [s * 1000 for s in preview_map_s],
            "preview_encode_ms": [s * 1000 for s in preview_encode_s],
            "peak_rss_mb": peak_rss_mb(),
            "gif": result.outputs["gif"],
        })
    emit({
        "kind": f"direct-phase{args.phase}",
        "torch_threads": torch.get_num_threads(),
        "knobs": knobs,
        "import_s": t_imported - T_START,
        "load_s": load_s,
        "rss_loaded_mb": rss_loaded,
        "peak_rss_load_mb": peak_load,
        "runs": runs,
    })


if __name__ == "__main__":
    main()
