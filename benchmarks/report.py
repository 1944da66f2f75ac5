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
    """Same job, same seed: our GIF against diffusers' (pixel-identical with the same kernels)."""
    base = (record.get("baseline") or {}).get("runs") or []
    for key, src in (("outputs_match_same", "sidecar_phase1_same_kernels"), ("outputs_match", "sidecar_phase1"),
                     ("outputs_match_direct", "direct_phase1"), ("outputs_match_phase3", "direct_phase3")):
        ours = (record.get(src) or {}).get("runs") or []
        if not base or not ours:
            continue
        try:
            gif = ours[-1].get("outputs", {}).get("gif") or ours[-1].get("gif")
            a, b = gif_frames(base[-1]["gif"]), gif_frames(gif)
            diffs = [abs(x - y) for x, y in zip(a, b)]
            record[key] = {"frames": [len(a), len(b)], "max_pixel_diff": max(int(d.max()) for d in diffs),
                           "mean_pixel_diff": float(sum(d.mean() for d in diffs) / len(diffs)),
                           "pixels_differing": float(sum((d.max(axis=-1) > 0).mean() for d in diffs) / len(diffs))}
        except Exception as exc:  # noqa: BLE001
            record[key] = {"error": str(exc)}


def phase1_runs(record):
    """(diffusers runs, ours with diffusers' kernels, ours as shipped, how ours was driven)."""
    base = (record.get("baseline") or {}).get("runs") or []
    same = (record.get("sidecar_phase1_same_kernels") or {}).get("runs") or []
    shipped = (record.get("sidecar_phase1") or {}).get("runs") or []
    if shipped or same:
        return base, same, shipped, "sidecar"
    return base, [], (record.get("direct_phase1") or {}).get("runs") or [], "in-process"


