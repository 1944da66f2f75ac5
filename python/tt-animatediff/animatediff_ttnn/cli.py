"""What both example scripts share: arguments, a progress bar, clear errors, one summary line."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Callable, Optional, Tuple

from .models.loading import ModelNotFound
from .params import GENERATION, SPEC, GenerationParams, Param, ParamError
from .models.sources import default_source
from .models.presets import get_preset

PRESET_DEFAULTED = ("steps", "guidance_scale")  # with a preset flag, None here means "the preset's"
from .runtime.progress import Cancelled, StepEvent
from .backends.unet_backend import BackendUnavailable


def base_parser(description: str, default_output: str, motion_adapter: bool = True,
                run_options: Tuple[str, ...] = (), phase: int = 1) -> argparse.ArgumentParser:
    """Flags for every generation parameter plus the named run options, all from params.PARAMETERS."""
    parser = argparse.ArgumentParser(description=description)
    for param in GENERATION:
        if phase in param.phases:  # e.g. the prompt schedule is Phase 1's: Phase 2's script has no such flag
            _add_flag(parser, param, None if "preset" in run_options and param.name in PRESET_DEFAULTED else param.initial())
    for name in run_options:
        _add_flag(parser, SPEC[name], SPEC[name].default_for(phase))
    parser.add_argument("--output", default=default_output, help="path of the GIF; other formats go beside it")
    # Environment variables let a user (or a test) point every command at other models once.
    parser.add_argument("--model", default=default_source("sd"),
                        help="SD 1.x hub id or local diffusers folder (env ANIMATEDIFF_SD_MODEL)")
    if motion_adapter and "preset" in run_options:
        parser.add_argument("--motion-adapter", default=None,
                            help="hub id, local diffusers folder, or original .ckpt/.safetensors file; default: the "
                                 "preset's (for quality: env ANIMATEDIFF_MOTION_ADAPTER, else the v1-5-2 adapter)")
    elif motion_adapter:
        parser.add_argument("--motion-adapter", default=default_source("motion_adapter"),
                            help="hub id, local diffusers folder, or original .ckpt/.safetensors file "
                                 "(env ANIMATEDIFF_MOTION_ADAPTER)")
    parser.set_defaults(run_options=run_options)
    return parser


def _add_flag(parser: argparse.ArgumentParser, param: Param, default: object) -> None:
    # Values are checked by Param.check in run_cli (one message per field), not by argparse.
    if param.kind == "choices":
        parser.add_argument(param.flag, *param.cli_aliases, dest=param.name, default=",".join(default),
                            help=f"{param.help} Comma-separated: {','.join(param.choices)}")
        return
    kind = {"int": int, "float": float}.get(param.kind, str)
    parser.add_argument(param.flag, *param.cli_aliases, dest=param.name, type=kind, default=default, help=param.help)


def params_from_args(args: argparse.Namespace) -> GenerationParams:
    values = {p.name: getattr(args, p.name, p.default) for p in GENERATION}
    values["formats"] = tuple(f.strip() for f in values["formats"].split(",") if f.strip())
    if "preset" in getattr(args, "run_options", ()):
        preset = get_preset(args.preset or SPEC["preset"].default)
        values["steps"] = preset.steps if values["steps"] is None else values["steps"]
        values["guidance_scale"] = preset.guidance_scale if values["guidance_scale"] is None else values["guidance_scale"]
    if values.get("prompt_schedule"):  # on the command line it may also name a file that holds it
        from .creative.prompt_schedule import schedule_text

        values["prompt_schedule"] = schedule_text(values["prompt_schedule"])
    return GenerationParams(**values)


def motion_adapter_from_args(args: argparse.Namespace) -> Optional[str]:
    """--motion-adapter, else (quality preset only) ANIMATEDIFF_MOTION_ADAPTER, else the preset's own."""
    if args.motion_adapter:
        return args.motion_adapter
    if args.preset == SPEC["preset"].default:
        return default_source("motion_adapter")
    return None


def check_run_options(args: argparse.Namespace) -> None:
    for name in getattr(args, "run_options", ()):
        value = getattr(args, name)
        if value is not None:
            SPEC[name].check(value)


class ProgressBar:
    """A tqdm bar over all UNet steps of the run (frames x steps in Phase 2)."""

    def __init__(self) -> None:
        self.bar = None

    def __call__(self, event: StepEvent) -> None:
        from tqdm import tqdm

        frames = 1 if event.frame is None else event.total_frames
        if self.bar is None:
            self.bar = tqdm(total=event.total_steps * frames, unit="step", file=sys.stderr, dynamic_ncols=True)
        label = f"frame {event.frame + 1}/{event.total_frames}" if event.frame is not None else "all frames"
        self.bar.set_description(label)
        self.bar.update(1)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def run_cli(run: Callable[[GenerationParams, Path, ProgressBar], object], args: argparse.Namespace) -> int:
    """Run, print one summary line; known failures print a message (no traceback) and exit 1/2/130."""
    bar = ProgressBar()
    started = time.perf_counter()
    try:
        params = params_from_args(args)
        check_run_options(args)
        # the parameters (and a preset's steps) are checked once, by run_phaseN, before any model loads
        result = run(params, Path(args.output), bar)
    except ParamError as exc:
        bar.close()
        print(f"error: invalid parameter {exc}", file=sys.stderr)
        return 2
    except (ModelNotFound, BackendUnavailable, ValueError) as exc:
        bar.close()
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except (Cancelled, KeyboardInterrupt):
        bar.close()
        print("cancelled: no output written", file=sys.stderr)
        return 130
    bar.close()
    seconds = time.perf_counter() - started
    frames = len(result.frames)
    print(f"{frames} frames in {seconds:.1f} s ({seconds / max(frames, 1):.2f} s/frame) -> {result.outputs['gif']}")
    return 0


def print_note(message: Optional[str]) -> None:
    if message:
        print(message, file=sys.stderr)
