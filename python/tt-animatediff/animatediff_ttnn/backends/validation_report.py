"""The validation report a card owner sends back: report.json (everything) and report.md (the same, to
read): the environment, the options, every check with its status, PCC, timings and the port line it
failed at, then each failure and crash in full (error, where, traceback) with where to look first."""

from __future__ import annotations

import json
from pathlib import Path
from typing import List

from ..outputs.export import atomic_path
from .validation_run import Check, Report

# Where to look first, by stage (lesson 09, Phase 3: "Read the report" says the same).
LOOK_FIRST = {
    "motion module": "ttnn_temporal.py on the device: the group-norm plan, memory configs, padding, bfloat16 "
                     "precision (the CPU golden check already passed the op sequence)",
    "Phase 2 UNet": "your tt-metal checkout's SD demo itself: check it with tt-metal's own tests",
    "Phase 2 trace": "ttnn_trace.py: a capture refused (the trace region size, an op that cannot be traced, a "
                     "host write during the capture) or a replay reading a stale input buffer",
    "Phase 2 VAE": "how ttnn_vae.py calls tt-metal's Vae (layout, permutes, the scaling) for your checkout's "
                   "version; tt-metal's own test_stable_diffusion_vae_trace checks its VAE alone",
    "Phase 3 block": "how ttnn_motion_unet.py calls tt-metal's blocks (keywords, DRAM-parked inputs) for your "
                     "checkout's version; if the modules and Phase 2 pass, the frame loop is the suspect",
    "Phase 3 step": "the host-side head and tail (conv_in/conv_out) or the guidance combine",
    "setup": "the step named: opening the device, building a backend, or uploading weights",
}


def write_report(report: Report, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    with atomic_path(out / "report.json") as tmp:
        tmp.write_text(json.dumps(report.to_dict(), indent=2) + "\n")
    with atomic_path(out / "report.md") as tmp:
        tmp.write_text(markdown(report))


def markdown(report: Report) -> str:
    counts = ", ".join(f"{n} {status}" for status, n in sorted(report.counts().items()))
    lines = [f"# AnimateDiff TTNN validation: {report.result}", "",
             f"Started {report.started}." + (f" Exit status {report.exit_code}." if report.exit_code is not None else ""),
             "", *(f"- {k}: {val}" for k, val in report.environment.items()),
             *(f"- option {k}: {val}" for k, val in report.options.items()), ""]
    if report.stopped_at:
        lines += [f"**Stopped at {report.stopped_at}:** {report.reason}", ""]
    if report.checks:
        lines += [f"{len(report.checks)} checks: {counts}.", "",
                  "| check | status | PCC | threshold | max error | first call s | steady s | where |",
                  "| --- | --- | --- | --- | --- | --- | --- | --- |"]
        lines += [f"| {c.name} | {c.status} | {_n(c.pcc)} | {_n(c.threshold)} | {_n(c.max_error)} | "
                  f"{_n(c.first_call_s)} | {_n(c.steady_s)} | {_cell(c.where or c.detail)} |" for c in report.checks]
        lines.append("")
    problems = [c for c in report.checks if c.status in ("failed", "crashed", "running")]
    if problems:
        lines += ["## Failures and crashes", ""]
        for check in problems:
            lines += _problem(check)
    skipped = [c for c in report.checks if c.status == "skipped"]
    if skipped:
        lines += ["## Skipped", "", *(f"- {c.name}: {c.detail}" for c in skipped), ""]
    return "\n".join(lines) + "\n"


def _problem(check: Check) -> List[str]:
    lines = [f"### {check.name}: {check.status}", ""]
    facts = [("stage", check.stage), ("module", check.module), ("frames", check.frames),
             ("level", f"{check.side}x{check.side}, {check.channels} channels" if check.side else None),
             ("PCC", f"{check.pcc} (threshold {check.threshold}, max error {check.max_error})" if check.pcc is not None else None),
             ("detail", check.detail), ("error", check.error), ("our line", check.where), ("raised at", check.raised_at)]
    lines += [f"- {k}: {_cell(str(val))}" for k, val in facts if val not in (None, "")]
    if check.status == "running":
        lines.append("- it never finished: the device hung or the process was killed here")
    elif check.status == "failed" and not check.where:
        lines.append("- to find the first op below the threshold (and its line): run again with `--compare-ops`")
    lines.append(f"- look first at: {LOOK_FIRST.get(check.stage, '-')}")
    if check.traceback:
        lines += ["", "```text", check.traceback.rstrip(), "```"]
    return lines + [""]


def _n(value) -> str:
    return "" if value is None else str(value)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")
