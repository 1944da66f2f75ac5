"""Every generation parameter, defined once: name, type, default, limits, choices and help.

`PARAMETERS` is the one definition. Everything else is derived from it or checked against it:
`GenerationParams` (below), the command-line flags (`cli.py`), the sidecar's wire schema (the wire
name is the camelCase of the name: `num_frames` -> `numFrames`), and on the extension's side the
run form's limits and the `animatediff.*` settings (`scripts/sync-parameters.py` writes them;
`tests/python/test_parameter_sync.py` fails when a copy differs).

To add a parameter, add one `Param` here, run `scripts/sync-parameters.py`, and read it in the
pipeline (`params.<name>` for a generation parameter). This module imports nothing heavy: the
sidecar reads it before torch is loaded.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any, Dict, Iterable, Optional, Tuple


class ParamError(ValueError):
    """One invalid parameter. `field` is the parameter's name, `message` says what to change."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


REQUIRED = object()  # a Param default: the caller must give a value


@dataclass(frozen=True)
class Param:
    """One parameter. `kind` is "str", "int", "float", "choice" or "choices" (a list of choices)."""

    name: str  # snake_case; the wire name is camel(name), the CLI flag --kebab-case
    kind: str
    default: Any
    help: str
    minimum: Optional[float] = None
    maximum: Optional[float] = None
    multiple_of: Optional[int] = None
    max_length: Optional[int] = None  # "str" only
    choices: Tuple[Any, ...] = ()
    indexed: bool = False  # "choice": "cuda:1" counts as "cuda"
    why: str = ""  # the reason behind `multiple_of`, added to its error message
    maximum_why: str = ""  # the reason behind `maximum`, added to its error message
    # "params": a generation parameter (GenerationParams, the `params` object of a request, the run
    # record); "run": how and where to run it (top-level request fields: backend, device, ...).
    group: str = "params"
    phases: Tuple[int, ...] = (1, 2, 3)  # phases that use it; the others refuse it
    phase_defaults: Tuple[Tuple[int, Any], ...] = ()  # ((phase, default), ...) where a phase differs
    suggested: Any = None  # what the run form and the CLI start with, when not `default`
    # ((device type, value), ...): what the studio's run form starts with on that hardware, where it differs
    # from `default` (the CLI and an omitted request field keep `default`). "cpu" = torch sees no GPU to use.
    device_defaults: Tuple[Tuple[str, Any], ...] = ()
    setting: bool = False  # the extension keeps its default in the setting animatediff.<wire>
    form: bool = False  # an input of the run form (keyed by the wire name)
    cli_aliases: Tuple[str, ...] = ()  # older spellings the CLI still accepts
    label: str = ""  # the form's label (default: the name in words)

    @property
    def wire(self) -> str:
        return camel(self.name)

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")

    @property
    def title(self) -> str:
        return self.label or self.name.replace("_", " ").capitalize()

    @property
    def required(self) -> bool:
        return self.default is REQUIRED

    def default_for(self, phase: Optional[int] = None) -> Any:
        return dict(self.phase_defaults).get(phase, None if self.required else self.default)

    def initial(self) -> Any:
        """The form's and the CLI's starting value."""
        return self.suggested if self.suggested is not None else self.default_for()

    def check(self, value: Any) -> Any:
        """Return `value` (a tuple for "choices") or raise ParamError naming this parameter."""
        if self.kind == "str":
            if not isinstance(value, str):
                raise ParamError(self.name, "must be a string")
            if self.required and not value.strip():
                raise ParamError(self.name, "must be a non-empty string")
            if self.max_length is not None and len(value) > self.max_length:
                raise ParamError(self.name, f"is longer than {self.max_length} characters")
            return value
        if self.kind == "int":
            if isinstance(value, bool) or not isinstance(value, int):
                raise ParamError(self.name, f"must be a whole number, got {value!r}")
            if self.minimum is not None and value < self.minimum:
                raise ParamError(self.name, f"must be at least {self.minimum}, got {value}")
            if self.maximum is not None and value > self.maximum:
                why = f" ({self.maximum_why})" if self.maximum_why else ""
                raise ParamError(self.name, f"must be at most {self.maximum}, got {value}{why}")
            if self.multiple_of and value % self.multiple_of:
                raise ParamError(self.name, f"{value} is not a multiple of {self.multiple_of}{self._why()}")
            return value
        if self.kind == "float":
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ParamError(self.name, "must be a number")
            low = -math.inf if self.minimum is None else self.minimum
            high = math.inf if self.maximum is None else self.maximum
            if not math.isfinite(value):  # NaN passes any range check: every comparison with it is false
                raise ParamError(self.name, f"must be a finite number, got {value!r}")
            if not low <= value <= high:
                raise ParamError(self.name, f"{value} is outside {self.minimum:g}..{self.maximum:g}")
            return value
        if self.kind == "choice":
            head = value.split(":")[0] if self.indexed and isinstance(value, str) else value
            if isinstance(value, bool) or head not in self.choices:
                raise ParamError(self.name, f"unknown {self.name} {value!r}; choose from {list(self.choices)}")
            return value
        if self.kind == "choices":
            values = tuple(value) if isinstance(value, (list, tuple)) else (value,)
            if not values:
                raise ParamError(self.name, "ask for at least one format")
            unknown = [v for v in values if v not in self.choices]
            if unknown:
                raise ParamError(self.name, f"unknown {unknown}; choose from {list(self.choices)}")
            return values
        raise AssertionError(f"{self.name}: unknown kind {self.kind!r}")

    def _why(self) -> str:
        return f" ({self.why})" if self.why else ""


def camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


# JavaScript (the form, the extension's JSON) holds integers exactly only up to 2**53 - 1.
MAX_SEED = 2**53 - 1

PARAMETERS: Tuple[Param, ...] = (
    Param("prompt", "str", REQUIRED, "What to generate.", max_length=2000, form=True,
          suggested="a red panda walking through a bamboo forest, soft morning light, highly detailed"),
    Param("negative_prompt", "str", "", "What to steer away from (classifier-free guidance).", max_length=2000,
          form=True, suggested="blurry, low quality, distorted"),
    Param("num_frames", "int", 8, "Number of frames. Above the motion adapter's position table (32 frames) Phases 1 and 3 "
          "render with context windows (context_length).", minimum=1, maximum=256, setting=True, form=True,
          cli_aliases=("--frames",), label="Frames",
          maximum_why="every decoded frame is kept in memory until the GIF is written (0.75 MB per 512x512 "
                      "frame), and Phase 2 denoises every frame from scratch"),
    Param("steps", "int", 25, "Number of denoising steps (diffusers' num_inference_steps).", minimum=1,
          maximum=1000, setting=True, form=True),
    Param("guidance_scale", "float", 7.5, "Classifier-free guidance scale.", minimum=0, maximum=50, setting=True,
          form=True, cli_aliases=("--guidance",), label="Guidance"),
    Param("seed", "int", 42, "Random seed: the same seed and parameters give the same frames.", minimum=0,
          maximum=MAX_SEED, setting=True, form=True),
    Param("width", "int", 512, "Width in pixels (a multiple of 8).", minimum=8, maximum=2048, multiple_of=8,
          why="the VAE works on 8x8 pixel blocks", setting=True, form=True),
    Param("height", "int", 512, "Height in pixels (a multiple of 8).", minimum=8, maximum=2048, multiple_of=8,
          why="the VAE works on 8x8 pixel blocks", setting=True, form=True),
    Param("fps", "int", 8, "Frames per second of the GIF/MP4/WebP.", minimum=1, maximum=60),
    Param("formats", "choices", ("gif",), "Output formats (gif is always written).",
          choices=("gif", "mp4", "webp", "png")),
    # Longer and directed clips (Phases 1 and 3; creative/controls.py). Phase 2 has no motion modules and ignores them.
    Param("prompt_schedule", "str", "", "Prompt travel: '0: PROMPT | 16: PROMPT' (frame: prompt, blended in "
          "between; the CLI also takes a file). Empty: the prompt for every frame.", max_length=8000, phases=(1, 3),
          form=True),
    Param("motion_loras", "str", "", "Motion LoRAs with weights: 'zoom-in:0.8,pan-left:0.5' (camera moves "
          "zoom-in/out, pan-left/right, tilt-up/down, rolling-clockwise/anticlockwise; or a hub id, folder or "
          "file).", max_length=2000, phases=(1, 3), form=True, cli_aliases=("--motion-lora",), label="Motion LoRAs"),
    Param("context_length", "int", 0, "FreeNoise context window in frames, at most the motion adapter's "
          "trained length (32 for v1-5-2); 0 = automatic: windows of that length only when num_frames is above "
          "it.", minimum=0, maximum=256, phases=(1, 3), form=True, label="Context window"),
    Param("context_stride", "int", 4, "Frames between the starts of two context windows.", minimum=1, maximum=256,
          phases=(1, 3)),
    Param("context_weighting", "choice", "pyramid", "How overlapping windows are averaged per frame.",
          choices=("pyramid", "flat", "delayed_reverse_sawtooth"), phases=(1, 3)),
    Param("noise_type", "choice", "shuffle_context", "Starting noise of later windows: a shuffle of the first "
          "window's, a repeat of it, or fresh noise.", choices=("shuffle_context", "repeat_context", "random"),
          phases=(1, 3)),
    # How and where to run (top-level request fields, not part of GenerationParams).
    Param("backend", "choice", "auto", "The UNet of Phases 2 and 3: blackhole (TTNN on the card), torch, or auto "
          "(Phase 2: blackhole when a device is found; Phase 3: torch until its port has been validated on a "
          "card).", choices=("auto", "blackhole", "torch"), group="run"),
    Param("device", "choice", "auto", "torch device: auto (cuda, then mps, then cpu), cpu, cuda, mps "
          "(cuda:N also works). Phase 2's torch backend defaults to cpu.", choices=("auto", "cpu", "cuda", "mps"), indexed=True, group="run", phase_defaults=((2, "cpu"),),
          setting=True),
    # On a CPU the Quality preset's 25 guided steps take about half an hour at 512x512 (benchmarks/presets-latest.md);
    # the Fast preset's 4 unguided steps take minutes. So the run form starts there when torch has no GPU.
    Param("preset", "choice", "quality", "Phase 1's motion module and sampler: quality (v1-5-2, DDIM, 25 steps, "
          "CFG 7.5), lightning (AnimateDiff-Lightning, 1/2/4/8 steps, no CFG), animatelcm (AnimateLCM, 6 steps, "
          "CFG 2). Steps and guidance default to the preset's. Left unset, the run form starts with lightning "
          "where torch has no GPU (CUDA or MPS) and with quality where it has one.",
          choices=("quality", "lightning", "animatelcm"), group="run", phases=(1,), setting=True,
          device_defaults=(("cpu", "lightning"),)),
    Param("dtype", "choice", "auto", "Precision of the networks: auto (fp16 on CUDA, bf16 on CPUs with native "
          "bf16, else fp32), float32, bfloat16, float16. The scheduler always computes in fp32.",
          choices=("auto", "float32", "bfloat16", "float16"), group="run", setting=True),
    Param("perturbation_strength", "float", None, "Phase 2: per-frame noise strength (default: "
          "PERTURBATION_STRENGTH in ttnn_pipeline.py).", minimum=0.0, maximum=1.0, group="run", phases=(2,),
          cli_aliases=("--perturbation",)),
    Param("motion_scale", "float", None, "How strongly the motion modules act: 0 = no temporal attention, "
          "1 = as trained, up to 2 = stronger (default: 1 in Phase 1, MOTION_SCALE in motion_pipeline.py in "
          "Phase 3).", minimum=0.0, maximum=2.0, group="run", phases=(1, 3)),
)

