"""Longer and directed clips: the four controls together, checked once, applied around one run.

- context windows (long_clips.py): clips longer than the motion module's position table
- prompt schedule (prompt_schedule.py): the prompt changes over the clip
- motion LoRAs (motion_lora.py): camera moves, several at once, each with a weight
- motion scale (motion_scale.py): 0 = frames independent, 1 = as trained, > 1 stronger

The controls are generation parameters (params.PARAMETERS: prompt_schedule, motion_loras,
context_length, context_stride, context_weighting, noise_type; motion_scale is a run option, as in
Phase 3). `resolve` checks them
against the loaded adapter before the first denoising step, and `applied` switches the pieces on only
for the run: a resident pipeline is left exactly as it was.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any, Dict, Iterator, List, Optional, Tuple

from .lora_spec import MotionLora, parse_motion_loras
from .long_clips import ContextWindows, free_noise_enabled, resolve_windows
from .motion_lora import LoraPairs, motion_loras_applied, resolve_loras
from .motion_scale import motion_scale_applied, validate_motion_scale
from ..params import GenerationParams
from .prompt_schedule import parse_prompt_schedule, schedule_rows, validate_schedule


@dataclass
class ResolvedControls:
    """Controls checked against one run's frame count and models, ready to apply."""

    windows: Optional[ContextWindows]
    prompt: Any  # str, or {frame: prompt} for diffusers' FreeNoise prompt path
    loras: List[Tuple[MotionLora, LoraPairs]]
    motion_scale: float
    rows: List[Tuple[int, int, str]]

    def describe(self) -> Dict[str, Any]:
        """For the run record: what actually ran."""
        return {
            "context_windows": self.windows.describe() if self.windows else None,
            "prompt_schedule": [{"from_frame": a, "to_frame": b, "prompt": p} for a, b, p in self.rows] or None,
            "motion_loras": [{**lora.to_dict(), "targets": len(pairs)} for lora, pairs in self.loras],
            "motion_scale": self.motion_scale,
        }


def resolve(params: GenerationParams, max_frames: int, adapter, motion_scale: Optional[float] = None,
            schedule_needs_windows: bool = True) -> ResolvedControls:
    """Check every control against the frame count and the loaded adapter; load the LoRAs.
    `schedule_needs_windows`: Phase 1 reaches diffusers' per-frame prompts only through FreeNoise, so a
    schedule switches windows on there (one window over a short clip); Phase 3 takes them without."""
    text = params.prompt_schedule.strip()
    schedule = validate_schedule(parse_prompt_schedule(text), params.num_frames) if text else None
    windows = resolve_windows(params.num_frames, max_frames, params.context_length, params.context_stride,
                              params.context_weighting, params.noise_type,
                              force=schedule is not None and schedule_needs_windows)
    loras = resolve_loras(parse_motion_loras(params.motion_loras), adapter)
    rows = schedule_rows(schedule, params.num_frames) if schedule else []
    return ResolvedControls(windows, schedule or params.prompt, loras, 1.0 if motion_scale is None else validate_motion_scale(motion_scale), rows)


@contextlib.contextmanager
def applied(pipe, resolved: ResolvedControls) -> Iterator[None]:
    """Windows first (they swap modules in), then LoRA and motion-scale hooks on what will run."""
    with free_noise_enabled(pipe, resolved.windows), motion_loras_applied(pipe.unet, resolved.loras), \
            motion_scale_applied(pipe.unet, resolved.motion_scale):
        yield


@contextlib.contextmanager
def frame_loop_applied(model, resolved: ResolvedControls) -> Iterator[None]:
    """The same controls on Phase 3's frame-loop motion UNet (motion_unet.FrameLoopMotionUNet): windows
    and slicing in its motion modules, LoRA hooks on their projections. Motion scale is the backend's
    (every Phase 3 backend has it); the per-frame prompts are its text input (motion_pipeline.py)."""
    from .long_clips import SPATIAL_SPLIT_PIXELS

    windows = resolved.windows
    model.windows = windows
    model.pixel_chunk = SPATIAL_SPLIT_PIXELS if windows and windows.split_inference else None
    try:
        with motion_loras_applied(model.motion_modules, resolved.loras):
            yield
    finally:
        model.windows, model.pixel_chunk = None, None


def unsupported_on(resolved: ResolvedControls, backend: str) -> None:
    """Phase 3's blackhole backend runs one text embedding for all frames, no windows and no LoRA
    hooks yet: refuse those controls by name before anything is opened, rather than ignore them."""
    from ..params import ParamError

    if backend != "blackhole":
        return
    why = "is not supported by Phase 3's blackhole backend yet; use backend 'torch' (the same frame loop on the CPU)"
    if resolved.rows:
        raise ParamError("prompt_schedule", f"{why}: the TTNN UNet takes one text embedding for all frames")
    if resolved.loras:
        raise ParamError("motion_loras", f"{why}: the TTNN motion modules have no LoRA path")
    if resolved.windows:
        raise ParamError("context_length", f"{why}: the TTNN motion modules attend over all frames at once "
                                           "(up to 32), with no context windows")
