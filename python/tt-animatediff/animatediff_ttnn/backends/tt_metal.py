"""Finding tt-metal's Stable Diffusion demo and a Blackhole chip.

The TTNN SD 1.4 UNet and VAE are not part of the `ttnn` wheel: they live in a tt-metal
checkout (`$TT_METAL_HOME`), under one of two directory layouts depending on its age. This module
finds that code and reports whether a chip is there, without ever failing at import time: `ttnn`
is imported lazily, because its wheels exist only for some Python versions and opening it needs
a card. Works on Python 3.10-3.12.
"""

from __future__ import annotations

import importlib
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional, Tuple, Union

from .unet_backend import BackendUnavailable

TT_METAL_HOME_ENV = "TT_METAL_HOME"

# (directory relative to TT_METAL_HOME, dotted package the demo's own imports use), newest first.
SD_DEMO_LAYOUTS: Tuple[Tuple[str, str], ...] = (
    (
        "models/demos/vision/generative/stable_diffusion/wormhole",
        "models.demos.vision.generative.stable_diffusion.wormhole",
    ),
    ("models/demos/wormhole/stable_diffusion", "models.demos.wormhole.stable_diffusion"),
)

# Files that identify a demo directory (the backends import the UNet and its preprocessor; the PNDM
# scheduler marks the demo, though Phase 2 runs diffusers' PNDM on the host).
SD_DEMO_MARKERS: Tuple[str, ...] = (
    "sd_pndm_scheduler.py",
    "custom_preprocessing.py",
    "tt/ttnn_functional_unet_2d_condition_model_new_conv.py",
)

# Blackhole's device parameters in tt-metal's SD demo (common.py at tt-metal commit
# 43eabcb242b1db9d8b57d7f3f547d41641fed5ff); used only if the checkout's common.py lacks them. The trace
# region holds the demo's whole 50-step loop with its VAE, so one UNet call and one VAE decode fit in it.
BLACKHOLE_SD_L1_SMALL_SIZE = 21760
BLACKHOLE_SD_TRACE_REGION_SIZE = 920000000

TTNN_WHEEL_PYTHONS = ("3.10", "3.12")


class TtMetalNotFound(BackendUnavailable):
    """TT_METAL_HOME is missing or does not hold the SD demo; the message says what was looked for."""


def _describe_layouts(root: str) -> str:
    markers = ", ".join(SD_DEMO_MARKERS)
    lines = [f"  {root}/{rel}/ (with {markers})" for rel, _ in SD_DEMO_LAYOUTS]
    return "\n".join(lines)


def find_sd_demo(tt_metal_home: Optional[Union[str, Path]] = None) -> Path:
    """Directory of tt-metal's SD demo in `tt_metal_home` (default: $TT_METAL_HOME).

    Raises TtMetalNotFound naming TT_METAL_HOME, its value and both layouts looked for."""
    source = "argument tt_metal_home" if tt_metal_home is not None else f"${TT_METAL_HOME_ENV}"
    value = str(tt_metal_home) if tt_metal_home is not None else os.environ.get(TT_METAL_HOME_ENV, "")
    hint = f"Set {TT_METAL_HOME_ENV} to a tt-metal checkout (git clone https://github.com/tenstorrent/tt-metal)."
    if not value.strip():
        raise TtMetalNotFound(
            f"{TT_METAL_HOME_ENV} is not set, so tt-metal's Stable Diffusion demo cannot be found.\n"
            f"Looked for one of:\n{_describe_layouts('$' + TT_METAL_HOME_ENV)}\n{hint}"
        )
    root = Path(value).expanduser()
    if not root.is_dir():
        raise TtMetalNotFound(f"{TT_METAL_HOME_ENV} ({source}) = {value!r} is not a directory.\n{hint}")
    for rel, _package in SD_DEMO_LAYOUTS:
        demo = root / rel
        if all((demo / marker).is_file() for marker in SD_DEMO_MARKERS):
            return demo.resolve()
    raise TtMetalNotFound(
        f"{TT_METAL_HOME_ENV} ({source}) = {value!r} holds no tt-metal Stable Diffusion demo.\n"
        f"Looked for one of:\n{_describe_layouts(str(root))}\n{hint}"
    )


def sd_demo_package(demo_dir: Path) -> Tuple[Path, str]:
    """(tt-metal root to put on sys.path, dotted package of the demo) for a found demo directory."""
    demo_dir = Path(demo_dir).resolve()
    for rel, package in SD_DEMO_LAYOUTS:
        parts = Path(rel).parts
        if demo_dir.parts[-len(parts) :] == parts:
            return Path(*demo_dir.parts[: -len(parts)]), package
    raise TtMetalNotFound(f"{demo_dir} is not one of the known SD demo layouts:\n{_describe_layouts('<root>')}")


def add_tt_metal_to_sys_path(root: Path) -> None:
    """Make `import models.demos...` resolve inside the checkout (the demo imports itself that way)."""
    entry = str(Path(root).resolve())
    if entry not in sys.path:
        sys.path.insert(0, entry)


@dataclass(frozen=True)
class SdDemo:
    """The pieces of tt-metal's SD demo the Blackhole backend uses. Importing them needs ttnn."""

    demo_dir: Path
    package: str
    unet_class: Any  # tt/ UNet2DConditionModel (TTNN)
    custom_preprocessor: Any  # for ttnn.model_preprocessing.preprocess_model_parameters
    l1_small_size: int  # the demo's device parameters
    trace_region_size: int
    vae_class: Any = None  # tt/vae/ttnn_vae.py Vae (TTNN VAE decoder); None when the checkout has none


