"""Validate the TTNN port on a Blackhole card, check by check, and write a report to send back.

    python examples/validate_on_blackhole.py --out output/validation

Checks (animatediff_ttnn/backends/validation.py, trace_checks.py), each run on its own, the run going on
after a failure or a crash: the environment (ttnn, a Blackhole chip, $TT_METAL_HOME), each of the 21
motion modules at 1, 2, 3, 5, 8, 16 and 24 frames, one call of Phase 2's TTNN UNet, Phase 2's UNet call
traced against untraced and tt-metal's TTNN VAE against the CPU VAE (on a device opened with tt-metal's
trace region), each block of Phase 3's motion UNet, one full Phase 3 step. Every call runs at least
twice: first call (kernels compiled) and steady time.
report.json and report.md are rewritten after every check, so a hung card still leaves them, with the
hung check marked "running". --compare-ops runs the motion modules under ttnn's op-by-op comparison
(each op against its golden function) to name the first op below the PCC.

Exit status: 0 all passed; 1 cannot run here (no card, no ttnn, no checkout: the report says why);
2 a check failed (PCC below its threshold); 3 a check crashed (an exception; the report has its
traceback and the line of our port); 64 a bad argument; 130 interrupted.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from animatediff_ttnn.backends import validation as v
from animatediff_ttnn.backends import validation_run as run
from animatediff_ttnn.backends.validation_report import write_report
from animatediff_ttnn.models.sources import DEFAULT_MOTION_ADAPTER, DEFAULT_SD_MODEL


def card_parts(args) -> run.CardParts:
    """The real card and tt-metal's code; only called once the environment check has passed."""
    import ttnn

    from animatediff_ttnn.backends.blackhole_backend import BlackholeUNetBackend, build_tt_unet, open_sd_device
    from animatediff_ttnn.backends.blackhole_motion_backend import BlackholeMotionBackend
    from animatediff_ttnn.backends.torch_motion_backend import TorchMotionBackend
    from animatediff_ttnn.backends.tt_metal import import_sd_demo
    from animatediff_ttnn.models.loading import load_motion_adapter, load_sd_components

    sd = load_sd_components(args.model)
    adapter = load_motion_adapter(args.motion_adapter)
    demo = import_sd_demo(args.tt_metal_home)  # the device is opened as tt-metal's SD demo opens it

    def speed_parts() -> run.SpeedParts:  # Phase 2's speed path: a device with the demo's trace region
        device = open_sd_device(ttnn, demo, args.device_id, trace=True)
        try:
            side = sd.unet.config.sample_size
            tt_unet = build_tt_unet(demo, device, sd.unet, (side, side))
        except BaseException:
            ttnn.close_device(device)
            raise
        return run.SpeedParts(ttnn=ttnn, device=device, tt_unet=tt_unet, sd=demo,
                              close=lambda: ttnn.close_device(device))

    return run.CardParts(
        ttnn=ttnn,
        open_device=lambda: ttnn.CreateDevice(device_id=args.device_id, l1_small_size=demo.l1_small_size),
        close_device=ttnn.close_device,
        adapter=adapter,
        unet=sd.unet,
        phase2_backend=lambda: BlackholeUNetBackend(sd.unet, sd.scheduler_config, tt_metal_home=args.tt_metal_home),
        phase3_backend=lambda frames: BlackholeMotionBackend(sd.unet, adapter, 512, 512, frames, args.device_id,
                                                             args.tt_metal_home),
        torch_phase3_backend=lambda: TorchMotionBackend(sd.unet, adapter),
        vae=sd.vae,
        speed_parts=speed_parts,
    )


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # exit EXIT_USAGE, not argparse's 2 (= "a check failed" here)
        self.print_usage(sys.stderr)
        self.exit(run.EXIT_USAGE, f"{self.prog}: error: {message}\n")


def parse_args(argv=None):
    parser = _Parser(description=__doc__.strip().splitlines()[0])
    parser.add_argument("--model", default=DEFAULT_SD_MODEL, help="SD 1.4 hub id or folder")
    parser.add_argument("--motion-adapter", default=DEFAULT_MOTION_ADAPTER, help="motion adapter hub id, folder or file")
    parser.add_argument("--tt-metal-home", default=None, help="tt-metal checkout (default: $TT_METAL_HOME)")
    parser.add_argument("--frames", default=",".join(map(str, v.FRAME_COUNTS)),
                        help="frame counts of the motion-module checks, e.g. 1,2,3,5,8,16,24 (1..32)")
    parser.add_argument("--phase3-frames", type=int, default=v.PHASE3_FRAMES, help="frames of the Phase 3 checks")
    parser.add_argument("--compare-ops", nargs="?", type=float, const=v.PCC_MODULE, default=None, metavar="PCC",
                        help=f"run the motion modules under ttnn's op-by-op comparison; the first op below PCC "
                             f"(default {v.PCC_MODULE}) fails its check, naming the op and its line (slow)")
    parser.add_argument("--device-id", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path("output/validation"), help="folder for report.json/.md")
    args = parser.parse_args(argv)
    frames = [int(f) for f in args.frames.split(",")]
    for count in [*frames, args.phase3_frames]:
        if not 1 <= count <= 32:
            parser.error(f"frame counts are 1..32 (the motion modules' positional table), got {count}")
    args.frame_counts = frames
    return args


def main(argv=None, parts=None) -> int:
    """`parts`: stand-ins for the card (tests/ttnn_port); then the environment is not checked."""
    args = parse_args(argv)
    report = run.new_report({"frames": args.frame_counts, "phase3_frames": args.phase3_frames,
                             "compare_ops_pcc": args.compare_ops})
    save = lambda r: write_report(r, args.out)  # noqa: E731 - after every check: a hang keeps the report
    runner = run.Runner(report, save)
    try:
        if parts is None:
            v.check_environment(report.environment, args.tt_metal_home)
            setup = runner.plan("load the models and tt-metal's SD demo", "setup")
            parts = runner.run(setup, lambda: card_parts(args))
        if parts is not None:
            run.run_validation(runner, parts, args.frame_counts, args.phase3_frames, args.compare_ops)
        code = report.finish()
    except v.StopValidation as stop:
        code = report.stop("environment", str(stop))
    except KeyboardInterrupt:
        report.result, report.exit_code = "interrupted", run.EXIT_INTERRUPTED
        code = run.EXIT_INTERRUPTED
    save(report)
    summarise(report, args.out)
    return code


def summarise(report: run.Report, out: Path) -> None:
    if report.result == "stopped":
        print(f"Stopped before any check - cannot run here: {report.reason}", file=sys.stderr)
    else:
        counts = ", ".join(f"{n} {status}" for status, n in sorted(report.counts().items()))
        print(f"{report.result.upper()}: {len(report.checks)} checks ({counts})", file=sys.stderr)
        for check in report.checks:
            if check.status == "crashed":
                what = check.error.splitlines()[0] if check.error else "crashed"
            elif check.status == "failed":
                what = check.detail if check.where else f"PCC {check.pcc} < {check.threshold}"
            else:
                continue
            where = f" [{check.where.split(' in ')[0]}]" if check.where else ""
            print(f"  {check.status}: {check.name}: {what}{where}", file=sys.stderr)
    print(f"report: {out / 'report.md'}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
