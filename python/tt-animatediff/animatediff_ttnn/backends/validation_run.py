"""Runs the card checks of validation.py one by one, each in isolation, and keeps a report a card owner
can send back: every planned check gets a status, and a failure or crash keeps its name, module, frame
count, error, traceback and the line of our port it happened in. Nothing stops the run but the
environment (no card) or an interrupt; a hung device leaves the report at the check marked "running".

Statuses: passed, failed (PCC below threshold, or an op-by-op comparison below its PCC), crashed (an
exception), skipped (what it needs crashed first, or validation.NotApplicable: the check does not apply
to this checkout, saying why), running, planned. Exit codes: EXIT_PASSED (skipped checks alone do not
fail a run: a dependent skip always comes with the crash or failure it depends on), EXIT_CANNOT_RUN (no
card: not a finding), EXIT_FAILED, EXIT_CRASHED (any crash, even with failures).
"""

from __future__ import annotations

import contextlib
import re
import time
import traceback
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence

from . import validation as v

EXIT_PASSED, EXIT_CANNOT_RUN, EXIT_FAILED, EXIT_CRASHED, EXIT_INTERRUPTED = 0, 1, 2, 3, 130
EXIT_USAGE = 64  # a bad argument (sysexits' EX_USAGE; argparse's 2 would read as "a check failed")
# The files of the port: a crash's "where" is the deepest line in one of them.
PORT_FILES = ("ttnn_temporal.py", "ttnn_motion_unet.py", "blackhole_motion_backend.py", "blackhole_backend.py",
              "ttnn_trace.py", "ttnn_vae.py")
# ttnn's comparison mode (decorators.compare_tensors_using_pcc) raises this when an op is below its PCC.
OP_COMPARISON = re.compile(r"(?P<op>[\w.]+): Comparing .* against CPU .* failed: pcc is (?P<pcc>\S+) but should be >=")


@dataclass
class Check:
    name: str
    stage: str  # "setup", "motion module", "Phase 2 UNet", "Phase 2 trace", "Phase 2 VAE", "Phase 3 block", "Phase 3 step"
    status: str = "planned"
    module: Optional[str] = None
    frames: Optional[int] = None
    side: Optional[int] = None  # latent side of the level
    channels: Optional[int] = None
    pcc: Optional[float] = None
    threshold: Optional[float] = None
    max_error: Optional[float] = None
    first_call_s: Optional[float] = None
    steady_s: Optional[float] = None
    repeat_max_difference: Optional[float] = None
    detail: str = ""
    error: str = ""  # "RuntimeError: TT_FATAL ..." (first 2000 characters)
    where: str = ""  # our port's line: "animatediff_ttnn/ttnn_temporal.py:311 in __call__: x = ttnn.group_norm("
    raised_at: str = ""  # the deepest frame (often inside ttnn or the tt-metal checkout)
    traceback: str = ""


@dataclass
class Report:
    started: str
    environment: Dict[str, str] = field(default_factory=dict)
    options: Dict[str, Any] = field(default_factory=dict)
    checks: List[Check] = field(default_factory=list)
    result: str = "running"  # then "passed", "failed", "crashed", "stopped" or "interrupted"
    stopped_at: str = ""
    reason: str = ""
    exit_code: Optional[int] = None

    def to_dict(self) -> Dict[str, Any]:
        return asdict(self)

    def counts(self) -> Dict[str, int]:
        counts: Dict[str, int] = {}
        for check in self.checks:
            counts[check.status] = counts.get(check.status, 0) + 1
        return counts

    def finish(self) -> int:
        """Sets result and exit_code from the checks' statuses."""
        statuses = {c.status for c in self.checks}
        if "crashed" in statuses:
            self.result, self.exit_code = "crashed", EXIT_CRASHED
        elif statuses & {"failed", "planned", "running"}:
            self.result, self.exit_code = "failed", EXIT_FAILED
        else:
            self.result, self.exit_code = "passed", EXIT_PASSED
        return self.exit_code

    def stop(self, stage: str, reason: str) -> int:
        self.result, self.stopped_at, self.reason, self.exit_code = "stopped", stage, reason, EXIT_CANNOT_RUN
        return self.exit_code


class Runner:
    """Plans checks (so each has a status from the start), runs each in isolation, and calls `saved`
    after every change (the script writes the report there, so a hang still leaves it on disk)."""

    def __init__(self, report: Report, saved: Callable[[Report], None] = lambda report: None) -> None:
        self.report, self.saved = report, saved

    def plan(self, name: str, stage: str, **meta: Any) -> Check:
        check = Check(name, stage, **meta)
        self.report.checks.append(check)
        return check

    def skip(self, checks: Sequence[Check], reason: str) -> None:
        for check in checks:
            if check.status == "planned":
                check.status, check.detail = "skipped", reason
        self.saved(self.report)

    def run(self, check: Check, fn: Callable[[], Any]) -> Any:
        """Runs `fn`; a v.Measured result is the comparison, anything else is a setup step's product.
        Returns fn's result, or None if it crashed or failed an op-by-op comparison."""
        check.status = "running"
        self.saved(self.report)
        try:
            result = fn()
        except v.NotApplicable as why:  # not a finding: the report says why it did not run
            check.status, check.detail = "skipped", str(why)
            result = None
        except Exception as exc:  # noqa: BLE001 - a crash on the card is a finding: record it, go on
            record_exception(check, exc)
            result = None
        else:
            if isinstance(result, v.Measured):
                for name in ("pcc", "threshold", "max_error", "first_call_s", "steady_s", "repeat_max_difference"):
                    setattr(check, name, getattr(result, name))
                check.detail = result.detail
                check.status = "passed" if result.passed else "failed"
            else:
                check.status = "passed"
        self.saved(self.report)
        return result


