"""Generation parameters shared by both phases, and their validation.

Validation lives here so every entry point (CLI, sidecar, tests) rejects bad input with the same
message, naming the field, before any model is loaded.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Dict, Optional, Tuple

EXPORT_FORMATS = ("gif", "mp4", "webp", "png")
BACKENDS = ("auto", "blackhole", "torch")


class ParamError(ValueError):
    """One invalid parameter. `field` is the parameter's name, `message` says what to change."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass
class GenerationParams:
    prompt: str
    negative_prompt: str = ""
    num_frames: int = 8
    steps: int = 25
    guidance_scale: float = 7.5
    seed: int = 42
    width: int = 512
    height: int = 512
    fps: int = 8
    formats: Tuple[str, ...] = ("gif",)
    extra: Dict[str, Any] = field(default_factory=dict)  # phase-specific knobs, stored in metadata

    def validate(self, max_frames: Optional[int] = None) -> "GenerationParams":
        """Raise ParamError for the first invalid field; return self so calls can chain."""
        if not isinstance(self.prompt, str) or not self.prompt.strip():
            raise ParamError("prompt", "must be a non-empty string")
        if not isinstance(self.negative_prompt, str):
            raise ParamError("negative_prompt", "must be a string")
        _require_int("num_frames", self.num_frames, minimum=1)
        if max_frames is not None and self.num_frames > max_frames:
            raise ParamError(
                "num_frames",
                f"{self.num_frames} is more than this motion adapter supports "
                f"(motion_max_seq_length = {max_frames})",
            )
        _require_int("steps", self.steps, minimum=1, maximum=1000)
        if isinstance(self.guidance_scale, bool) or not isinstance(self.guidance_scale, (int, float)):
            raise ParamError("guidance_scale", "must be a number")
        if not 0.0 <= float(self.guidance_scale) <= 50.0:
            raise ParamError("guidance_scale", f"{self.guidance_scale} is outside 0..50")
        _require_int("seed", self.seed, minimum=0, maximum=2**63 - 1)
        for name in ("width", "height"):
            value = getattr(self, name)
            _require_int(name, value, minimum=8, maximum=2048)
            if value % 8:
                raise ParamError(name, f"{value} is not a multiple of 8 (the VAE works on 8x8 pixel blocks)")
        _require_int("fps", self.fps, minimum=1, maximum=60)
        formats = tuple(self.formats)
        if not formats:
            raise ParamError("formats", "ask for at least one format")
        unknown = [f for f in formats if f not in EXPORT_FORMATS]
        if unknown:
            raise ParamError("formats", f"unknown {unknown}; choose from {list(EXPORT_FORMATS)}")
        self.formats = formats
        return self

    def to_dict(self) -> Dict[str, Any]:
        data = dataclasses.asdict(self)
        data["formats"] = list(self.formats)
        return data

    @classmethod
    def from_dict(cls, data: Dict[str, Any]) -> "GenerationParams":
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown:
            raise ParamError(unknown[0], f"unknown parameter; known ones are {sorted(names)}")
        if "prompt" not in data:
            raise ParamError("prompt", "is required")
        values = dict(data)
        if "formats" in values and isinstance(values["formats"], (list, tuple)):
            values["formats"] = tuple(values["formats"])
        return cls(**values)


def validate_backend(backend: str) -> str:
    if backend not in BACKENDS:
        raise ParamError("backend", f"unknown backend {backend!r}; choose from {list(BACKENDS)}")
    return backend


def _require_int(name: str, value: Any, minimum: int, maximum: Optional[int] = None) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ParamError(name, f"must be a whole number, got {value!r}")
    if value < minimum:
        raise ParamError(name, f"must be at least {minimum}, got {value}")
    if maximum is not None and value > maximum:
        raise ParamError(name, f"must be at most {maximum}, got {value}")
