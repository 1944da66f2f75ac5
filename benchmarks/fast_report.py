"""The presets benchmark's table (benchmarks/fast.py), goals marked met or not.

    .venv/bin/python -m benchmarks.fast_report benchmarks/presets-latest.json
"""

from __future__ import annotations

import json
import sys
from typing import Any, Dict, List

GOAL_FAST_S = 90.0
GOAL_QUALITY_SPEEDUP = 2.5


def _s(x) -> str:
    return "-" if x is None else f"{x:.1f} s"


def render(record: Dict[str, Any]) -> str:
    m, jobs = record["machine"], record["jobs"]
    lines: List[str] = [
        f"# Presets benchmark ({record['mode']}), {record['started']}",
        "",
        f"Machine: {m['cpu']}, {m['cpu_cores']} cores, {m['torch_threads']} torch threads, {m['memory_gib']} GiB, "
        f"torch {m['torch']}, diffusers {m.get('diffusers')}. Job: "
        + ("full-size random-weight SD 1.x + v1-5-2-layout motion modules (the real FLOPs), " if record["mode"] == "full"
           else "tiny random-weight models, ")
        + "8 frames. `other CPUs` = how many CPUs other processes used meanwhile (2.0 = the whole machine).",
        "",
        "| run | dtype | steps x CFG | encode | per step | decode | time to frames | CPU s / threads | peak RSS | other CPUs |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    labels = {"bare-quality": "bare diffusers, DDIM (docs setup)", "ours-quality": "ours, Quality",
              "ours-lightning": "ours, Fast (Lightning 4-step)", "bare-lightning": "bare diffusers, Lightning (model card setup)",
              "ours-animatelcm": "ours, Fast (AnimateLCM 6-step)"}
    for key, label in labels.items():
        j = jobs.get(key)
        if not j:
            continue
        cfg = "2" if key in ("bare-quality", "ours-quality", "ours-animatelcm") else "1"
        total = f"{j['time_to_frames_s']:.0f} s" + (" (projected)" if j.get("projected") else "")
        cpu = f"{j['cpu_s'] / j['torch_threads']:.0f} s" if j.get("cpu_s") else "-"
        lines.append(f"| {label} | {j.get('dtype')} | {j['total_steps']} x {cfg} | {_s(j['encode_s'])} | "
                     f"{_s(j['step_median_s'])} | {_s(j['decode_s'])} | {total} | {cpu} | {j['peak_rss_mb'] / 1024:.1f} GB | "
                     f"{j.get('other_cpus')} |")
    lines.append("")
    lines.append("Projected = encode + 25 x the median of the measured steps + decode (a 25-step run at 512x512 "
                 "is too long to repeat); the 4-step runs are measured end to end, the VAE decode included. "
                 "CPU s / threads = the job's CPU time (model load and the measured steps included) over its "
                 "thread count: what its wall time would roughly be with the cores to itself.")
    goals = []
    fast, bare_q, ours_q = jobs.get("ours-lightning"), jobs.get("bare-quality"), jobs.get("ours-quality")
    if fast:
        t = fast["time_to_frames_s"]
        goals.append(f"- Fast (Lightning 4-step) time to frames <= {GOAL_FAST_S:.0f} s: {t:.0f} s -> "
                     f"**{'met' if t <= GOAL_FAST_S else 'not met'}**")
        if fast.get("decode_s"):
            goals.append(f"  (VAE decode is {fast['decode_s'] / t:.0%} of it)")
    if bare_q and ours_q:
        per_step = bare_q["step_median_s"] / ours_q["step_median_s"]
        total = bare_q["time_to_frames_s"] / ours_q["time_to_frames_s"]
        goals.append(f"- Quality >= {GOAL_QUALITY_SPEEDUP}x faster than bare diffusers at equal steps: {per_step:.2f}x per "
                     f"step, {total:.2f}x time to frames -> **{'met' if total >= GOAL_QUALITY_SPEEDUP else 'not met'}**")
    bare_l = jobs.get("bare-lightning")
    if fast and bare_l:
        goals.append(f"- Lightning, ours vs bare diffusers (model card setup, fp32): {bare_l['time_to_frames_s']:.0f} s -> "
                     f"{fast['time_to_frames_s']:.0f} s ({bare_l['time_to_frames_s'] / fast['time_to_frames_s']:.2f}x)")
    if goals:
        lines += ["", "Goals:", *goals]
    guard = jobs.get("guard")
    if guard:
        lines += ["", f"Quality guard, bf16 vs fp32 (our Phase 1, {guard['steps']} DDIM steps): one UNet call relative "
                      f"error {guard['unet_call_rel_error']:.2%}, latents after {guard['steps']} steps "
                      f"{guard['latents_rel_error']:.2%}, decoded frames PSNR {guard['frames_psnr_db']:.1f} dB."]
    vae = jobs.get("vae")
    if vae:
        parts = [f"{k} {v['s_per_frame']:.2f} s" + (f" ({v['psnr_vs_fp32_db']} dB vs fp32)" if v.get("psnr_vs_fp32_db") else "")
                 for k, v in vae.items() if isinstance(v, dict)]
        lines += ["", "VAE decode, one frame at the job's size: " + ", ".join(parts) + "."]
    if record.get("errors"):
        lines += ["", "Failed: " + ", ".join(record["errors"])]
    return "\n".join(lines)


if __name__ == "__main__":
    print(render(json.loads(open(sys.argv[1], encoding="utf-8").read())))