def record_exception(check: Check, exc: BaseException) -> None:
    """`where` and `raised_at` come from the deepest exception of the `raise ... from` chain: a wrapper
    (ttnn_trace.CallFailed, a capture that fell back) is raised in our code, its cause on the card."""
    check.error = f"{type(exc).__name__}: {exc}"[:2000]
    check.traceback = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))[-12000:]
    chain = [exc]
    while chain[-1].__cause__ is not None and len(chain) < 10:
        chain.append(chain[-1].__cause__)
    frames = [f for e in chain for f in traceback.extract_tb(e.__traceback__)]  # outermost first
    ours = [f for f in frames if Path(f.filename).name in PORT_FILES]
    deepest = traceback.extract_tb(chain[-1].__traceback__) or frames
    check.where = _frame(ours[-1]) if ours else ""
    check.raised_at = _frame(deepest[-1]) if deepest else ""
    comparison = OP_COMPARISON.search(str(exc))
    if comparison:  # ttnn's op-by-op comparison found the first op below its PCC: a failure, located
        check.status = "failed"
        check.detail = f"op-by-op comparison: {comparison.group('op')} has PCC {comparison.group('pcc')}"
    else:
        check.status = "crashed"


def _frame(frame: traceback.FrameSummary) -> str:
    path = Path(frame.filename)
    parts = path.parts
    short = "/".join(parts[parts.index("animatediff_ttnn"):]) if "animatediff_ttnn" in parts else str(path)
    return f"{short}:{frame.lineno} in {frame.name}: {(frame.line or '').strip()}"


@contextlib.contextmanager
def op_comparison(ttnn: Any, pcc: Optional[float]) -> Iterator[None]:
    """ttnn's comparison mode (ttnn.CONFIG): every op's device output is compared with its golden
    function on the same inputs, and the first one below `pcc` raises, naming the op; our traceback
    then gives its line. Slow (each op is read back and recomputed on the host). None: off."""
    if pcc is None:
        yield
        return
    with ttnn.manage_config("enable_comparison_mode", True), \
            ttnn.manage_config("comparison_mode_should_raise_exception", True), \
            ttnn.manage_config("comparison_mode_pcc", float(pcc)):
        yield


@dataclass
class SpeedParts:
    """Phase 2's speed path for trace_checks.py: a device opened with tt-metal's trace region (no other
    device open), tt-metal's UNet built on it, and the SD demo (its `vae_class`, None without a TTNN VAE)."""

    ttnn: Any
    device: Any
    tt_unet: Any
    sd: Any
    close: Callable[[], None]


@dataclass
class CardParts:
    """What the checks run on: the card and tt-metal's code (examples/validate_on_blackhole.py builds
    them) or stand-ins (tests/ttnn_port). Models are loaded, nothing is opened yet."""

    ttnn: Any
    open_device: Callable[[], Any]
    close_device: Callable[[Any], None]
    adapter: Any  # diffusers MotionAdapter
    unet: Any  # diffusers UNet2DConditionModel (the reference, and the source of tt-metal's weights)
    phase2_backend: Callable[[], Any]  # builds Phase 2's backend (opens its own device)
    phase3_backend: Callable[[int], Any]  # frames -> Phase 3's blackhole backend (opens its own device)
    torch_phase3_backend: Callable[[], Any]  # Phase 3's torch backend (the reference)
    motion_module: Callable[[Any, Dict[str, Any], Any], Any] = None  # (ttnn, state_dict, device) -> TTNN module
    vae: Any = None  # diffusers AutoencoderKL on the CPU: the reference of the TTNN VAE check
    speed_parts: Optional[Callable[[], SpeedParts]] = None  # opens the trace device and builds tt-metal's UNet


