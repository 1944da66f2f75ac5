"""What both example scripts share: arguments, a progress bar, clear errors, one summary line."""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Callable, Optional

from .models import DEFAULT_MOTION_ADAPTER, DEFAULT_SD_MODEL, ModelNotFound
from .params import GenerationParams, ParamError
from .progress import Cancelled, StepEvent
from .unet_backend import BackendUnavailable


def base_parser(description: str, default_output: str, motion_adapter: bool = True) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--prompt", default="a corgi running on a beach, golden hour, highly detailed")
    parser.add_argument("--negative-prompt", default="blurry, low quality, deformed")
    parser.add_argument("--frames", type=int, default=8)
    parser.add_argument("--steps", type=int, default=25)
    parser.add_argument("--guidance", type=float, default=7.5)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--width", type=int, default=512)
    parser.add_argument("--height", type=int, default=512)
    parser.add_argument("--fps", type=int, default=8)
    parser.add_argument("--formats", default="gif", help="comma-separated: gif,mp4,webp,png (gif is always written)")
    parser.add_argument("--output", default=default_output, help="path of the GIF; other formats go beside it")
    # Environment variables let a user (or a test) point every command at other models once.
    parser.add_argument("--model", default=os.environ.get("ANIMATEDIFF_SD_MODEL", DEFAULT_SD_MODEL),
                        help="SD 1.x hub id or local diffusers folder (env ANIMATEDIFF_SD_MODEL)")
    if motion_adapter:
        parser.add_argument("--motion-adapter", default=os.environ.get("ANIMATEDIFF_MOTION_ADAPTER", DEFAULT_MOTION_ADAPTER),
                            help="hub id, local diffusers folder, or original .ckpt/.safetensors file "
                                 "(env ANIMATEDIFF_MOTION_ADAPTER)")
    return parser


def params_from_args(args: argparse.Namespace) -> GenerationParams:
    formats = tuple(f.strip() for f in args.formats.split(",") if f.strip())
    return GenerationParams(prompt=args.prompt, negative_prompt=args.negative_prompt, num_frames=args.frames,
                            steps=args.steps, guidance_scale=args.guidance, seed=args.seed, width=args.width,
                            height=args.height, fps=args.fps, formats=formats)


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
        params.validate()
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
