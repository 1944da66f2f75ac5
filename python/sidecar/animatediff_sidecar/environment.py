"""What this machine has: the cheap handshake flags, and the full environment report.

`capabilities()` only asks the import system whether packages exist (no import), so the
handshake answers in milliseconds even without torch. `environment()` really imports torch and
asks ttnn for devices; the server runs it off the event loop.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import importlib.util
import os
import sys
from typing import Any, Dict, List, Optional, Tuple

from .downloads import models_status
from .protocol import (BlackholeInfo, Capabilities, Environment, ModelSources, PythonInfo, ScratchpadInfo,
                       TorchInfo, TtMetalHomeInfo, TtnnCheckInfo, TtnnInfo)
from .user_code import UserCode, is_deployed, read_version

TTNN_WHEEL_PYTHONS = ("3.10", "3.12")


def python_info() -> PythonInfo:
    return PythonInfo(".".join(map(str, sys.version_info[:3])), sys.executable)


def _present(name: str) -> Tuple[bool, Optional[str]]:
    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError) as exc:
        return False, f"{type(exc).__name__}: {exc}"
    if spec is None:
        return False, f"No module named '{name}'"
    return True, None


def capabilities() -> Tuple[Capabilities, List[str]]:
    """Which optional parts are installed, found without importing them."""
    missing: List[str] = []
    found: Dict[str, bool] = {}
    for name in ("torch", "diffusers", "transformers", "huggingface_hub", "PIL", "ttnn", "imageio", "imageio_ffmpeg"):
        ok, why = _present(name)
        found[name] = ok
        if not ok and name != "ttnn":  # ttnn is expected to be missing away from a Tenstorrent host
            missing.append(f"{name} ({why})")
    if not found["ttnn"]:
        missing.append(f"ttnn (not importable on Python {sys.version_info[0]}.{sys.version_info[1]}; "
                       f"needed only for the Blackhole backend)")
    caps = Capabilities(
        torch=found["torch"],
        diffusers=found["diffusers"] and found["transformers"],
        ttnn=found["ttnn"],
        mp4=found["imageio"] and found["imageio_ffmpeg"],
    )
    return caps, missing


def _version(dist: str) -> Optional[str]:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


def torch_info() -> TorchInfo:
    try:
        import torch
    except Exception as exc:  # noqa: BLE001 - ImportError or a broken native library
        return TorchInfo(None, [], f"{type(exc).__name__}: {exc}")
    devices = ["cpu"]
    try:
        devices += [f"cuda:{i}" for i in range(torch.cuda.device_count())]
        mps = getattr(torch.backends, "mps", None)
        if mps is not None and mps.is_available():
            devices.append("mps")
    except Exception:  # noqa: BLE001
        pass
    return TorchInfo(str(torch.__version__), devices, None)


def _short(exc: BaseException) -> str:
    text = " ".join(str(exc).split("backtrace:")[0].split())
    return f"{type(exc).__name__}: {text[:300]}"


def ttnn_info() -> TtnnInfo:
    try:
        import ttnn
    except Exception as exc:  # noqa: BLE001
        wheels = " and ".join(TTNN_WHEEL_PYTHONS)
        return TtnnInfo(False, None, f"{_short(exc)}; ttnn wheels exist for Python {wheels}")
    return TtnnInfo(True, str(getattr(ttnn, "__version__", None) or _version("ttnn") or "unknown"), None)


def blackhole_info(code: UserCode, ttnn: TtnnInfo) -> BlackholeInfo:
    try:
        status = code.api().detect_blackhole()
        return BlackholeInfo(bool(status.available), int(status.device_count), str(status.reason))
    except Exception as exc:  # noqa: BLE001 - the pipeline package needs torch; say why we could not look
        if not ttnn.importable:
            return BlackholeInfo(False, 0, f"ttnn is not importable ({ttnn.error})")
        return BlackholeInfo(False, 0, f"could not check for devices: {_short(exc)}")


def tt_metal_home_info(code: UserCode) -> TtMetalHomeInfo:
    value = os.environ.get("TT_METAL_HOME") or None
    try:
        demo = code.api().find_sd_demo()
        return TtMetalHomeInfo(value, True, str(demo), None)
    except Exception as exc:  # noqa: BLE001 - TtMetalNotFound, or the package could not be imported
        names = [c.__name__ for c in type(exc).__mro__]
        if "TtMetalNotFound" in names or "BackendUnavailable" in names:
            return TtMetalHomeInfo(value, False, None, str(exc))
        valid = bool(value) and os.path.isdir(os.path.expanduser(value or ""))
        return TtMetalHomeInfo(value, False, None,
                               f"could not check {'the' if valid else 'a'} tt-metal checkout: {_short(exc)}")


def environment(code: UserCode, sources: Optional[ModelSources] = None) -> Environment:
    sources = sources or ModelSources()
    torch = torch_info()
    ttnn = ttnn_info()
    pad = code.source.scratchpad
    try:
        models = models_status({"sd": sources.sd, "motionAdapter": sources.motion_adapter}, code.api())
    except Exception:  # noqa: BLE001 - a broken package edit: the rest of the report still helps
        models = []
    return Environment(
        python=python_info(),
        torch=torch,
        diffusers=_version("diffusers"),
        transformers=_version("transformers"),
        ttnn=ttnn,
        blackhole=blackhole_info(code, ttnn),
        tt_metal_home=tt_metal_home_info(code),
        scratchpad=ScratchpadInfo(str(pad), is_deployed(pad), read_version(pad)),
        models=models,
        ttnn_check=ttnn_check_info(code, pad),
    )


def ttnn_check_info(code: UserCode, scratchpad: Any) -> Optional[TtnnCheckInfo]:
    """Whether the scratchpad has its ttnn venv for the bring-up check, and the command to run."""
    try:
        found = code.api().ttnn_check(scratchpad)
        return TtnnCheckInfo(found["python"], str(found["command"]))
    except Exception:  # noqa: BLE001 - an old or broken copy: the rest of the report still helps
        return None
