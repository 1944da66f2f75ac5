"""The studio's contract with this package: the only module the VS Code studio (its sidecar) imports.

Edit anything else in the package freely - rename modules, restructure, rewrite the algorithm -
and the studio keeps working as long as the names below stay, with the arguments and results
described here. `tests/python/test_studio_api.py` pins them (names, signatures, and a run of every
phase on tiny models).

Importing this module needs no torch (the studio answers its handshake and reports models in a
Python without torch); everything heavy is imported inside the functions that need it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Tuple

from .params import PARAMETERS, SPEC, GenerationParams, ParamError  # noqa: F401 - part of the contract
from .models.sources import ROLES, default_source, download_command, download_patterns, hub_cache_dir, is_local  # noqa: F401

# The sidecar refuses a copy with an older contract (ScratchpadOutdated: "redeploy"), so it never has to
# guess what an old copy offers. Bump it whenever a name below is added, removed or changes meaning.
# 3: estimate_run, ttnn_check.
CONTRACT_VERSION = 3

# Modules a built UNet backend is made of. After an edit to one of them (or to a module under a
# package named here) the studio builds the backend again; otherwise it hands the built one (a TTNN
# UNet takes minutes to build) to the next run.
BACKEND_MODULES = ("backends", "temporal_module", "motion_unet", "ttnn_temporal", "ttnn_motion_unet",
                   "runtime.cpu_speedups")

# Run options (params.PARAMETERS, group "run") that choose how a pipeline is built rather than
# being passed to its generate().
BUILD_OPTIONS = ("backend", "device", "preset", "dtype")


# -- phases ----------------------------------------------------------------------------------------

def needs_motion_adapter(phase: int) -> bool:
    """Phase 1 (diffusers AnimateDiff) and Phase 3 (the frame-loop motion UNet) use the adapter."""
    return phase in (1, 3)


def build_pipeline(phase: int, sd: Any, adapter: Any, adapter_source: Optional[str], device: Any, dtype: Any,
                   backend: str, preset: Optional[str] = None, dtype_reason: str = "",
                   checkpoint_steps: Optional[int] = None) -> Any:
    """A pipeline object for `phase` around already-loaded models (cheap: no weights are copied).
    Phase 1 takes the preset its adapter was loaded for (load_preset_motion_adapter). `dtype_reason`
    (choose_dtype's sentence) goes into every phase's run record. `backend`: a name (checked and
    resolved here) or what resolve_backend returned (trusted)."""
    if phase == 1:
        from .pipeline import Phase1Pipeline
        from .models.presets import DEFAULT_PRESET, get_preset

        return Phase1Pipeline(sd, adapter, adapter_source, device, dtype, preset=get_preset(preset or DEFAULT_PRESET),
                              dtype_reason=dtype_reason, checkpoint_steps=checkpoint_steps)
    if phase == 2:
        from .ttnn_pipeline import Phase2Pipeline

        return Phase2Pipeline(sd, backend, dtype_reason=dtype_reason)
    if phase == 3:
        from .motion_pipeline import Phase3Pipeline

        return Phase3Pipeline(sd, adapter, adapter_source, backend, dtype_reason=dtype_reason)
    raise ParamError("phase", f"unknown phase {phase!r}")


def resolve_backend(phase: int, requested: str) -> Any:
    """BackendChoice(requested, resolved, reason, device) for phase 2 or 3: the name checked (ParamError
    naming `backend`) and a Blackhole card looked for, once. Pass it to build_pipeline as `backend`;
    `.require()` raises BackendUnavailable when "blackhole" was asked and cannot run here."""
    from .backends.choice import resolve_backend as resolve

    return resolve(requested, phase)


def backend_is_stale(reloaded_modules: Any) -> bool:
    """Whether a UNet backend built before these modules were reloaded runs code that has changed."""
    names = {name.split(".", 1)[1] for name in reloaded_modules if "." in name}  # without the package's name
    return any(name == m or name.startswith(m + ".") for name in names for m in BACKEND_MODULES)


def hand_over_backend(new: Any, old: Any) -> None:
    """Give `new` the UNet backend `old` built (a TTNN UNet takes minutes to build); `old` keeps none."""
    for name in ("_backend", "_backend_key", "backend_reason"):
        if hasattr(old, name) and hasattr(new, name):
            setattr(new, name, getattr(old, name))
    if hasattr(old, "_backend"):
        old._backend = None  # the old object must not close what the new one now owns


def close_pipeline(pipeline: Any) -> None:
    """Release what a pipeline holds on a device (a Blackhole card); never raises."""
    close = getattr(pipeline, "close", None)
    if callable(close):
        try:
            close()
        except Exception:  # noqa: BLE001 - releasing a device must not fail a run
            pass


def generate(pipeline: Any, phase: int, params: GenerationParams, run_options: Dict[str, Any], *,
             on_step: Optional[Callable] = None, on_frame: Optional[Callable] = None, cancel: Any = None,
             timings: Any = None) -> List[Any]:
    """Denoise and decode: the frames as PIL images. `run_options` are the request's run options by
    Python name; those of this phase (other than backend/device) go to the pipeline's generate()."""
    options = {p.name: run_options[p.name] for p in PARAMETERS
               if p.group == "run" and p.name not in BUILD_OPTIONS and phase in p.phases and p.name in run_options}
    if phase != 1:
        options["on_frame"] = on_frame
    return pipeline.generate(params, on_step=on_step, cancel=cancel, timings=timings, **options)


# -- models and devices ----------------------------------------------------------------------------

def pick_device(requested: str) -> Tuple[Any, Any]:
    """(torch.device, torch.dtype) for a device name; ValueError("device: ...") when unavailable."""
    from .runtime.device import pick_device as pick, pick_dtype

    device = pick(requested)
    return device, pick_dtype(device)


def choose_dtype(device: Any, requested: Optional[str] = None, phase: Optional[int] = None,
                 backend: Optional[str] = None) -> Tuple[Any, str]:
    """(torch.dtype, why): what the hardware computes natively unless `requested` names one, or
    what the phase's resolved `backend` needs (Phase 2 on a Blackhole card: fp32 torch weights);
    ValueError("dtype: ...") for an unknown name."""
    from .runtime.device import choose_dtype as choose

    return choose(device, requested, phase=phase, backend=backend)


def check_preset(preset: str, params: GenerationParams) -> None:
    """ParamError when the parameters cannot work with the preset (Lightning: steps with no checkpoint)."""
    from .models.presets import get_preset

    get_preset(preset).check(params)


def preset_uses_adapter_setting(preset: str) -> bool:
    """Only the quality preset takes the motion adapter from the settings; the others bring their own."""
    from .models.presets import DEFAULT_PRESET

    return preset == DEFAULT_PRESET


def load_preset_motion_adapter(preset: str, source: Optional[str], steps: int, device: Any,
                               dtype: Any) -> Tuple[Any, str, Optional[int]]:
    """(adapter, where it came from, the Lightning checkpoint's step count or None) for a preset."""
    from .models.loading import load_preset_motion_adapter as load
    from .models.presets import get_preset

    adapter, where, checkpoint_steps = load(get_preset(preset), source, steps, dtype)
    return adapter.to(device), where, checkpoint_steps


def preset_downloads(preset: str, steps: Optional[int] = None) -> List[Tuple[str, List[str]]]:
    """(hub source, file patterns) of what a few-step preset brings besides the settings' models: the
    Lightning checkpoint (`repo:file`; `steps` picks which), AnimateLCM's adapter and LoRA; [] for
    the default preset, which runs the settings' motion adapter. Torch-free."""
    from .models.sources import patterns_for, preset_targets
    from .models.presets import DEFAULT_PRESET, get_preset

    if get_preset(preset).name == DEFAULT_PRESET:
        return []
    return [(t, patterns_for(t)) for t in preset_targets(preset, steps)[1:]]  # [0] is the SD model


def load_sd(source: str, device: Any, dtype: Any) -> Any:
    """SD 1.x components (unet, vae, text_encoder, tokenizer, scheduler_config) on `device`."""
    from .models.loading import load_sd_components

    sd = load_sd_components(source, dtype)
    for part in (sd.unet, sd.vae, sd.text_encoder):
        part.to(device)
    return sd


def load_motion_adapter(source: str, device: Any, dtype: Any) -> Any:
    from .models.loading import load_motion_adapter as load

    return load(source, dtype).to(device)


# -- runs ------------------------------------------------------------------------------------------

def cancel_token() -> Any:
    """A token the pipeline checks between steps; `.cancel()` from any thread."""
    from .runtime.progress import CancelToken

    return CancelToken()


def new_timings() -> Any:
    from .runtime.timings import Timings

    return Timings()


def finish_run(frames: List[Any], params: GenerationParams, output: Path, timings: Any, run_info: Dict[str, Any],
               device: Any, cancel: Any = None) -> Any:
    """Write every output format and the metadata JSON, all together or none; returns a RunResult
    (outputs, metadata). `cancel` is checked until the files are renamed into place."""
    from .outputs.run_record import finish_run as finish

    return finish(frames, params, output, timings, run_info, device=device, cancel=cancel)


def decode_frame(sd: Any, latents: Any) -> Any:
    """One frame's latents (1, 4, h, w) to a PIL image with the SD VAE (in torch)."""
    from .backends.vae_backend import TorchVae
    from .ttnn_pipeline import decode_frame as decode

    return decode(TorchVae(sd.vae), latents)


def export_frames(frames: List[Any], gif_path: Path, fps: int, formats: List[str]) -> Dict[str, str]:
    """Write the asked formats beside `gif_path` (same stem); returns {format: path}."""
    from .outputs.export import export_frames as export

    return export(frames, gif_path, fps, formats)


def write_outputs(frames: List[Any], gif_path: Path, fps: int, formats: List[str],
                  metadata: Callable[[Dict[str, str]], Dict[str, Any]], meta_path: Path,
                  check: Optional[Callable[[], None]] = None, commit: Optional[Callable[[], None]] = None) -> Any:
    """A run's files all together or none: the formats, then `metadata(outputs)` as JSON at `meta_path`;
    `check` may raise to stop before the renames, `commit` marks the point of no return.
    Returns (outputs, metadata)."""
    from .outputs.export import write_outputs as write

    return write(frames, gif_path, fps, formats, metadata, meta_path, check=check, commit=commit)


def clean_interrupted(folder: Path) -> List[str]:
    """Remove what runs interrupted by a crash left in `folder` (this package's temporary names only)."""
    from .outputs.export import clean_interrupted as clean

    return clean(folder)


def atomic_path(final: Path, suffix: str = "") -> Any:
    """Context manager: a temp path beside `final`, renamed over it on success, removed on error."""
    from .outputs.export import atomic_path as atomic

    return atomic(final, suffix)


def estimate_run(phase: int, params: GenerationParams, run_options: Dict[str, Any], output_dir: Path,
                 models_loaded: bool, may_calibrate: bool) -> Dict[str, Any]:
    """How long this run would take here (runtime/estimate.py): {total_s (None: no estimate), stages, basis,
    runs, note}. From the run records in `output_dir` measured on this machine; without one of this phase,
    from a short calibration (only when `may_calibrate`: it would slow a run in progress and be slowed by it)."""
    from .runtime import estimate as est
    from .runtime.calibration import calibrate
    import torch

    from .runtime.device import choose_dtype as choose, cpu_bf16_support, hardware_description, pick_device as pick
    from .runtime.reference_runs import REFERENCE

    device = pick(run_options.get("device") or "auto")
    backend = "torch" if phase == 1 else run_options.get("backend") or "auto"
    if backend == "auto":
        backend = resolve_backend(phase, "auto").resolved
    dtype, _why = choose(device, run_options.get("dtype"), phase=phase, backend=backend)
    job = est.Job(phase=phase, frames=params.num_frames, width=params.width, height=params.height, steps=params.steps,
                  guidance=params.guidance_scale, dtype=str(dtype).replace("torch.", ""), backend=backend,
                  preset=(run_options.get("preset") or SPEC["preset"].default) if phase == 1 else None)
    # bf16 asked for on a CPU without it is emulated: its calibration alone could take minutes (and so its run)
    emulated = device.type == "cpu" and dtype == torch.bfloat16 and not cpu_bf16_support()
    found = est.estimate(job, est.read_records(Path(output_dir)), hardware_description(device), models_loaded,
                         REFERENCE, (lambda: calibrate(dtype)) if may_calibrate and not emulated else None)
    return found.to_dict()


# -- the machine -----------------------------------------------------------------------------------

def detect_blackhole() -> Any:
    """DeviceStatus(available, device_count, reason): is a Blackhole card usable from here?"""
    from .backends.tt_metal import detect_blackhole as detect

    return detect()


def ttnn_check(folder: Path) -> Dict[str, Any]:
    """How the learner checks their ttnn_temporal.py in `folder` (the scratchpad): {"python": the ttnn venv's
    interpreter, or None when it is not made yet, "command": what to run there}. Torch-free."""
    from .backends.ttnn_venv import check_command, check_python

    python = check_python(Path(folder))
    return {"python": str(python) if python else None, "command": check_command(Path(folder))}


def find_sd_demo() -> Path:
    """The tt-metal checkout's SD 1.4 demo folder; TtMetalNotFound says why not."""
    from .backends.tt_metal import find_sd_demo as find

    return find()
