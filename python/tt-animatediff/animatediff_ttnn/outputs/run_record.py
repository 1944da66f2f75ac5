"""The metadata written beside every output: enough to reproduce and to compare runs."""

from __future__ import annotations

import os
import platform
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional

import torch
from PIL import Image

from .. import __version__
from .coherence import temporal_coherence
from ..runtime.device import hardware_description
from .export import metadata_path_for, write_outputs
from ..params import GenerationParams
from ..runtime.progress import CancelToken
from ..runtime.timings import Timings

METADATA_SCHEMA = 1


def library_versions() -> Dict[str, str]:
    versions = {"python": platform.python_version(), "animatediff_ttnn": __version__}
    for name in ("torch", "diffusers", "transformers", "PIL", "ttnn"):
        module = sys.modules.get(name)  # report what this run actually imported, import nothing new
        if module is not None:
            versions[name] = str(getattr(module, "__version__", "unknown"))
    return versions


@dataclass
class RunResult:
    frames: List[Image.Image]
    outputs: Dict[str, str]  # format -> path
    metadata_path: str
    metadata: Dict[str, Any]


def finish_run(frames: List[Image.Image], params: GenerationParams, output: Path, timings: Timings,
               run_info: Dict[str, Any], device: Optional[torch.device] = None,
               cancel: Optional[CancelToken] = None) -> RunResult:
    """Export every asked format and the metadata, all together or none (export.write_outputs).

    A cancel stops the export until the files are renamed into place; from then on it is refused
    (CancelToken.cancel returns False), so a run is never answered "cancelled" and "completed"."""
    # Absolute: the metadata JSON is read from its own folder (the outputs gallery, re-export), so a
    # path relative to this process's working folder (`--output output/x.gif`) would name nothing there.
    output = Path(os.path.abspath(output))
    if output.suffix.lower() != ".gif":
        output = output.with_suffix(".gif")
    coherence = temporal_coherence(frames)
    t0 = time.perf_counter()

    def metadata(outputs: Dict[str, str]) -> Dict[str, Any]:
        timings.export_s = time.perf_counter() - t0
        return {
            "schema": METADATA_SCHEMA,
            "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "prompt": params.prompt,
            "negative_prompt": params.negative_prompt,
            "seed": params.seed,
            "params": params.to_dict(),
            "outputs": outputs,
            "frames": len(frames),
            "size": [frames[0].width, frames[0].height],
            "coherence": coherence,  # still / wobble / motion / flicker, see coherence.py
            "versions": library_versions(),
            "host": {"machine": platform.machine(), "system": platform.system(), **hardware_description(device)},
            **run_info,
            "timings": timings.to_dict(),
        }

    meta_path = metadata_path_for(output)
    outputs, data = write_outputs(frames, output, params.fps, ["gif", *params.formats], metadata, meta_path,
                                  check=cancel.raise_if_cancelled if cancel is not None else None,
                                  commit=cancel.commit if cancel is not None else None)
    return RunResult(frames, outputs, str(meta_path), data)
