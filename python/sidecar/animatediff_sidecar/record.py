"""A compact binary record of each finished run: its final latents and what produced them.

`<runId>.run.msgpack` sits beside the run's metadata JSON. It holds the latents the VAE decoded
(float32, (frames, 4, H/8, W/8): about 1 MB for 16 frames at 512x512, against tens of MB of PNG
frames), the generation parameters and the model sources, so `studio/export` can write another
format (MP4, WebP, PNG frames) later by running only the VAE - no denoising again.

Written right after the run's metadata JSON (atomically, like every output), so a record only ever
sits beside a finished run; a crash in between costs the re-export, nothing else.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable, ContextManager, Dict

RECORD_SCHEMA = 1
RECORD_SUFFIX = ".run.msgpack"


def record_path_for(gif_path: Path) -> Path:
    return Path(gif_path).with_suffix(RECORD_SUFFIX)


def _latents_array(final_latents: Dict[int, Any]):
    """Phase 1 keeps one (1, 4, F, h, w) tensor under -1; Phase 2 one (1, 4, h, w) per frame."""
    import torch

    if -1 in final_latents:
        video = final_latents[-1].detach().float().cpu()
        return video[0].permute(1, 0, 2, 3).contiguous()  # (F, 4, h, w)
    return torch.cat([final_latents[i].detach().float().cpu() for i in sorted(final_latents)]).contiguous()


def write_run_record(job: Any, final_latents: Dict[int, Any], params: Any, output: Path,
                     run_info: Dict[str, Any], atomic_path: Callable[[Path], ContextManager[Path]]) -> str:
    """`atomic_path` is the lesson package's own (export.atomic_path): temp file, then rename."""
    import msgpack

    latents = _latents_array(final_latents)
    payload = {
        "schema": RECORD_SCHEMA,
        "run_id": run_info.get("run_id"),
        "phase": run_info.get("phase"),
        "params": params.to_dict(),
        "models": run_info.get("models", {}),
        "device": run_info.get("device"),
        "perturbation_strength": run_info.get("perturbation_strength"),
        "latents": {
            "dtype": "float32",
            "shape": list(latents.shape),
            "space": "unet",  # divide by the VAE's scaling_factor before decoding
            "data": latents.numpy().astype("<f4").tobytes(),
        },
    }
    path = record_path_for(output)
    with atomic_path(path) as tmp:
        tmp.write_bytes(msgpack.packb(payload, use_bin_type=True))
    return str(path)


def read_run_record(path: Path) -> Dict[str, Any]:
    import msgpack

    with open(path, "rb") as handle:
        payload = msgpack.unpackb(handle.read(), raw=False)
    if payload.get("schema") != RECORD_SCHEMA:
        raise ValueError(f"{path}: unknown run record schema {payload.get('schema')!r}")
    return payload


def record_latents(payload: Dict[str, Any]):
    """The record's latents as a torch tensor (frames, 4, h, w)."""
    import numpy as np
    import torch

    spec = payload["latents"]
    array = np.frombuffer(spec["data"], dtype="<f4").reshape(spec["shape"]).copy()
    return torch.from_numpy(array)


def read_metadata(path: Path) -> Dict[str, Any]:
    return json.loads(Path(path).read_text(encoding="utf-8"))
