"""Where the models come from: default hub ids, the files fetched, the local cache.

Facts only - no torch, no diffusers - so the studio can report which models are present, and
download them, in a Python without torch. `loading.py` loads what these name.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import List, Optional

DEFAULT_SD_MODEL = "CompVis/stable-diffusion-v1-4"
DEFAULT_MOTION_ADAPTER = "guoyww/animatediff-motion-adapter-v1-5-2"
SINGLE_FILE_SUFFIXES = (".ckpt", ".safetensors", ".pt", ".pth")  # an original AnimateDiff checkpoint file

# Environment variables that point every command (CLI, studio) at other models at once.
SOURCE_ENV = {"sd": "ANIMATEDIFF_SD_MODEL", "motion_adapter": "ANIMATEDIFF_MOTION_ADAPTER"}
DEFAULTS = {"sd": DEFAULT_SD_MODEL, "motion_adapter": DEFAULT_MOTION_ADAPTER}
ROLES = tuple(DEFAULTS)  # "sd", "motion_adapter"

# What to fetch from each hub repo: weights in safetensors only, no safety checker, no fp16 copies.
SD_DOWNLOAD_PATTERNS = [
    "model_index.json",
    "scheduler/*.json",
    "tokenizer/*",
    "text_encoder/config.json",
    "text_encoder/model.safetensors",
    "unet/config.json",
    "unet/diffusion_pytorch_model.safetensors",
    "vae/config.json",
    "vae/diffusion_pytorch_model.safetensors",
]
ADAPTER_DOWNLOAD_PATTERNS = ["config.json", "diffusion_pytorch_model.safetensors"]


def default_source(role: str) -> str:
    """$ANIMATEDIFF_SD_MODEL / $ANIMATEDIFF_MOTION_ADAPTER when set, else the lesson's default."""
    return os.environ.get(SOURCE_ENV[role]) or DEFAULTS[role]


def download_patterns(role: str) -> List[str]:
    return list(SD_DOWNLOAD_PATTERNS if role == "sd" else ADAPTER_DOWNLOAD_PATTERNS)


def is_local(source: str) -> bool:
    """A path if it exists or cannot be a hub id; hub ids look like `owner/name`."""
    path = Path(source).expanduser()
    if path.exists() or source.startswith((".", "/", "~")) or path.suffix.lower() in SINGLE_FILE_SUFFIXES:
        return True
    return source.count("/") != 1 or "\\" in source


def hub_cache_dir() -> str:
    """The Hugging Face hub cache (huggingface_hub's rule; the same rule without it)."""
    try:
        from huggingface_hub import constants

        return str(constants.HF_HUB_CACHE)
    except ImportError:
        if os.environ.get("HF_HUB_CACHE"):
            return os.environ["HF_HUB_CACHE"]
        home = os.environ.get("HF_HOME") or os.path.join(os.environ.get("XDG_CACHE_HOME", "~/.cache"), "huggingface")
        return os.path.join(os.path.expanduser(home), "hub")


def patterns_for(target: str) -> List[str]:
    """`repo:file` fetches that one file. Lightning repos hold one checkpoint per step count (the
    preset's 4-step one by default); AnimateLCM's repo holds an adapter folder plus its LoRA; other
    motion adapters are single-folder repos; everything else is treated as an SD pipeline repo."""
    repo_id, _, filename = target.partition(":")
    if filename:
        return [filename]
    from ..creative.lora_spec import HUB_PREFIX, LORA_DOWNLOAD_PATTERNS
    from .presets import ANIMATELCM_LORA_FILE, ANIMATELCM_REPO, LIGHTNING_REPO, get_preset, lightning_file

    if repo_id.startswith(HUB_PREFIX):  # a v2 camera-move motion LoRA: its one weights file
        return LORA_DOWNLOAD_PATTERNS
    if repo_id == LIGHTNING_REPO:
        return [lightning_file(get_preset("lightning").steps)]
    if repo_id == ANIMATELCM_REPO:
        return ADAPTER_DOWNLOAD_PATTERNS + [ANIMATELCM_LORA_FILE]
    return ADAPTER_DOWNLOAD_PATTERNS if "motion-adapter" in repo_id or "animatediff" in repo_id.lower() else SD_DOWNLOAD_PATTERNS


def preset_targets(name: str, steps: Optional[int] = None) -> List[str]:
    """Everything a preset runs with: the SD model, its motion module (and LoRA)."""
    from .presets import LIGHTNING_REPO, get_preset, lightning_file

    preset = get_preset(name)
    if preset.name == "lightning":
        return [DEFAULT_SD_MODEL, f"{LIGHTNING_REPO}:{lightning_file(steps or preset.steps)}"]
    return [DEFAULT_SD_MODEL, preset.motion_adapter]


def download_command(repo_id: str, filename: Optional[str] = None) -> str:
    """The command that fetches a repo (or, with `filename`, one file of it: repo:file)."""
    return f"python -m animatediff_ttnn.download {repo_id}" + (f":{filename}" if filename else "")