def run_validation(runner: Runner, parts: CardParts, frame_counts: Sequence[int], phase3_frames: int,
                   compare_ops_pcc: Optional[float] = None) -> None:
    """Plans every check, then runs them in order: motion modules x frame counts, Phase 2's UNet call,
    Phase 2's traced call and TTNN VAE, Phase 3's blocks, Phase 3's guided step. Each runs alone; a
    setup step that crashes skips only what needs it."""
    from ..ttnn_temporal import TtTemporalTransformer

    make_module = parts.motion_module or (lambda ttnn, sd, device: TtTemporalTransformer(ttnn, sd, device))
    modules = v.motion_modules(parts.adapter)
    latent, levels = parts.unet.config.sample_size, len(parts.unet.config.block_out_channels)
    open_device = runner.plan("open the device", "setup")
    builds, per_module = {}, {}
    for name, module in modules:
        meta = dict(module=name, side=v.level_side(name, latent, levels), channels=module.norm.num_channels)
        builds[name] = runner.plan(f"motion module {name}: build (weights to the card)", "motion module", **meta)
        per_module[name] = [runner.plan(f"motion module {name} F={f}", "motion module", frames=f, **meta)
                            for f in frame_counts]
    close_device = runner.plan("close the device", "setup")
    phase2 = runner.plan("Phase 2 TTNN UNet, one call (s per step per frame)", "Phase 2 UNet")
    speed_open = runner.plan("open the device with tt-metal's trace region, build its UNet", "setup")
    traced = runner.plan("Phase 2 UNet call, traced vs untraced (2 inputs)", "Phase 2 trace")
    card_vae = runner.plan("TTNN VAE vs the CPU VAE, one frame (traced)", "Phase 2 VAE")
    speed_close = runner.plan("close the trace device", "setup")
    phase3_build = runner.plan(f"Phase 3 backend and torch reference F={phase3_frames}", "setup", frames=phase3_frames)
    blocks = {b: runner.plan(f"Phase 3 {b} F={phase3_frames}", "Phase 3 block", frames=phase3_frames)
              for b in v.block_names(parts.unet)}
    step = runner.plan(f"Phase 3 full UNet step, guidance 7.5, F={phase3_frames}", "Phase 3 step", frames=phase3_frames)
    runner.saved(runner.report)

    ttnn = parts.ttnn
    device = runner.run(open_device, parts.open_device)
    if open_device.status != "passed":
        runner.skip([c for n in builds for c in (builds[n], *per_module[n])] + [close_device], "the device did not open")
    else:
        # op-by-op comparison only here: the CPU tests run every op of ttnn_temporal through its golden
        # function with these very arguments; tt-metal's blocks are not known to have usable goldens
        with op_comparison(ttnn, compare_ops_pcc):
            for name, module in modules:
                tt_module = runner.run(builds[name], lambda: make_module(ttnn, module.state_dict(), device))
                if tt_module is None:
                    runner.skip(per_module[name], "the module's build crashed")
                    continue
                for check in per_module[name]:
                    runner.run(check, lambda: v.check_motion_module(ttnn, device, tt_module, module, check.side,
                                                                    check.frames))
                del tt_module  # its weights leave the card's DRAM before the next module's arrive
        runner.run(close_device, lambda: parts.close_device(device))

    runner.run(phase2, lambda: v.check_phase2_unet(parts.phase2_backend, parts.unet))
    run_speed_checks(runner, parts, speed_open, traced, card_vae, speed_close)

    state: Dict[str, Any] = {}

    def build_phase3() -> None:
        state["backend"] = parts.phase3_backend(phase3_frames)
        state["torch"] = parts.torch_phase3_backend()
        state["blocks"] = v.prepare_phase3_blocks(state["backend"], state["torch"].model, phase3_frames)

    runner.run(phase3_build, build_phase3)
    try:
        if phase3_build.status != "passed":
            runner.skip([*blocks.values(), step], "the Phase 3 backend or its reference did not build")
            return
        for name, check in blocks.items():
            runner.run(check, lambda: v.check_phase3_block(state["blocks"], name))
        config = parts.unet.config
        runner.run(step, lambda: v.check_phase3_step(state["backend"], state["torch"], phase3_frames,
                                                      config.sample_size, config.cross_attention_dim))
    finally:
        if "backend" in state:
            state["backend"].close()


def run_speed_checks(runner: Runner, parts: CardParts, opened: Check, traced: Check, card_vae: Check,
                     closed: Check) -> None:
    """trace_checks.py's two checks on one device opened with tt-metal's trace region; the device is
    closed whatever happens, before Phase 3's backend opens its own."""
    from . import trace_checks

    if parts.speed_parts is None:
        runner.skip([opened, traced, card_vae, closed], "no trace device was given (CardParts.speed_parts)")
        return
    speed = runner.run(opened, parts.speed_parts)
    if speed is None:
        runner.skip([traced, card_vae, closed], "the trace device did not open or tt-metal's UNet did not build")
        return
    side = parts.unet.config.sample_size
    try:
        runner.run(traced, lambda: trace_checks.check_traced_unet_call(speed.ttnn, speed.device, speed.tt_unet,
                                                                       parts.unet, (side, side)))
        if parts.vae is None:
            runner.skip([card_vae], "no torch VAE was given (CardParts.vae), the check's reference")
        else:
            runner.run(card_vae, lambda: trace_checks.check_ttnn_vae(speed.ttnn, speed.device, speed.sd, parts.vae,
                                                                     (side, side)))
    finally:
        runner.run(closed, speed.close)


def new_report(options: Dict[str, Any]) -> Report:
    return Report(started=time.strftime("%Y-%m-%d %H:%M:%S %Z"), options=dict(options))
