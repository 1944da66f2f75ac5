"""Figures from a benchmark record (benchmarks/run.py), printed as Markdown tables.

    python -m benchmarks.report benchmarks/latest.json      # re-print a stored result
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, Dict, List, Optional

Row = List[str]


def mean(xs) -> Optional[float]:
    xs = [x for x in (xs or []) if x is not None]
    return sum(xs) / len(xs) if xs else None


def f(x: Optional[float], digits: int = 2, unit: str = "") -> str:
    if x is None:
        return "n/a"
    return f"{x:.{digits}f}{unit}"


def ratio(ours: Optional[float], base: Optional[float]) -> str:
    if ours is None or not base:
        return "n/a"
    return f"{ours / base:.3f}× ({(ours / base - 1) * 100:+.1f}%)"


def table(head: Row, rows: List[Row]) -> str:
    widths = [max(len(str(c)) for c in col) for col in zip(head, *rows)]
    line = lambda r: "| " + " | ".join(str(c).ljust(w) for c, w in zip(r, widths)) + " |"  # noqa: E731
    return "\n".join([line(head), "|" + "|".join("-" * (w + 2) for w in widths) + "|", *map(line, rows)])


def gif_frames(path: str):
    import numpy as np
    from PIL import Image, ImageSequence

    with Image.open(path) as im:
        return [np.asarray(fr.convert("RGB"), dtype=np.int16) for fr in ImageSequence.Iterator(im)]


def check_outputs(record: Dict[str, Any]) -> None:
    """Same job, same seed: our GIF must equal diffusers' pixel for pixel (numerical noise aside)."""
    base = (record.get("baseline") or {}).get("runs") or []
    ours = ((record.get("sidecar_phase1") or {}).get("runs") or []) or ((record.get("direct_phase1") or {}).get("runs") or [])
    if not base or not ours:
        return
    try:
        ours_gif = ours[-1].get("outputs", {}).get("gif") or ours[-1].get("gif")
        a, b = gif_frames(base[-1]["gif"]), gif_frames(ours_gif)
        diff = max(int(abs(x - y).max()) for x, y in zip(a, b)) if len(a) == len(b) else None
        record["outputs_match"] = {"frames": [len(a), len(b)], "max_pixel_diff": diff}
    except Exception as exc:  # noqa: BLE001
        record["outputs_match"] = {"error": str(exc)}


def phase1_pair(record):
    base = (record.get("baseline") or {}).get("runs") or []
    sc = record.get("sidecar_phase1") or {}
    ours_runs = sc.get("runs") or []
    via = "sidecar"
    if not ours_runs and record.get("direct_phase1"):
        ours_runs, via = record["direct_phase1"]["runs"], "in-process"
    return base, ours_runs, via


def our_steps(run) -> List[float]:
    t = run.get("sidecar_timings") or {}
    return t.get("stepsS") or (run.get("timings") or {}).get("steps_s") or []