SPEC: Dict[str, Param] = {p.name: p for p in PARAMETERS}
GENERATION = tuple(p for p in PARAMETERS if p.group == "params")
EXPORT_FORMATS = SPEC["formats"].choices
BACKENDS = SPEC["backend"].choices
DEVICES = SPEC["device"].choices


def _validate(self: Any, max_frames: Optional[int] = None) -> Any:
    """Raise ParamError for the first invalid field; return self so calls can chain."""
    for param in GENERATION:
        setattr(self, param.name, param.check(getattr(self, param.name)))
    _check_directed(self)
    if max_frames is not None and self.num_frames > max_frames:
        raise ParamError("num_frames", f"{self.num_frames} is more than this motion adapter supports "
                                       f"(motion_max_seq_length = {max_frames})")
    return self


def _check_directed(self: Any) -> None:
    """What the text fields hold, checked at the edge too. Their grammars (plain Python, no torch) raise
    ValueError saying what to change; the field is named here, where the parameters are defined."""
    from .creative.lora_spec import parse_motion_loras
    from .creative.prompt_schedule import parse_prompt_schedule, validate_schedule

    checks = (("prompt_schedule", lambda text: validate_schedule(parse_prompt_schedule(text), self.num_frames)),
              ("motion_loras", parse_motion_loras))
    for name, check in checks:
        text = getattr(self, name)
        if text.strip():
            try:
                check(text)
            except ValueError as exc:
                raise ParamError(name, str(exc)) from exc


