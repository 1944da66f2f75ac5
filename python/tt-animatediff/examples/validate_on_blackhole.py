"""Validate the TTNN port on a Blackhole card, module by module, and write a report to attach to a bug.

    python examples/validate_on_blackhole.py --out output/validation

Checks, in order, stopping at the first failure (animatediff_ttnn/backends/validation.py): the environment
(ttnn, a Blackhole chip, $TT_METAL_HOME), each of the 21 motion modules at 2, 8 and 16 frames, one
call of Phase 2's TTNN UNet, each block of Phase 3's motion UNet, one full Phase 3 step. Writes
report.json and report.md to --out. Exit status: 0 all passed, 1 stopped before any check because it
cannot run here (the report says why, e.g. "no Blackhole device"), 2 a check failed.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from animatediff_ttnn.outputs.export import atomic_path
from animatediff_ttnn.models.sources import DEFAULT_MOTION_ADAPTER, DEFAULT_SD_MODEL
from animatediff_ttnn.backends import validation as v


def write_report(report: v.Report, out: Path) -> None:
    with atomic_path(out / "report.json") as tmp:
        tmp.write_text(json.dumps(report.to_dict(), indent=2) + "\n")
    lines = [
        f"# AnimateDiff TTNN validation: {report.result}",
        "",
        f"Started {report.started}; Python {report.python} on {report.machine}.",
        *(f"- {k}: {val}" for k, val in report.environment.items()),
        "",
    ]
    if report.stopped_at:
        lines += [f"**Stopped at {report.stopped_at}:** {report.reason}", ""]
    if report.checks:
        lines += ["| check | status | PCC | threshold | max error | seconds |", "| --- | --- | --- | --- | --- | --- |"]
        lines += [f"| {c.name} | {c.status} | {c.pcc} | {c.threshold} | {c.max_error} | {c.seconds} |" for c in report.checks]
    with atomic_path(out / "report.md") as tmp:
        tmp.write_text("\n".join(lines) + "\n")


def run_checks(report: v.Report, args) -> None:
    import ttnn

    from animatediff_ttnn.backends.blackhole_motion_backend import BlackholeMotionBackend
    from animatediff_ttnn.models.loading import load_motion_adapter, load_sd_components
    from animatediff_ttnn.backends.torch_motion_backend import TorchMotionBackend
    from animatediff_ttnn.backends.tt_metal import import_sd_demo

    sd = load_sd_components(args.model)
    adapter = load_motion_adapter(args.motion_adapter)
    frame_counts = [int(f) for f in args.frames.split(",")]

    demo = import_sd_demo(args.tt_metal_home)  # the device is opened as tt-metal's SD demo opens it
    device = ttnn.CreateDevice(device_id=args.device_id, l1_small_size=demo.l1_small_size)
    try:
        report.checks += v.check_motion_modules(ttnn, device, adapter, frame_counts)
    finally:
        ttnn.close_device(device)
    if _failed(report):
        return
    report.checks.append(v.check_phase2_unet(sd.unet, sd.scheduler_config, args.tt_metal_home))
    if _failed(report):
        return
    frames = max(frame_counts)
    backend = BlackholeMotionBackend(sd.unet, adapter, 512, 512, frames, args.device_id, args.tt_metal_home)
    try:
        torch_backend = TorchMotionBackend(sd.unet, adapter)
        report.checks += v.check_phase3_blocks(backend, torch_backend.model, frames)
        if not _failed(report):
            report.checks.append(v.check_phase3_step(backend, torch_backend, frames))
    finally:
        backend.close()


def _failed(report: v.Report) -> bool:
    return any(c.status != "passed" for c in report.checks)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument("--model", default=DEFAULT_SD_MODEL, help="SD 1.4 hub id or folder")
    parser.add_argument("--motion-adapter", default=DEFAULT_MOTION_ADAPTER, help="motion adapter hub id, folder or file")
    parser.add_argument("--tt-metal-home", default=None, help="tt-metal checkout (default: $TT_METAL_HOME)")
    parser.add_argument("--frames", default=",".join(map(str, v.FRAME_COUNTS)), help="frame counts, e.g. 2,8,16")
    parser.add_argument("--device-id", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path("output/validation"), help="folder for report.json/.md")
    args = parser.parse_args(argv)

    report = v.Report(started=time.strftime("%Y-%m-%d %H:%M:%S %Z"))
    code = 0
    try:
        v.check_environment(report, args.tt_metal_home)
        run_checks(report, args)
        report.result = "failed" if _failed(report) else "passed"
        code = 2 if _failed(report) else 0
    except v.StopValidation as stop:
        report.result, report.stopped_at, report.reason, code = "stopped", "environment", str(stop), 1
    except Exception as exc:  # noqa: BLE001 - a crash on the card is a finding: record it, then re-raise
        report.result, report.stopped_at, report.reason = "failed", "a check crashed", f"{type(exc).__name__}: {exc}"
        write_report(report, args.out)
        raise
    write_report(report, args.out)
    failed = [c for c in report.checks if c.status != "passed"]
    if report.result == "stopped":
        print(f"Stopped before any check - cannot run here: {report.reason}", file=sys.stderr)
    elif failed:
        print(f"FAILED: {failed[0].name} (PCC {failed[0].pcc} < {failed[0].threshold})", file=sys.stderr)
    else:
        print(f"all {len(report.checks)} checks passed", file=sys.stderr)
    print(f"report: {args.out / 'report.md'}", file=sys.stderr)
    return code


if __name__ == "__main__":
    sys.exit(main())
