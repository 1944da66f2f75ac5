"""Models resident across runs, keyed by (source, device, dtype).

Loading SD 1.4 and a motion adapter takes tens of seconds; building the pipeline objects around
loaded parts takes milliseconds. So the weights (SD components, motion adapter) are cached here
and the user's `Phase1Pipeline` / `Phase2Pipeline` are rebuilt around them for every run, from
the current (possibly just reloaded) code, through the package's contract (`studio_api`). The one
expensive thing a Phase 2/3 pipeline owns, its UNet backend (the TTNN UNet on a Blackhole), is
handed from the old pipeline object to the new one unless the backend code itself was reloaded.

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


@dataclass
class Loaded:
    """What a run got from the cache."""

    sd: Any
    adapter: Any = None
    device: Any = None
    dtype: Any = None
    dtype_reason: str = ""
    adapter_source: Optional[str] = None  # where the adapter came from (a Lightning checkpoint: repo:file)
    checkpoint_steps: Optional[int] = None  # the Lightning checkpoint's step count
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
        self._built: Dict[Tuple[Any, ...], Tuple[Any, int]] = {}  # key -> (pipeline, code generation)

    def resolve_device(self, requested: str) -> Tuple[Any, Any]:
        try:
            device, dtype = self.code.api().pick_device(requested)
        except ValueError as exc:
            message = str(exc)
            if message.startswith("device: "):
                message = message[len("device: "):]
            raise InvalidParams("device", message) from exc
        return device, dtype

    @staticmethod
    def _key(role: str, source: str, device: Any, dtype: Any) -> Tuple[str, str, str, str]:
        return (role, source_key(source), str(device), str(dtype))

    @staticmethod
    def _adapter_source(preset: Optional[str], steps: Optional[int], adapter_source: Optional[str]) -> Optional[str]:
        # one entry per preset and step count (each Lightning step count is its own checkpoint)
        return f"{preset}:{steps}:{adapter_source or ''}" if preset is not None else adapter_source

    def _get(self, role: str, source: str, device: Any, dtype: Any, load) -> Tuple[Any, bool]:
        key = self._key(role, source, device, dtype)
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
            if role == "adapter":  # forget the motion UNets built from it (keyed by the adapter's id first)
                adapter = value[0] if isinstance(value, tuple) else value
                for other in self._entries.values():
                    extras = getattr(other, "extras", None)
                    if isinstance(extras, dict):
                        for key in [k for k in extras if isinstance(k, tuple) and k[:2] == ("unet_motion", id(adapter))]:
                            extras.pop(key)
            for key, (pipeline, _gen) in list(self._built.items()):
                if getattr(pipeline, "sd", None) is value or getattr(pipeline, "adapter", None) is value:
                    self.code.api().close_pipeline(pipeline)
                    del self._built[key]
        del dropped
        gc.collect()

    def load(self, sd_source: str, adapter_source: Optional[str], requested_device: str,
             dtype_name: Optional[str] = None, preset: Optional[str] = None, steps: Optional[int] = None,
             phase: Optional[int] = None, backend: Optional[str] = None) -> Loaded:
        """SD components (and the motion adapter when asked: `adapter_source`, or with `preset` that
        preset's own), moved to the device, in the dtype the hardware (or `dtype_name`) says."""
        device, dtype, reason = self._device_dtype(requested_device, dtype_name, phase, backend)
        api = self.code.api()
        t0 = time.perf_counter()
        loaded = Loaded(sd=None, device=device, dtype=dtype, dtype_reason=reason)
        loaded.sd, fresh = self._get("sd", sd_source, device, dtype, lambda: api.load_sd(sd_source, device, dtype))
        if fresh:
            loaded.loaded.append("sd")
        if preset is not None:
            key = self._adapter_source(preset, steps, adapter_source)
            (loaded.adapter, loaded.adapter_source, loaded.checkpoint_steps), fresh = self._get(
                "adapter", key, device, dtype,
                lambda: api.load_preset_motion_adapter(preset, adapter_source, steps, device, dtype))
            if fresh:
                loaded.loaded.append("motionAdapter")
        elif adapter_source is not None:
            loaded.adapter, fresh = self._get(
                "adapter", adapter_source, device, dtype, lambda: api.load_motion_adapter(adapter_source, device, dtype))
            loaded.adapter_source = adapter_source
            if fresh:
                loaded.loaded.append("motionAdapter")
        loaded.load_s = time.perf_counter() - t0
        return loaded

    def _device_dtype(self, requested_device: str, dtype_name: Optional[str], phase: Optional[int],
                      backend: Optional[str]) -> Tuple[Any, Any, str]:
        device, dtype = self.resolve_device(requested_device)
        try:  # the lesson decides (Phase 2 on a Blackhole card wants fp32 weights)
            dtype, reason = self.code.api().choose_dtype(device, dtype_name, phase=phase, backend=backend)
        except ValueError as exc:
            raise InvalidParams("dtype", str(exc).split(": ", 1)[-1]) from exc
        return device, dtype, reason

    def holds(self, sd_source: str, adapter_source: Optional[str], requested_device: str,
              dtype_name: Optional[str] = None, preset: Optional[str] = None, steps: Optional[int] = None,
              phase: Optional[int] = None, backend: Optional[str] = None) -> bool:
        """Whether `load` with these arguments would find every model resident (nothing to load)."""
        device, dtype, _reason = self._device_dtype(requested_device, dtype_name, phase, backend)
        keys = [self._key("sd", sd_source, device, dtype)]
        adapter = self._adapter_source(preset, steps, adapter_source)
        if adapter is not None:
            keys.append(self._key("adapter", adapter, device, dtype))
        try:
            entries = set(self._entries)  # a copy: the worker thread may load meanwhile...
        except RuntimeError:  # ...and change it while it is copied: then the models are being loaded anyway
            return False
        return all(key in entries for key in keys)

    def pipeline(self, phase: int, loaded: Loaded, adapter_source: Optional[str], backend: Any,
                 preset: Optional[str] = None) -> Any:
        """A pipeline from the current code. A UNet-backend pipeline (phases 2, 3) keeps the previous
        one's backend if its code is unchanged (building a TTNN UNet takes minutes). `backend`: a name,
        or the package's resolved BackendChoice (hashable: equal choices share a pipeline)."""
        api = self.code.api()
        if phase == 1:  # (the request always carries a preset for Phase 1: its default is filled in)
            return api.build_pipeline(1, loaded.sd, loaded.adapter, loaded.adapter_source, loaded.device, loaded.dtype,
                                      backend, preset=preset, dtype_reason=loaded.dtype_reason,
                                      checkpoint_steps=loaded.checkpoint_steps)
        key = (phase, id(loaded.sd), id(loaded.adapter), str(loaded.device), backend)
        generation = self.code.generation
        previous = self._built.get(key)
        if previous is not None and previous[1] == generation:
            return previous[0]
        pipeline = api.build_pipeline(phase, loaded.sd, loaded.adapter, adapter_source, loaded.device, loaded.dtype,
                                      backend, dtype_reason=loaded.dtype_reason)
        if previous is not None:
            old, built_at = previous
            if api.backend_is_stale(self.code.reloaded_since(built_at)):
                api.close_pipeline(old)
            else:
                api.hand_over_backend(pipeline, old)
        self._built[key] = (pipeline, generation)
        return pipeline

    def close(self) -> None:
        for pipeline, _gen in self._built.values():
            self.code.api().close_pipeline(pipeline)
        self._built.clear()
        self._entries.clear()

