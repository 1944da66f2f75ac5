"""Where the models come from and how they are loaded.

A model source is one of: a Hugging Face hub id (`CompVis/stable-diffusion-v1-4`), a local
diffusers folder, or - for the motion adapter - a single original AnimateDiff checkpoint file
(`mm_sd_v15_v2.ckpt` or `.safetensors`). Whatever goes wrong, the user gets one `ModelNotFound`
message naming what is missing, where it was looked for, and the command that fetches it.

SD components are loaded one by one (UNet, VAE, text encoder, tokenizer) rather than as a
pipeline, so the safety checker (1.2 GB, unused by AnimateDiff) is never loaded.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Optional

import torch

from ..params import ParamError
from .sources import DEFAULT_MOTION_ADAPTER, DEFAULT_SD_MODEL, SINGLE_FILE_SUFFIXES, download_command, hub_cache_dir, is_local


class ModelNotFound(RuntimeError):
    """A model could not be loaded; the message is meant to be shown to the user as is."""

    def __init__(self, what: str, source: str, looked_in: str, fix: str, cause: str = ""):
        lines = [f"{what} not found: {source}", f"  looked in: {looked_in}"]
        if cause:
            lines.append(f"  reason: {cause}")
        lines.append(f"  to fetch it: {fix}")
        super().__init__("\n".join(lines))
        self.what, self.source, self.looked_in, self.fix = what, source, looked_in, fix


@dataclass
class SDComponents:
    """The SD 1.x parts both phases use, plus where they came from (for run metadata)."""

    unet: Any
    vae: Any
    text_encoder: Any
    tokenizer: Any
    scheduler_config: Dict[str, Any]
    source: str
    revision: Optional[str] = None
    extras: Dict[str, Any] = field(default_factory=dict)  # derived models cached by the caller


def _fix_for(source: str, kind: str) -> str:
    if is_local(source):
        return f"check the path, or download the {kind} and pass its folder"
    return download_command(source)


def _looked_in(source: str) -> str:
    return str(Path(source).expanduser().resolve()) if is_local(source) else f"the Hugging Face cache at {hub_cache_dir()} and the hub"


def _load(what: str, source: str, loader, **kwargs):
    """Run a from_pretrained-style loader and turn every 'not there' failure into ModelNotFound."""
    if is_local(source) and not Path(source).expanduser().exists():
        raise ModelNotFound(what, source, _looked_in(source), _fix_for(source, what), "no such file or folder")
    if not is_local(source):
        # Cache first: a model already downloaded must load offline without a round of hub retries.
        try:
            return loader(source, local_files_only=True, **kwargs)
        except (OSError, ValueError):
            pass
    try:
        return loader(os.path.expanduser(source) if is_local(source) else source, **kwargs)
    except (OSError, EnvironmentError, ValueError) as exc:  # hub errors subclass OSError / ValueError
        if isinstance(exc, ValueError) and "not find" not in str(exc).lower() and "does not appear" not in str(exc):
            raise
        raise ModelNotFound(what, source, _looked_in(source), _fix_for(source, what), _first_line(exc)) from exc


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"


def load_sd_components(source: str = DEFAULT_SD_MODEL, dtype: torch.dtype = torch.float32,
                       revision: Optional[str] = None) -> SDComponents:
    from diffusers import AutoencoderKL, DDIMScheduler, UNet2DConditionModel
    from transformers import CLIPTextModel, CLIPTokenizer

    common = {"revision": revision} if revision else {}
    what = "Stable Diffusion model"
    unet = _load(what, source, UNet2DConditionModel.from_pretrained, subfolder="unet", torch_dtype=dtype, **common)
    vae = _load(what, source, AutoencoderKL.from_pretrained, subfolder="vae", torch_dtype=dtype, **common)
    text_encoder = _load(what, source, CLIPTextModel.from_pretrained, subfolder="text_encoder", dtype=dtype, **common)
    tokenizer = _load(what, source, CLIPTokenizer.from_pretrained, subfolder="tokenizer", **common)
    scheduler_config = dict(_load(what, source, DDIMScheduler.load_config, subfolder="scheduler", **common))
    for model in (unet, vae, text_encoder):
        model.eval().requires_grad_(False)
    return SDComponents(unet, vae, text_encoder, tokenizer, scheduler_config, source, revision)


def load_motion_adapter(source: str = DEFAULT_MOTION_ADAPTER, dtype: torch.dtype = torch.float32,
                        revision: Optional[str] = None):
    """A diffusers MotionAdapter from a hub id, a diffusers folder, or an original checkpoint file."""
    from diffusers import MotionAdapter

    what = "AnimateDiff motion adapter"
    path = Path(source).expanduser()
    if path.suffix.lower() in SINGLE_FILE_SUFFIXES:
        if not path.is_file():
            raise ModelNotFound(what, source, _looked_in(source), _fix_for(source, what), "no such file")
        from .motion_checkpoint import DiffusersLayoutCheckpoint, load_original_motion_checkpoint

        try:
            adapter = load_original_motion_checkpoint(path)
        except DiffusersLayoutCheckpoint as exc:
            raise ParamError("motion_adapter", _lightning_advice(exc)) from exc
        if adapter.dtype != dtype:
            # torch's own Module.to: diffusers' override warns about "modules that should be kept in
            # float32: []" on every dtype cast, though MotionAdapter keeps none in float32.
            if getattr(adapter, "_keep_in_fp32_modules", None):
                adapter.to(dtype)
            else:
                torch.nn.Module.to(adapter, dtype=dtype)
    else:
        common = {"revision": revision} if revision else {}
        adapter = _load(what, source, MotionAdapter.from_pretrained, torch_dtype=dtype, **common)
    return adapter.eval().requires_grad_(False)


def _lightning_advice(exc) -> str:
    """What a diffusers-layout single file given as the motion adapter is, and what runs it."""
    from .presets import LIGHTNING_REPO, lightning_steps_of

    steps = lightning_steps_of(exc.name)
    distilled = f" (its name says: distilled for {steps} steps)" if steps else ""
    return (f"{exc}: that is the format of {LIGHTNING_REPO.split('/')[1]}'s checkpoints{distilled}, which work only "
            "with the scheduler and step count they were distilled for. Run it with the lightning preset (Phase 1: "
            "the run form's preset, or --preset lightning --motion-adapter FILE); the motion adapter setting takes "
            "an original AnimateDiff checkpoint (mm_sd_v15_v2.ckpt) or a diffusers folder.")


def resolve_model_file(source: str, filename: str, what: str) -> Path:
    """One weights file: `source` is a hub id (the HF cache first, then the hub), a local folder
    holding `filename`, or the file itself."""
    if is_local(source):
        path = Path(source).expanduser()
        path = path / filename if path.is_dir() else path
        if not path.is_file():
            raise ModelNotFound(what, str(path), str(path.resolve()), "check the path, or download the file and pass it",
                                "no such file")
        return path
    from huggingface_hub import hf_hub_download

    try:
        return Path(hf_hub_download(source, filename, local_files_only=True))
    except (OSError, ValueError):
        pass  # not in the cache: try the hub (offline, this fails below with the command to run)
    try:
        return Path(hf_hub_download(source, filename))
    except (OSError, ValueError) as exc:
        raise ModelNotFound(what, f"{source}:{filename}", _looked_in(source), download_command(source, filename),
                            _first_line(exc)) from exc


def load_adapter_file(path: Path, dtype: torch.dtype = torch.float32):
    """A MotionAdapter from one diffusers-layout safetensors file (AnimateDiff-Lightning's format).

    The model card builds `MotionAdapter()` (the v1-5-2 architecture) and loads the file into it;
    here the architecture is read from the tensor shapes, which gives that same configuration for
    the real checkpoints and lets smaller test checkpoints load too.
    """
    from diffusers import MotionAdapter
    from safetensors.torch import load_file

    from .motion_checkpoint import diffusers_to_original, infer_adapter_config

    state = load_file(str(path))
    adapter = MotionAdapter(**infer_adapter_config(diffusers_to_original(state)))
    missing, unexpected = adapter.load_state_dict(state, strict=False)
    missing = [k for k in missing if not k.endswith("pos_embed.pe")]  # fixed sinusoids, rebuilt by the module
    if missing or unexpected:
        raise ValueError(f"{path.name} is not a diffusers MotionAdapter checkpoint: missing {missing[:3]}, "
                         f"unexpected {unexpected[:3]}")
    return adapter.to(dtype).eval().requires_grad_(False)


def load_preset_motion_adapter(preset, source: Optional[str] = None, steps: Optional[int] = None,
                               dtype: torch.dtype = torch.float32):
    """The motion adapter a preset runs with: (adapter, where it came from, checkpoint step count or None).

    Lightning has one checkpoint file per step count, so `steps` picks the file; a local file gives
    its step count in its name (`animatediff_lightning_4step_diffusers.safetensors`).
    """
    from .presets import lightning_file, lightning_steps_of

    source = source or preset.motion_adapter
    if preset.name != "lightning":
        return load_motion_adapter(source, dtype), source, None
    what = "AnimateDiff-Lightning checkpoint"
    path = Path(source).expanduser()
    if is_local(source) and path.suffix.lower() == ".safetensors":
        file_steps = lightning_steps_of(path.name)
        if file_steps is None:
            raise ValueError(f"motion_adapter: cannot tell which step count {path.name} was distilled for; "
                             "keep the original file name (animatediff_lightning_<N>step_diffusers.safetensors)")
        steps = file_steps
        filename = path.name
    else:
        steps = steps or preset.steps
        filename = lightning_file(steps)
    resolved = resolve_model_file(source, filename, what)
    return load_adapter_file(resolved, dtype), f"{source}:{filename}" if path.suffix != ".safetensors" else source, steps


def motion_max_frames(adapter) -> int:
    return int(adapter.config.motion_max_seq_length)
