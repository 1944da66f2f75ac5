"""Models resident across runs, keyed by (source, device, dtype).

Loading SD 1.4 and a motion adapter takes tens of seconds; building the pipeline objects around
loaded parts takes milliseconds. So the weights (SD components, motion adapter) are cached here
and the user's `Phase1Pipeline` / `Phase2Pipeline` are rebuilt around them for every run, from
the current (possibly just reloaded) code. The one expensive thing a Phase 2 pipeline owns, its
UNet backend (the TTNN UNet on a Blackhole), is handed from the old pipeline object to the new one
unless the backend code itself was reloaded.

All methods run on the generation worker thread.
"""

from __future__ import annotations

import gc
import os
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Tuple

from .protocol import InvalidParams
from .user_code import UserCode

MAX_PER_ROLE = 2  # resident copies per role (e.g. one CPU fp32 and one CUDA fp16 SD)
BACKEND_MODULES = ("unet_backend", "torch_backend", "blackhole_backend", "tt_metal")


@dataclass
class Loaded:
    """What a run got from the cache."""

    sd: Any
    adapter: Any = None
    device: Any = None
    dtype: Any = None
    load_s: float = 0.0
    loaded: List[str] = field(default_factory=list)  # roles loaded from disk for this run

    @property
    def models_reloaded(self) -> bool:
        return bool(self.loaded)


def source_key(source: str) -> str:
    """Local paths by their real location, hub ids as they are."""
    expanded = os.path.expanduser(source)
    if os.path.exists(expanded):
        return os.path.realpath(expanded)
    return source


class ModelCache:
    def __init__(self, code: UserCode):
        self.code = code
        self._entries: "OrderedDict[Tuple[str, str, str, str], Any]" = OrderedDict()
        self._phase2: Dict[Tuple[Any, ...], Tuple[Any, int]] = {}  # key -> (pipeline, code generation)

    def resolve_device(self, requested: str) -> Tuple[Any, Any]:
        device_mod = self.code.module("device")
        try:
            device = device_mod.pick_device(requested)
            dtype = device_mod.pick_dtype(device)
        except ValueError as exc:
            message = str(exc)
            if message.startswith("device: "):
                message = message[len("device: "):]
            raise InvalidParams("device", message) from exc
        return device, dtype

    def _get(self, role: str, source: str, device: Any, dtype: Any, load) -> Tuple[Any, bool]:
        key = (role, source_key(source), str(device), str(dtype))
        if key in self._entries:
            self._entries.move_to_end(key)
            return self._entries[key], False
        value = load()
        self._entries[key] = value
        self._evict(role)
        return value, True

    def _evict(self, role: str) -> None:
        keys = [k for k in self._entries if k[0] == role]
        dropped = []
        while len(keys) > MAX_PER_ROLE:
            old = keys.pop(0)
            dropped.append(self._entries.pop(old))
        if not dropped:
            return
        for value in dropped:
            if role == "adapter":  # forget the motion UNets built from it
                for other in self._entries.values():
                    extras = getattr(other, "extras", None)
                    if isinstance(extras, dict):
                        extras.pop(("unet_motion", id(value)), None)
            for key, (pipeline, _gen) in list(self._phase2.items()):
                if getattr(pipeline, "sd", None) is value:
                    _close(pipeline)
                    del self._phase2[key]
        del dropped
        gc.collect()

    def load(self, sd_source: str, adapter_source: Optional[str], requested_device: str) -> Loaded:
        """SD components (and the motion adapter when asked), moved to the device."""
        device, dtype = self.resolve_device(requested_device)
        models = self.code.module("models")
        t0 = time.perf_counter()
        loaded = Loaded(sd=None, device=device, dtype=dtype)

        def load_sd():
            sd = models.load_sd_components(sd_source, dtype)
            for part in (sd.unet, sd.vae, sd.text_encoder):
                part.to(device)
            return sd

        loaded.sd, fresh = self._get("sd", sd_source, device, dtype, load_sd)
        if fresh:
            loaded.loaded.append("sd")
        if adapter_source is not None:
            loaded.adapter, fresh = self._get(
                "adapter", adapter_source, device, dtype,
                lambda: models.load_motion_adapter(adapter_source, dtype).to(device))
            if fresh:
                loaded.loaded.append("motionAdapter")
        loaded.load_s = time.perf_counter() - t0
        return loaded

    def phase1_pipeline(self, loaded: Loaded, adapter_source: str) -> Any:
        pipeline_mod = self.code.module("pipeline")
        return pipeline_mod.Phase1Pipeline(loaded.sd, loaded.adapter, adapter_source, loaded.device, loaded.dtype)

    def phase2_pipeline(self, loaded: Loaded, backend: str) -> Any:
        """A Phase2Pipeline from the current code; keeps the previous one's backend if its code
        is unchanged (building a TTNN UNet takes minutes)."""
        ttnn_mod = self.code.module("ttnn_pipeline")
        key = (id(loaded.sd), str(loaded.device), backend)
        generation = self.code.generation
        previous = self._phase2.get(key)
        if previous is not None and previous[1] == generation:
            return previous[0]
        pipeline = ttnn_mod.Phase2Pipeline(loaded.sd, backend)
        if previous is not None:
            old, built_at = previous
            if self.code.reloaded_since(built_at) & {f"{self.code.package}.{m}" for m in BACKEND_MODULES}:
                _close(old)
            else:
                _adopt_backend(pipeline, old)
        self._phase2[key] = (pipeline, generation)
        return pipeline

    def close(self) -> None:
        for pipeline, _gen in self._phase2.values():
            _close(pipeline)
        self._phase2.clear()
        self._entries.clear()


def _close(pipeline: Any) -> None:
    close = getattr(pipeline, "close", None)
    if callable(close):
        try:
            close()
        except Exception:  # noqa: BLE001 - releasing a device must not fail a run
            pass


def _adopt_backend(new: Any, old: Any) -> None:
    """Move the built backend (and what describes it) from an old Phase2Pipeline to a new one."""
    for name in ("_backend", "_backend_key", "backend_reason"):
        if hasattr(old, name) and hasattr(new, name):
            setattr(new, name, getattr(old, name))
    if hasattr(old, "_backend"):
        old._backend = None  # the old object must not close what the new one now owns