def import_sd_demo(tt_metal_home: Optional[Union[str, Path]] = None) -> SdDemo:
    """Import the TTNN UNet, its preprocessor and (when the checkout has one) the TTNN VAE. Needs ttnn (no chip)."""
    demo_dir = find_sd_demo(tt_metal_home)
    root, package = sd_demo_package(demo_dir)
    try:  # the installed ttnn first, before the checkout (which has a ttnn/ folder) joins sys.path
        import_ttnn()
    except ImportError as exc:
        raise BackendUnavailable(
            f"tt-metal's SD demo at {demo_dir} needs ttnn, which is not importable on Python "
            f"{_python_version()} ({exc}); ttnn wheels exist for Python {' and '.join(TTNN_WHEEL_PYTHONS)}"
        ) from exc

    add_tt_metal_to_sys_path(root)
    unet_mod = importlib.import_module(f"{package}.tt.ttnn_functional_unet_2d_condition_model_new_conv")
    prep_mod = importlib.import_module(f"{package}.custom_preprocessing")
    vae_mod = _import_optional(f"{package}.tt.vae.ttnn_vae", demo_dir / "tt" / "vae" / "ttnn_vae.py")
    for mod in (unet_mod, prep_mod, vae_mod):  # another `models` package earlier on sys.path would shadow ours
        if mod is None:
            continue
        origin = Path(getattr(mod, "__file__", "") or "").resolve()
        if demo_dir not in origin.parents:
            raise TtMetalNotFound(f"{mod.__name__} was imported from {origin}, not from {demo_dir}")
    return SdDemo(
        demo_dir=demo_dir,
        package=package,
        unet_class=unet_mod.UNet2DConditionModel,
        custom_preprocessor=prep_mod.custom_preprocessor,
        l1_small_size=_demo_value(package, "SD_L1_SMALL_SIZE", BLACKHOLE_SD_L1_SMALL_SIZE),
        trace_region_size=_demo_value(package, "SD_TRACE_REGION_SIZE", BLACKHOLE_SD_TRACE_REGION_SIZE),
        vae_class=getattr(vae_mod, "Vae", None),
    )


def _import_optional(module: str, path: Path) -> Any:
    """The module when its file is in the checkout (older checkouts ship no TTNN VAE), else None."""
    return importlib.import_module(module) if path.is_file() else None


def _demo_value(package: str, name: str, default: int) -> int:
    # Newer checkouts pick the values per arch in common.py (it calls is_blackhole(), so it needs ttnn).
    try:
        return int(getattr(importlib.import_module(f"{package}.common"), name))
    except (ImportError, AttributeError):
        return default


@dataclass(frozen=True)
class DeviceStatus:
    available: bool
    device_count: int
    reason: str


def _python_version() -> str:
    return f"{sys.version_info.major}.{sys.version_info.minor}"


def short_error(exc: BaseException) -> str:
    """One line of a ttnn error: TT_FATAL messages carry a long C++ backtrace after 'backtrace:'."""
    text = str(exc).split("backtrace:")[0]
    text = " ".join(line.strip() for line in text.splitlines() if line.strip())
    return f"{type(exc).__name__}: {text[:300]}"


def _arch_name(ttnn: Any) -> Optional[str]:
    for getter in (getattr(ttnn, "get_arch_name", None), getattr(getattr(ttnn, "device", None), "get_arch_name", None)):
        if getter is None:
            continue
        try:
            name = str(getter()).lower()
        except Exception:  # noqa: BLE001 - some builds need an open device; try the next, then "unknown"
            continue
        if name and name != "invalid":  # ttnn says "invalid" when it cannot tell
            return name
    return None


def import_ttnn() -> Any:
    """The ttnn package. A plain folder named ttnn on sys.path (a tt-metal checkout's source tree
    holds one) imports as an empty namespace package; that is not ttnn, so say so."""
    import ttnn

    if getattr(ttnn, "__file__", None) is None:
        where = ", ".join(getattr(ttnn, "__path__", [])) or "sys.path"
        raise ImportError(f"'ttnn' resolves to a plain folder ({where}), not the ttnn package")
    return ttnn


def detect_blackhole() -> DeviceStatus:
    """Is a Blackhole chip usable through ttnn here? Never raises; `reason` says why not."""
    try:
        ttnn = import_ttnn()
    except Exception as exc:  # noqa: BLE001 - ImportError, or OSError from the native library
        wheels = " and ".join(TTNN_WHEEL_PYTHONS)
        return DeviceStatus(
            False,
            0,
            f"ttnn is not importable on Python {_python_version()} ({short_error(exc)}); "
            f"ttnn wheels exist for Python {wheels}, or build it from a tt-metal checkout",
        )
    try:
        count = int(ttnn.GetNumAvailableDevices())
    except Exception as exc:  # noqa: BLE001 - ttnn raises when no driver/chip is present
        return DeviceStatus(False, 0, f"ttnn found no Tenstorrent chip ({short_error(exc)})")
    if count <= 0:
        return DeviceStatus(False, 0, "ttnn found no Tenstorrent chip (GetNumAvailableDevices() == 0)")
    arch = _arch_name(ttnn)
    if arch is None:
        return DeviceStatus(True, count, f"{count} Tenstorrent chip(s); architecture not verified before opening")
    if "blackhole" not in arch:
        return DeviceStatus(False, count, f"{count} Tenstorrent chip(s) found, but they are {arch}, not Blackhole")
    return DeviceStatus(True, count, f"{count} Blackhole chip(s)")