def render(record: Dict[str, Any]) -> str:
    m = record.get("machine", {})
    w = record.get("workload", {})
    out: List[str] = []
    out.append(f"## Benchmark ({record.get('mode')}: {'full-size SD 1.x UNet + v1-5-2 motion adapter, random weights' if record.get('mode') == 'full' else 'tiny models'})")
    out.append("")
    out.append(f"Machine: {m.get('cpu')}, {m.get('cpu_cores')} cores, torch threads {m.get('torch_threads')}, "
               f"{m.get('memory_gib')} GiB, {m.get('cpu_capability')}; torch {m.get('torch')}, diffusers {m.get('diffusers')}, "
               f"Python {m.get('python')}. Commit {record.get('git', {}).get('commit')}"
               f"{' (dirty)' if record.get('git', {}).get('dirty') else ''}, {record.get('started')}.")
    out.append(f"Job: {w.get('num_frames')} frames, {w.get('width')}x{w.get('height')}, {w.get('steps')} steps, guidance "
               f"{w.get('guidance_scale')}, seed {w.get('seed')}, fp32 CPU, decode_chunk_size {record.get('decode_chunk_size')}. "
               f"Other processes used {record.get('other_cpus_overall')} CPUs on average during the run.")
    out.append("")

    base, ours, via = phase1_pair(record)
    sc1 = record.get("sidecar_phase1") or {}
    if base and ours:
        rows = []
        for label, i in (("cold (run 1)", 0), ("warm (run 2)", 1)):
            if i >= len(base) or i >= len(ours):
                continue
            b, o = base[i], ours[i]
            rows.append([f"s/step, {label}", f(mean(b["steps_s"]), 3), f(mean(our_steps(o)), 3),
                         ratio(mean(our_steps(o)), mean(b["steps_s"]))])
            rows.append([f"time-to-GIF, {label}", f(b["time_to_gif_s"], 2), f(o["time_to_gif_s"], 2),
                         ratio(o["time_to_gif_s"], b["time_to_gif_s"])])
            if b.get("cpu_s") and o.get("cpu_s"):
                rows.append([f"CPU s (process), {label}", f(b["cpu_s"], 1), f(o["cpu_s"], 1), ratio(o["cpu_s"], b["cpu_s"])])
        bl = record.get("baseline") or {}
        if sc1.get("spawn_to_handshake_s") is not None and bl.get("t_spawn") is not None and base[0].get("t_gif"):
            cold_base = base[0]["t_gif"] - bl["t_spawn"]
            cold_ours = sc1["spawn_to_handshake_s"] + ours[0]["time_to_gif_s"]
            rows.append(["process start -> first GIF (load incl.)", f(cold_base, 1), f(cold_ours, 1), ratio(cold_ours, cold_base)])
        match = record.get("outputs_match", {})
        out.append(f"### a. Phase 1: ours ({via}) vs bare diffusers AnimateDiffPipeline (goal: overhead ≤ 2%)")
        out.append("")
        out.append(table(["figure", "diffusers (s)", f"ours via {via} (s)", "ours / diffusers"], rows))
        out.append("")
        other_b, other_o = (record.get("baseline") or {}).get("other_cpus"), (sc1 or record.get("direct_phase1") or {}).get("other_cpus")
        out.append(f"Same GIF? max pixel difference {match.get('max_pixel_diff', 'n/a')} over {match.get('frames', ['?'])[0]} frames. "
                   f"Other processes' CPU use during each: diffusers {other_b}, ours {other_o}.")
        out.append("")

    prof = record.get("profile") or {}
    pv = prof.get("preview") or {}
    if pv:
        step_ours = mean(our_steps(ours[-1])) if ours else None
        insitu = None
        if ours and via == "sidecar":
            gaps, steps = ours[-1].get("step_notice_gaps_s") or [], our_steps(ours[-1])
            insitu = mean([g - s for g, s in zip(gaps, steps[1:])])
        rows = [["latents -> RGB map (core)", f(pv.get("map_ms"), 2), share(pv.get("map_ms"), step_ours)],
                [f"PNG + base64 + JSON ({pv.get('frames')} x {pv.get('size', ['?'])[0]}px)", f(pv.get("encode_ms"), 2),
                 share(pv.get("encode_ms"), step_ours)],
                ["total per step (microbenchmark)", f(pv.get("total_ms"), 2), share(pv.get("total_ms"), step_ours)]]
        if insitu is not None:
            rows.append(["in the sidecar run: notice gap - timed step", f(insitu * 1000, 1), share(insitu * 1000, step_ours)])
        out.append("### b. Preview cost per Phase 1 step (goal: ≤ 1% of a step)")
        out.append("")
        out.append(table(["part", "ms", "share of a step"], rows))
        out.append("")

    if sc1.get("runs"):
        rows = []
        for label, r in zip(("cold (run 1)", "warm (run 2)"), sc1["runs"]):
            t = r["sidecar_timings"]
            rows.append([label, f(r.get("to_first_step_s"), 2), f(t.get("loadS"), 2), f(t.get("encodeS"), 2),
                         "yes" if r.get("models_reloaded") else "no"])
        out.append("### c. Cold vs warm start through the sidecar: `studio/generate` -> first denoising step (goal: warm ≤ 1 s)")
        out.append("")
        out.append(table(["run", "to first step (s)", "model load (s)", "prompt + latents (s)", "models loaded"], rows))
        out.append("")
        out.append(f"Sidecar spawn -> handshake answered: {f(sc1.get('spawn_to_handshake_s'), 2)} s.")
        out.append("")

    p2 = record.get("sidecar_phase2") or record.get("direct_phase2") or {}
    if p2.get("runs") and ours:
        r2, r1 = p2["runs"][-1], ours[-1]
        frames = w.get("num_frames") or 1
        t2, t1 = timings(r2), timings(r1)
        gen2 = r2["time_to_gif_s"] - (t2.get("load") or 0)
        gen1 = r1["time_to_gif_s"] - (t1.get("load") or 0)
        rows = [["s/frame, generate -> GIF (load excluded)", f(gen1 / frames, 2), f(gen2 / frames, 2), ratio(gen2, gen1)],
                ["denoise s/frame", f(t1["denoise"] / frames, 2), f(t2["denoise"] / frames, 2), ratio(t2["denoise"], t1["denoise"])],
                ["VAE decode s/frame", f(t1["decode"] / frames, 2), f(t2["decode"] / frames, 2), ratio(t2["decode"], t1["decode"])],
                ["UNet calls per run (CFG batch)", f"{len(t1['steps'])} (2x{frames})", f"{len(t2['steps'])} (2x1)", ""],
                ["s per UNet call", f(mean(t1["steps"]), 3), f(mean(t2["steps"]), 3), ""]]
        out.append(f"### d. Phase 2 (torch backend) vs Phase 1, same {w.get('steps')} steps and size")
        out.append("")
        out.append(table(["figure", "Phase 1", "Phase 2", "Phase 2 / Phase 1"], rows))
        out.append("")
        out.append("Phase 2 uses PNDM, which makes steps+1 UNet calls per frame; Phase 1 uses DDIM on all frames at once. "
                   f"Phase 2 run: {'warm' if len(p2['runs']) > 1 else 'first run in its sidecar (model load excluded)'}.")
        out.append("")

    rows = []
    bl = record.get("baseline") or {}
    if bl:
        rows.append(["Phase 1, bare diffusers (process)", f(bl.get("peak_rss_mb"), 0), f(bl.get("rss_loaded_mb"), 0)])
    for key, label in (("sidecar_phase1", "Phase 1 through the sidecar"), ("sidecar_phase2", "Phase 2 through the sidecar"),
                       ("direct_phase1", "Phase 1 in-process"), ("direct_phase2", "Phase 2 in-process")):
        r = record.get(key) or {}
        if r.get("runs"):
            peaks = [x.get("peak_rss_mb") for x in r["runs"] if x.get("peak_rss_mb")]
            rows.append([label + " (process)", f(max(peaks + [r.get("peak_rss_load_mb") or 0]), 0),
                         f(r.get("rss_end_mb") or r.get("rss_loaded_mb"), 0)])
    for v in record.get("vae_decode") or []:
        rows.append([f"VAE decode of {v['frames']} frames, chunk {v['chunk']} (on top of the VAE)",
                     f(v.get("peak_increment_mb"), 0), f"{f(v.get('s_per_frame'), 2)} s/frame"])
    if rows:
        out.append("### e. Peak resident memory")
        out.append("")
        out.append(table(["what", "peak RSS (MB)", "resident after load / note"], rows))
        out.append("")

    if prof.get("parts"):
        rows = [[k, f(v["s"], 2), f(v["share"] * 100, 1) + "%", f(v["gflop"], 0), f(v.get("gflops_per_s"), 0)]
                for k, v in prof["parts"].items()]
        rows.append(["UNet call total", f(prof["unet_warm_call_s"], 2), "100%", f(prof["unet_flops"] / 1e9, 0),
                     f(prof["unet_gflops_per_s"], 0)])
        out.append(f"### f. Where one Phase 1 step goes (UNet call on batch {prof.get('unet_batch')}, forward hooks)")
        out.append("")
        out.append(table(["part", "s", "share", "GFLOP", "GFLOP/s"], rows))
        out.append("")
        rows = [[k, f(v["s"], 2), f(v["share"] * 100, 1) + "%", f(v["gflop"], 0)] for k, v in prof["op_classes"].items()]
        out.append("By aten op class (torch.profiler self time, same call):")
        out.append("")
        out.append(table(["op class", "s", "share", "GFLOP"], rows))
        out.append("")
        mm = prof.get("matmul", {})
        steps = w.get("steps") or 1
        frames = w.get("num_frames") or 1
        vae_run = prof.get("vae_decode_frame_s", 0) * frames
        step_s = prof["unet_warm_call_s"]
        out.append(f"UNet: {prof['unet_flops'] / 1e12:.2f} TFLOP per step, {prof['unet_gflops_per_s']:.0f} GFLOP/s = "
                   f"**{prof['unet_fraction_of_matmul'] * 100:.0f}% of this machine's fp32 matmul rate** "
                   f"({mm.get('gflops', 0):.0f} GFLOP/s, torch.matmul {mm.get('n')}², same run). "
                   f"Cold first UNet call: {f(prof.get('unet_cold_call_s'), 2)} s. "
                   f"VAE: {prof.get('vae_decode_frame_s', 0):.2f} s/frame ({prof.get('vae_frame_gflop', 0):.0f} GFLOP, "
                   f"{prof.get('vae_gflops_per_s', 0):.0f} GFLOP/s); decoding {frames} frames = {vae_run:.1f} s, "
                   f"{vae_run / (vae_run + steps * step_s) * 100:.0f}% of a {steps}-step run's UNet+VAE time "
                   f"({vae_run / (vae_run + 25 * step_s) * 100:.0f}% at 25 steps). CLIP prompt encoding: {f(prof.get('clip_encode_s'), 2)} s.")
        out.append("")

    exp = record.get("experiments") or {}
    if exp:
        rows = []
        for name, r in exp.items():
            if not r:
                continue
            val = r.get("warm_mean_s") if r.get("warm_mean_s") is not None else r.get("decode_s")
            rows.append([name, f(val, 3), f(r.get("first_call_s"), 2), f(r.get("peak_increment_mb"), 0) if "peak_increment_mb" in r else "",
                         str(r.get("other_cpus"))])
        out.append("### Candidate optimisations (each in a fresh process)")
        out.append("")
        out.append(table(["variant", "warm s per call / decode s", "first call s", "decode peak MB", "others' CPUs"], rows))
        out.append("")
    if record.get("sidecar_missing"):
        out.append(f"Sidecar not measured: {record['sidecar_missing']}.")
    if record.get("errors"):
        out.append("Errors: " + "; ".join(f"{k}: {v.splitlines()[-1] if v else ''}" for k, v in record["errors"].items()))
    return "\n".join(out).rstrip()


def share(ms: Optional[float], step_s: Optional[float]) -> str:
    if ms is None or not step_s:
        return "n/a"
    return f"{ms / (step_s * 1000) * 100:.3f}%"


def timings(run: Dict[str, Any]) -> Dict[str, Any]:
    t = run.get("sidecar_timings")
    if t:
        return {"load": t.get("loadS"), "denoise": t.get("denoiseS"), "decode": t.get("decodeS"), "steps": t.get("stepsS")}
    t = run.get("timings") or {}
    return {"load": t.get("load_s"), "denoise": t.get("denoise_s"), "decode": t.get("decode_s"), "steps": t.get("steps_s")}


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    path = Path(argv[0]) if argv else Path(__file__).with_name("latest.json")
    print(render(json.loads(path.read_text(encoding="utf-8"))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