def _to_dict(self: Any) -> Dict[str, Any]:
    data = dataclasses.asdict(self)
    data["formats"] = list(self.formats)
    return data


@classmethod  # type: ignore[misc]
def _from_dict(cls: Any, data: Dict[str, Any]) -> Any:
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - names)
    if unknown:
        raise ParamError(unknown[0], f"unknown parameter; known ones are {sorted(names)}")
    missing = [p.name for p in GENERATION if p.required and p.name not in data]
    if missing:
        raise ParamError(missing[0], "is required")
    values = dict(data)
    if isinstance(values.get("formats"), list):
        values["formats"] = tuple(values["formats"])
    return cls(**values)


def _fields(params: Iterable[Param]) -> list:
    required = [(p.name, Any) for p in params if p.required]
    optional = [(p.name, Any, field(default=p.default)) for p in params if not p.required]
    extra = [("extra", Dict[str, Any], field(default_factory=dict))]  # phase-specific knobs, kept in metadata
    return required + optional + extra


# The generation parameters as a dataclass: GenerationParams(prompt="a cat", num_frames=4).validate()
GenerationParams = dataclasses.make_dataclass(
    "GenerationParams", _fields(GENERATION),
    namespace={"validate": _validate, "to_dict": _to_dict, "from_dict": _from_dict,
               "__doc__": "The generation parameters of one run; fields and defaults come from PARAMETERS."},
)
GenerationParams.__module__ = __name__


def validate_backend(backend: str) -> str:
    return SPEC["backend"].check(backend)


def validate_perturbation_strength(value: Any) -> float:
    """Phase 2's PERTURBATION_STRENGTH, or a per-run override: a finite number in 0..1."""
    return float(SPEC["perturbation_strength"].check(value))


def describe() -> list:
    """PARAMETERS as JSON-ready dicts (wire names, the limits), for the extension and the docs."""
    out = []
    for p in PARAMETERS:
        entry = {"name": p.name, "wire": p.wire, "kind": p.kind, "group": p.group, "phases": list(p.phases),
                 "required": p.required, "default": _json(p.default_for()), "initial": _json(p.initial()),
                 "label": p.title, "help": p.help, "setting": p.setting, "form": p.form}
        for key, value in (("minimum", p.minimum), ("maximum", p.maximum), ("multipleOf", p.multiple_of),
                           ("maxLength", p.max_length), ("why", p.why or None),
                           ("choices", list(p.choices) or None),
                           ("phaseDefaults", {str(k): v for k, v in p.phase_defaults} or None),
                           ("deviceDefaults", dict(p.device_defaults) or None)):
            if value is not None:
                entry[key] = value
        out.append(entry)
    return out


def _json(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


if __name__ == "__main__":
    import json

    print(json.dumps(describe(), indent=2))