def gen_time(run) -> Optional[float]:
    """generate -> GIF on disk, without the model load a sidecar's first run includes."""
    if run.get("time_to_gif_s") is None:
        return None
    load = (run.get("sidecar_timings") or {}).get("loadS") or 0.0
    return run["time_to_gif_s"] - load


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

    goals = goal_rows(record)
    if goals:
        out.append("### Goals")
        out.append("")
        if record.get("mode") == "quick":
            out.append("Tiny models: a step takes milliseconds, so fixed per-run costs dominate; the goals are judged "
                       "on the full-size run.")
            out.append("")
        out.append(table(["goal", "measured", "met"], goals))
        out.append("")
    base, same, ours, via = phase1_runs(record)
    sc1 = record.get("sidecar_phase1") or {}
    if base and (ours or same):
        cols = [("same", same), ("shipped", ours)]
        cols = [(k, v) for k, v in cols if v]
        rows = []

        def row(label, get, digits=2):
            r = [label, f(get(base[i]), digits)] if i < len(base) else [label, "n/a"]
            for _k, runs in cols:
                value = get(runs[i]) if i < len(runs) else None
                r += [f(value, digits), ratio(value, get(base[i]) if i < len(base) else None)]
            rows.append(r)

        for label, i in (("cold (run 1)", 0), ("warm (run 2)", 1)):
            row(f"s/step, {label}", lambda r: mean(r.get("steps_s") or our_steps(r)), 2)
            row(f"time-to-GIF, {label}" + (", model load excluded" if i == 0 else ""), gen_time, 2)
        row("CPU s of the process, warm (run 2)", lambda r: r.get("cpu_s"), 1)
        bl = record.get("baseline") or {}
        if bl.get("t_spawn") is not None and base and base[0].get("t_gif"):
            cold_base = base[0]["t_gif"] - bl["t_spawn"]
            r = ["process start -> first GIF (model load incl.)", f(cold_base, 1)]
            for key, runs in (("sidecar_phase1_same_kernels", same), ("sidecar_phase1", ours)):
                if not runs:
                    continue
                sc = record.get(key) or {}
                cold = (sc.get("spawn_to_handshake_s") or 0) + runs[0]["time_to_gif_s"] if sc.get("spawn_to_handshake_s") is not None else None
                r += [f(cold, 1), ratio(cold, cold_base)]
            rows.append(r)
        head = ["figure", "diffusers (s)"]
        for k, _runs in cols:
            name = "ours, diffusers' kernels" if k == "same" else "ours as shipped"
            head += [f"{name} via {via}", "vs diffusers"]
        out.append(f"### a. Phase 1: ours through the {via} vs bare diffusers AnimateDiffPipeline (goal: overhead ≤ 2%)")
        out.append("")
        out.append(table(head, rows))
        out.append("")
        notes = []
        for key, label in (("outputs_match_same", "diffusers' kernels"), ("outputs_match", "as shipped")):
            m_ = record.get(key) or {}
            if "max_pixel_diff" in m_:
                notes.append(f"{label}: {m_['pixels_differing'] * 100:.2f}% of pixels differ, mean |diff| "
                             f"{m_['mean_pixel_diff']:.3f}, max {m_['max_pixel_diff']} (GIF palettes amplify tiny changes)"
                             if m_["max_pixel_diff"] else f"{label}: identical ({m_['frames'][0]} frames)")
        busy = ", ".join(f"{n} {(record.get(k) or {}).get('other_cpus')}" for k, n in (
            ("baseline", "diffusers"), ("sidecar_phase1_same_kernels", "ours/diffusers' kernels"), ("sidecar_phase1", "ours/shipped"))
            if record.get(k))
        out.append(f"Same GIF as diffusers? {'; '.join(notes) or 'n/a'}. 'Diffusers' kernels' = ANIMATEDIFF_ONEDNN_LINEAR=0 "
                   f"(MKL linear layers, as diffusers runs them): the sidecar's and our wrapper's overhead alone. "
                   f"Other processes' CPU use meanwhile: {busy}.")
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

    rows = []
    for key, name in (("sidecar_phase1", "as shipped"), ("sidecar_phase1_same_kernels", "diffusers' kernels")):
        sc = record.get(key) or {}
        for label, r in zip(("cold (run 1)", "warm (run 2)"), sc.get("runs") or []):
            t = r["sidecar_timings"]
            steps = t.get("stepsS") or []
            rows.append([f"{name}, {label}", f(r.get("to_first_step_s"), 2), f(t.get("loadS"), 2), f(t.get("encodeS"), 2),
                         f(steps[0] if steps else None, 2), f(mean(steps[1:]), 2), "yes" if r.get("models_reloaded") else "no"])
    if rows:
        out.append("### c. Cold vs warm start through the sidecar: `studio/generate` -> first denoising step (goal: warm ≤ 1 s)")
        out.append("")
        out.append(table(["sidecar, run", "to first step (s)", "model load (s)", "prompt + latents (s)", "step 1 (s)",
                          "later steps (s)", "models loaded"], rows))
        out.append("")
        out.append(f"Sidecar spawn -> handshake answered: {f(sc1.get('spawn_to_handshake_s'), 2)} s. 'To first step' is "
                   "timed by the client: request sent -> first denoising progress notice, minus that step's time. "
                   "Model files come from the page cache here (safetensors are memory-mapped); a first load after a "
                   "reboot also reads ~6 GB from disk.")
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

    p3, d1 = record.get("direct_phase3") or {}, record.get("direct_phase1") or {}
    if p3.get("runs") and d1.get("runs"):
        r3, r1 = p3["runs"][-1], d1["runs"][-1]
        t3, t1 = timings(r3), timings(r1)
        rows = [["s/step (all frames)", f(mean(t1["steps"]), 2), f(mean(t3["steps"]), 2), ratio(mean(t3["steps"]), mean(t1["steps"]))],
                ["VAE decode, whole clip (s)", f(t1["decode"], 2), f(t3["decode"], 2), ratio(t3["decode"], t1["decode"])],
                ["generate -> GIF (s)", f(r1["time_to_gif_s"], 2), f(r3["time_to_gif_s"], 2),
                 ratio(r3["time_to_gif_s"], r1["time_to_gif_s"])]]
        out.append(f"### g. Phase 3 (frame loop, torch backend) vs Phase 1, same {w.get('steps')} steps and size, in-process")
        out.append("")
        out.append(table(["figure", "Phase 1", "Phase 3", "Phase 3 / Phase 1"], rows))
        out.append("")
        out.append("Both run DDIM on all frames with the same motion modules; Phase 3 calls every spatial layer once per "
                   "frame at batch 2 instead of once at batch 2 x frames (the shape the TTNN UNet needs). Warm runs.")
        out.append("")

    rows = []
    bl = record.get("baseline") or {}
    if bl:
        rows.append(["Phase 1, bare diffusers (process)", f(bl.get("peak_rss_mb"), 0), f(bl.get("rss_loaded_mb"), 0)])
    for key, label in (("sidecar_phase1", "Phase 1 through the sidecar"),
                       ("sidecar_phase1_same_kernels", "Phase 1 through the sidecar, diffusers' kernels"),
                       ("sidecar_phase2", "Phase 2 through the sidecar"),
                       ("direct_phase1", "Phase 1 in-process"), ("direct_phase2", "Phase 2 in-process"),
                       ("direct_phase3", "Phase 3 in-process")):
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
        dnn = (f" and {prof['unet_fraction_of_onednn_matmul'] * 100:.0f}% of the same product through oneDNN "
               f"({mm['onednn_gflops']:.0f} GFLOP/s; torch.matmul goes to MKL, which runs AVX2 code on AMD CPUs)"
               if prof.get("unet_fraction_of_onednn_matmul") else "")
        out.append(f"UNet: {prof['unet_flops'] / 1e12:.2f} TFLOP per step, {prof['unet_gflops_per_s']:.0f} GFLOP/s = "
                   f"**{prof['unet_fraction_of_matmul'] * 100:.0f}% of this machine's fp32 matmul rate** "
                   f"({mm.get('gflops', 0):.0f} GFLOP/s, torch.matmul {mm.get('n')}², same run){dnn}. "
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
            if r.get("settings"):
                a_, b_ = r["settings"]
                rows.append([name, f"{a_}: {f(r['median_s'][a_], 2)} (min {f(r['min_s'][a_], 2)})",
                             f"{b_}: {f(r['median_s'][b_], 2)} (min {f(r['min_s'][b_], 2)})",
                             ratio(r["median_s"][b_], r["median_s"][a_]),
                             f(max((x for x in r["others_cpus"][a_] + r["others_cpus"][b_] if x is not None), default=None))])
            elif r.get("kind") == "vae-decode":
                rows.append([name, f"{f(r.get('s_per_frame'), 2)} s/frame", f"peak +{f(r.get('peak_increment_mb'), 0)} MB", "",
                             str(r.get("other_cpus"))])
            else:
                rows.append([name, f"{f(r.get('warm_mean_s'), 2)} s/call", f"first call {f(r.get('first_call_s'), 2)} s", "",
                             str(r.get("other_cpus"))])
        out.append("### Candidate optimisations")
        out.append("")
        out.append("A/B rows alternate both settings on one loaded model (median of the calls, min in brackets); the "
                   "others run in their own process. Compare separate-process rows only when others' CPU use was ~0.")
        out.append("")
        out.append(table(["experiment", "A", "B", "B vs A", "others' CPUs (max)"], rows))
        out.append("")
    from benchmarks import long_clips

    out.extend(long_clips.render(record))  # g. long clips (issue #14)
    if record.get("sidecar_missing"):
        out.append(f"Sidecar not measured: {record['sidecar_missing']}.")
    if record.get("errors"):
        out.append("Errors: " + "; ".join(f"{k}: {v.splitlines()[-1] if v else ''}" for k, v in record["errors"].items()))
    return "\n".join(out).rstrip()


def goal_rows(record: Dict[str, Any]) -> List[Row]:
    rows: List[Row] = []
    base, same, ours, _via = phase1_runs(record)
    ref = same or ours
    if len(base) > 1 and len(ref) > 1:
        step = mean(our_steps(ref[1])) / mean(base[1]["steps_s"]) - 1
        gif = gen_time(ref[1]) / base[1]["time_to_gif_s"] - 1
        rows.append(["a. sidecar overhead vs bare diffusers ≤ 2% (same kernels, warm)",
                     f"s/step {step * 100:+.1f}%, time-to-GIF {gif * 100:+.1f}%", "yes" if max(step, gif) <= 0.02 else "no"])
    if len(base) > 1 and len(ours) > 1 and same:
        step = mean(our_steps(ours[1])) / mean(base[1]["steps_s"]) - 1
        gif = gen_time(ours[1]) / base[1]["time_to_gif_s"] - 1
        rows.append(["a'. as shipped vs bare diffusers (warm)", f"s/step {step * 100:+.1f}%, time-to-GIF {gif * 100:+.1f}%", ""])
    pv = (record.get("profile") or {}).get("preview") or {}
    if pv and ours:
        step_s = mean(our_steps(ours[-1]))
        ms = pv.get("total_ms")
        rows.append(["b. preview ≤ 1% of a step", f"{ms:.2f} ms = {ms / (step_s * 1000) * 100:.3f}% of {step_s:.3g} s",
                     "yes" if ms / (step_s * 1000) <= 0.01 else "no"])
    sc = (record.get("sidecar_phase1") or {}).get("runs") or []
    if len(sc) > 1 and sc[1].get("to_first_step_s") is not None:
        rows.append(["c. warm generate -> first step ≤ 1 s", f"{sc[1]['to_first_step_s']:.2f} s (cold {sc[0]['to_first_step_s']:.2f} s)",
                     "yes" if sc[1]["to_first_step_s"] <= 1 else "no"])
    p2 = record.get("sidecar_phase2") or {}
    frames = (record.get("workload") or {}).get("num_frames") or 1
    if p2.get("runs") and ours:
        a, b = gen_time(ours[-1]) / frames, gen_time(p2["runs"][-1]) / frames
        rows.append(["d. Phase 2 s/frame vs Phase 1", f"{b:.2f} vs {a:.2f} s/frame ({b / a:.2f}×)", ""])
    p3, d1 = (record.get("direct_phase3") or {}).get("runs"), (record.get("direct_phase1") or {}).get("runs")
    if p3 and d1:
        a, b = mean(timings(d1[-1])["steps"]), mean(timings(p3[-1])["steps"])
        rows.append(["g. Phase 3 (torch) s/step vs Phase 1", f"{b:.2f} vs {a:.2f} s/step ({b / a:.2f}×)", ""])
    peaks = []
    for key, name in (("baseline", "diffusers"), ("sidecar_phase1", "Phase 1"), ("sidecar_phase2", "Phase 2")):
        r = record.get(key) or {}
        vals = [x.get("peak_rss_mb") or 0 for x in r.get("runs") or []] + [r.get("peak_rss_mb") or 0]
        if max(vals) > 0:
            peaks.append(f"{name} {max(vals) / 1024:.1f} GB")
    vae = {v["chunk"]: v for v in record.get("vae_decode") or []}
    chunk = record.get("decode_chunk_size")
    if chunk in vae:
        peaks.append(f"VAE decode of all frames +{vae[chunk]['peak_increment_mb']:.0f} MB (chunk {chunk})")
    if peaks:
        rows.append(["e. peak resident memory", ", ".join(peaks), ""])
    prof = record.get("profile") or {}
    if prof.get("parts"):
        parts = ", ".join(f"{k.split(' (')[0]} {v['share'] * 100:.0f}%" for k, v in prof["parts"].items() if v["share"] >= 0.01)
        rows.append(["f. where a step goes; UNet vs matmul rate",
                     f"{parts}; {prof['unet_gflops_per_s']:.0f} GFLOP/s = {prof['unet_fraction_of_matmul'] * 100:.0f}% of "
                     f"torch.matmul" + (f", {prof['unet_fraction_of_onednn_matmul'] * 100:.0f}% of oneDNN matmul"
                                        if prof.get("unet_fraction_of_onednn_matmul") else ""), ""])
    return rows


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
