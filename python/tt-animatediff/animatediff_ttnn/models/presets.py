"""Generation presets: which motion module, scheduler, step count and guidance a run uses.

- `quality`: the AnimateDiff v1-5-2 motion module with DDIM, 25 steps, CFG 7.5 (the lesson's default).
- `lightning`: ByteDance's AnimateDiff-Lightning, a motion module *distilled* to produce a video in
  1, 2, 4 or 8 steps; one checkpoint per step count. Settings from its model card
  (huggingface.co/ByteDance/AnimateDiff-Lightning): EulerDiscreteScheduler with
  timestep_spacing="trailing" and beta_schedule="linear", guidance_scale=1.0 - which means no
  unconditional half of the batch at all, so each step costs half a CFG step.
- `animatelcm`: AnimateLCM, a consistency-distilled motion module plus a LoRA for the SD UNet.
  Settings from its model card (huggingface.co/wangfuyun/AnimateLCM): LCMScheduler with
  beta_schedule="linear", the LoRA at weight 0.8, 6 steps, guidance_scale=2.0.

This module is plain data (no torch import) so every layer can read the presets cheaply.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Dict, Optional, Tuple

from ..params import SPEC, GenerationParams, ParamError

LIGHTNING_REPO = "ByteDance/AnimateDiff-Lightning"
LIGHTNING_STEPS = (1, 2, 4, 8)
ANIMATELCM_REPO = "wangfuyun/AnimateLCM"
ANIMATELCM_LORA_FILE = "AnimateLCM_sd15_t2v_lora.safetensors"
QUALITY_ADAPTER = "guoyww/animatediff-motion-adapter-v1-5-2"

# AnimateDiff's motion modules were trained with a linear beta schedule and no sample clipping.
ANIMATEDIFF_SCHEDULER_OVERRIDES = {
    "beta_schedule": "linear",
    "clip_sample": False,
    "steps_offset": 1,
    "timestep_spacing": "linspace",
}


def lightning_file(steps: int) -> str:
    return f"animatediff_lightning_{steps}step_diffusers.safetensors"


def lightning_steps_of(filename: str) -> Optional[int]:
    """The step count a Lightning checkpoint was distilled for, read from its file name."""
    match = re.search(r"(\d+)step", filename)
    return int(match.group(1)) if match else None


@dataclass(frozen=True)
class Lora:
    source: str  # hub id or local folder
    file: str
    scale: float
    adapter_name: str


@dataclass(frozen=True)
class Preset:
    name: str
    title: str
    motion_adapter: str  # default source: hub id, local folder, or (lightning) a checkpoint file
    steps: int
    guidance_scale: float
    scheduler: str  # a diffusers scheduler class
    scheduler_overrides: Dict[str, Any] = field(default_factory=dict)
    lora: Optional[Lora] = None
    allowed_steps: Optional[Tuple[int, ...]] = None  # None: any
    model_card: str = ""

    def check(self, params: GenerationParams) -> None:
        """Raise ParamError when the parameters cannot work with this preset."""
        if self.allowed_steps and params.steps not in self.allowed_steps:
            raise ParamError("steps", f"{params.steps} does not match an AnimateDiff-Lightning checkpoint: they are "
                                      f"distilled for exactly {', '.join(map(str, self.allowed_steps))} steps")

    def describe(self) -> Dict[str, Any]:
        info: Dict[str, Any] = {"name": self.name, "model_card": self.model_card}
        if self.lora:
            info["lora"] = {"source": self.lora.source, "file": self.lora.file, "scale": self.lora.scale}
        return info


PRESETS: Dict[str, Preset] = {
    "quality": Preset("quality", "Quality (DDIM, 25 steps, CFG 7.5)", QUALITY_ADAPTER, 25, 7.5, "DDIMScheduler",
                      ANIMATEDIFF_SCHEDULER_OVERRIDES,
                      model_card="https://huggingface.co/guoyww/animatediff-motion-adapter-v1-5-2"),
    "lightning": Preset("lightning", "Fast: AnimateDiff-Lightning (4 steps, no CFG)", LIGHTNING_REPO, 4, 1.0,
                        "EulerDiscreteScheduler", {"timestep_spacing": "trailing", "beta_schedule": "linear"},
                        allowed_steps=LIGHTNING_STEPS, model_card=f"https://huggingface.co/{LIGHTNING_REPO}"),
    "animatelcm": Preset("animatelcm", "Fast: AnimateLCM (6 steps, CFG 2)", ANIMATELCM_REPO, 6, 2.0, "LCMScheduler",
                         {"beta_schedule": "linear"}, lora=Lora(ANIMATELCM_REPO, ANIMATELCM_LORA_FILE, 0.8, "lcm-lora"),
                         model_card=f"https://huggingface.co/{ANIMATELCM_REPO}"),
}
PRESET_NAMES = SPEC["preset"].choices  # the names and the default are defined once, in params.py
DEFAULT_PRESET = SPEC["preset"].default
if tuple(PRESETS) != PRESET_NAMES:
    raise AssertionError(f"presets.PRESETS {tuple(PRESETS)} differs from the preset parameter's choices {PRESET_NAMES}")


def describe_presets() -> list:
    """PRESETS as JSON-ready dicts for the extension's run form (scripts/sync-parameters.py)."""
    return [{"name": p.name, "title": p.title, "steps": p.steps, "guidanceScale": p.guidance_scale,
             "allowedSteps": list(p.allowed_steps) if p.allowed_steps else None} for p in PRESETS.values()]


def get_preset(name: str) -> Preset:
    if name not in PRESETS:
        raise ParamError("preset", f"unknown preset {name!r}; choose from {list(PRESET_NAMES)}")
    return PRESETS[name]
