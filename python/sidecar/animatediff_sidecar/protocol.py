"""The one Python definition of every sidecar message (docs/protocol.md is the reference).

Requests are read with `<Type>.from_wire(dict)`, which checks presence, types and enums and raises
`InvalidParams` naming the offending field by its wire path (`params.numFrames`). The generation
parameters and run options (backend, device, ...) are not listed here: they come from the lesson
package's one definition, `PARAMETERS` of its params.py via studio_api (`spec` below; wire name = camelCase
of the Python name). Their ranges are checked by the package's `GenerationParams.validate`; its
errors are mapped to the same wire paths with `core_field`.

Everything sent is a dataclass turned into camelCase JSON by `to_wire`.

This module imports nothing heavy: the handshake must answer without torch.
"""

from __future__ import annotations

import dataclasses
import math
import os
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence

PROTOCOL_VERSION = 1


class Method:
    """Requests and notifications the client sends."""

    HANDSHAKE = "studio/handshake"
    ENVIRONMENT = "studio/environment"
    MODELS_STATUS = "studio/modelsStatus"
    DOWNLOAD_MODELS = "studio/downloadModels"
    GENERATE = "studio/generate"
    CANCEL = "studio/cancel"
    RUNS = "studio/runs"
    EXPORT = "studio/export"
    SHUTDOWN = "shutdown"
    EXIT = "exit"
    CANCEL_REQUEST = "$/cancelRequest"


class Notify:
    """Notifications the sidecar sends."""

    PROGRESS = "studio/progress"
    PREVIEW = "studio/preview"
    FRAME_DONE = "studio/frameDone"
    DOWNLOAD_PROGRESS = "studio/downloadProgress"
    LOG = "studio/log"


class ErrorCode:
    INVALID_PARAMS = -32602
    INTERNAL = -32603
    REQUEST_CANCELLED = -32800
    BUSY = -32001
    MODEL_NOT_FOUND = -32002
    USER_CODE = -32003
    BACKEND_UNAVAILABLE = -32004
    PROTOCOL_MISMATCH = -32005
    OUTPUT_FOLDER = -32006


PHASES = (1, 2, 3)
STAGES = ("loading", "encoding", "denoising", "decoding", "exporting")
LOG_LEVELS = ("debug", "info", "warning", "error")
PREVIEW_MAX_SIDE = 128
PREVIEW_MAX_FRAMES = 64  # images in one studio/preview (Phase 1 frames; Phase 2 sends one)
FRAME_DONE_MAX_SIDE = 256


# ---------------------------------------------------------------------------------------------
# Errors (each becomes a JSON-RPC error response; see server.py)
# ---------------------------------------------------------------------------------------------


class SidecarError(Exception):
    """An error with a JSON-RPC code and a `data` object the client can act on."""

    code = ErrorCode.INTERNAL

    def __init__(self, message: str, data: Optional[Dict[str, Any]] = None):
        super().__init__(message)
        self.message = message
        self.data = data


class InvalidParams(SidecarError):
    code = ErrorCode.INVALID_PARAMS

    def __init__(self, field_path: str, message: str):
        super().__init__(f"invalid {field_path}: {message}", {"field": field_path, "message": message})
        self.field = field_path


class RequestCancelled(SidecarError):
    code = ErrorCode.REQUEST_CANCELLED


class Busy(SidecarError):
    code = ErrorCode.BUSY

    def __init__(self, run_id: str):
        super().__init__(f"a generation is already running (run {run_id}); cancel it or wait for it to finish",
                         {"runId": run_id})


class ModelNotFound(SidecarError):
    code = ErrorCode.MODEL_NOT_FOUND

    def __init__(self, message: str, what: str, source: str, looked_in: str, fix: str):
        super().__init__(message, {"what": what, "source": source, "lookedIn": looked_in, "fix": fix})


class UserCodeError(SidecarError):
    code = ErrorCode.USER_CODE

    def __init__(self, summary: str, file: str, line: int, message: str, exc_type: str, traceback: str):
        super().__init__(summary, {"file": file, "line": line, "message": message, "type": exc_type,
                                   "traceback": traceback})


class BackendUnavailable(SidecarError):
    code = ErrorCode.BACKEND_UNAVAILABLE

    def __init__(self, reason: str):
        super().__init__(reason, {"reason": reason})


class ProtocolMismatch(SidecarError):
    code = ErrorCode.PROTOCOL_MISMATCH

    def __init__(self, client_version: Any, server_version: str):
        super().__init__(
            f"the client speaks protocol {client_version!r}, this sidecar speaks {PROTOCOL_VERSION}; "
            "update the extension or the sidecar so they match",
            {"serverVersion": server_version, "protocolVersion": PROTOCOL_VERSION},
        )


class OutputFolderError(SidecarError):
    """The output folder cannot take the run's files: the OS said why (not a bug in the user's code)."""

    code = ErrorCode.OUTPUT_FOLDER

    def __init__(self, path: str, reason: str, errno_name: str = ""):
        super().__init__(f"cannot write the run's files to {path}: {reason}",
                         {"path": path, "reason": reason, "errno": errno_name})


class InternalError(SidecarError):
    code = ErrorCode.INTERNAL


# ---------------------------------------------------------------------------------------------
# Names
# ---------------------------------------------------------------------------------------------


def camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def core_field(name: str, spec: Sequence[Any] = ()) -> str:
    """The wire path of a core `ParamError.field`: run options are top-level, the rest is in `params`."""
    if name in ("phase", "models") or any(p.name == name and p.group == "run" for p in spec):
        return camel(name)
    return "params." + camel(name)


def formats_of(spec: Sequence[Any]) -> tuple:
    return next(p.choices for p in spec if p.name == "formats")


def to_wire(value: Any) -> Any:
    """Dataclasses to camelCase dicts, recursively; dict keys are kept as they are."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        out = {}
        for f in dataclasses.fields(value):
            if f.metadata.get("omit_none") and getattr(value, f.name) is None:
                continue
            out[f.metadata.get("wire", camel(f.name))] = to_wire(getattr(value, f.name))
        return out
    if isinstance(value, dict):
        return {k: to_wire(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_wire(v) for v in value]
    return value


# ---------------------------------------------------------------------------------------------
# Reading requests
# ---------------------------------------------------------------------------------------------


class Fields:
    """Typed access to one JSON object of a request; every failure names the field's wire path."""

    def __init__(self, data: Any, path: str = "", what: str = "params"):
        if data is None:
            data = {}
        if not isinstance(data, dict):
            raise InvalidParams(path or what, f"must be an object, got {_json_type(data)}")
        self.data = data
        self.path = path
        self.seen: set = set()

    def _path(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def _get(self, key: str, required: bool) -> Any:
        self.seen.add(key)
        if key not in self.data or self.data[key] is None:
            if required:
                raise InvalidParams(self._path(key), "is required")
            return None
        return self.data[key]

    def string(self, key: str, required: bool = False, non_empty: bool = False) -> Optional[str]:
        value = self._get(key, required)
        if value is None:
            return None
        if not isinstance(value, str):
            raise InvalidParams(self._path(key), f"must be a string, got {_json_type(value)}")
        if non_empty and not value.strip():
            raise InvalidParams(self._path(key), "must not be empty")
        return value

    def integer(self, key: str, required: bool = False, minimum: Optional[int] = None) -> Optional[int]:
        value = self._get(key, required)
        if value is None:
            return None
        if isinstance(value, float) and value.is_integer():
            value = int(value)  # JavaScript has one number type: 8.0 is 8
        if isinstance(value, bool) or not isinstance(value, int):
            raise InvalidParams(self._path(key), f"must be a whole number, got {_json_repr(value)}")
        if minimum is not None and value < minimum:
            raise InvalidParams(self._path(key), f"must be at least {minimum}, got {value}")
        return value

    def number(self, key: str, required: bool = False, minimum: Optional[float] = None,
               maximum: Optional[float] = None) -> Optional[float]:
        value = self._get(key, required)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise InvalidParams(self._path(key), f"must be a number, got {_json_repr(value)}")
        if not math.isfinite(value):  # JSON has no NaN/Infinity, but Python's json reads them; NaN passes any range check
            raise InvalidParams(self._path(key), f"must be a finite number, got {_json_repr(value)}")
        if minimum is not None and value < minimum or maximum is not None and value > maximum:
            raise InvalidParams(self._path(key), f"{value} is outside {minimum}..{maximum}")
        return value

    def choice(self, key: str, choices: tuple, required: bool = False, indexed: bool = False) -> Any:
        value = self._get(key, required)
        if value is None:
            return None
        if indexed:  # "cuda:1" is a "cuda"
            if not isinstance(value, str) or value.split(":")[0] not in choices:
                raise InvalidParams(self._path(key), f"{_json_repr(value)} is not one of {list(choices)} "
                                                     "(cuda:N also works)")
            return value
        if isinstance(value, bool) or value not in choices:
            raise InvalidParams(self._path(key), f"{_json_repr(value)} is not one of {list(choices)}")
        return value

    def param(self, p: Any) -> Any:
        """One parameter of the package's definition, read by its kind (ranges are the core's job)."""
        if p.kind == "str":
            return self.string(p.wire, required=p.required, non_empty=p.required)
        if p.kind == "int":
            return self.integer(p.wire)
        if p.kind == "float":
            if p.group == "run":  # run options never reach GenerationParams.validate
                return self.number(p.wire, minimum=p.minimum, maximum=p.maximum)
            return self.number(p.wire)
        if p.kind == "choice":
            return self.choice(p.wire, p.choices, indexed=p.indexed)
        if p.kind == "choices":
            values = self.string_list(p.wire, p.choices)
            if values is not None and not values:
                raise InvalidParams(self._path(p.wire), "ask for at least one format")
            return None if values is None else tuple(dict.fromkeys(values))
        raise InternalError(f"parameter {p.name}: unknown kind {p.kind!r}")

    def string_list(self, key: str, choices: Optional[tuple] = None) -> Optional[List[str]]:
        value = self._get(key, False)
        if value is None:
            return None
        if not isinstance(value, list):
            raise InvalidParams(self._path(key), f"must be a list, got {_json_type(value)}")
        for index, item in enumerate(value):
            if not isinstance(item, str) or (choices is not None and item not in choices):
                allowed = f" one of {list(choices)}" if choices is not None else " a string"
                raise InvalidParams(f"{self._path(key)}[{index}]", f"{_json_repr(item)} is not{allowed}")
        return list(value)

    def path_string(self, key: str) -> Optional[str]:
        value = self.string(key, non_empty=True)
        if value is not None:
            value = os.path.expanduser(value)
            if not os.path.isabs(value):
                raise InvalidParams(self._path(key), f"must be an absolute path, got {value!r}")
        return value

    def obj(self, key: str, required: bool = False) -> Optional["Fields"]:
        value = self._get(key, required)
        if value is None:
            return None
        return Fields(value, self._path(key))

    def finish(self) -> None:
        """Reject fields this request does not know (a typo must not be silently ignored)."""
        unknown = sorted(set(self.data) - self.seen)
        if unknown:
            raise InvalidParams(self._path(unknown[0]), f"unknown field; known fields are {sorted(self.seen)}")


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _json_repr(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


# ---------------------------------------------------------------------------------------------
# Requests
# ---------------------------------------------------------------------------------------------


@dataclass
class HandshakeParams:
    protocol_version: Any
    client_name: str = ""

    @classmethod
    def from_wire(cls, data: Any) -> "HandshakeParams":
        f = Fields(data)
        f.seen.add("protocolVersion")
        if "protocolVersion" not in f.data:
            raise InvalidParams("protocolVersion", "is required")
        client = f.string("clientName") or ""
        return cls(f.data["protocolVersion"], client)  # extra fields allowed: newer clients may send more


@dataclass
class ModelSources:
    sd: Optional[str] = None
    motion_adapter: Optional[str] = None

    @classmethod
    def from_fields(cls, f: Optional[Fields]) -> "ModelSources":
        if f is None:
            return cls()
        sources = cls(sd=f.string("sd", non_empty=True), motion_adapter=f.string("motionAdapter", non_empty=True))
        f.finish()
        return sources


@dataclass
class ModelsParams:
    models: ModelSources

    @classmethod
    def from_wire(cls, data: Any) -> "ModelsParams":
        f = Fields(data)
        params = cls(ModelSources.from_fields(f.obj("models")))
        f.finish()
        return params


@dataclass
class DownloadParams:
    models: ModelSources
    download_id: Optional[str] = None

    @classmethod
    def from_wire(cls, data: Any) -> "DownloadParams":
        f = Fields(data)
        params = cls(ModelSources.from_fields(f.obj("models")), f.string("downloadId", non_empty=True))
        f.finish()
        return params


@dataclass
class GenParams:
    """`GenerateParams.params`: only the fields the client sent; the core fills in its defaults."""

    values: Dict[str, Any]  # GenerationParams field name -> value

    @classmethod
    def from_fields(cls, f: Fields, spec: Sequence[Any]) -> "GenParams":
        values = {}
        for p in spec:
            if p.group == "params":
                value = f.param(p)
                if value is not None:
                    values[p.name] = value
        f.finish()
        return cls(values)


@dataclass
class GenerateParams:
    """`studio/generate`. `run` holds the run options of the package's definition (group "run"),
    by Python name; each is also an attribute: `request.backend`, `request.device`, ..."""

    phase: int
    params: GenParams
    models: ModelSources = field(default_factory=ModelSources)
    output_dir: Optional[str] = None
    preview_every: int = 1
    run: Dict[str, Any] = field(default_factory=dict, metadata={"expand": True})

    def __getattr__(self, name: str) -> Any:
        run = self.__dict__.get("run") or {}
        if name in run:
            return run[name]
        raise AttributeError(name)

    @classmethod
    def from_wire(cls, data: Any, spec: Sequence[Any]) -> "GenerateParams":
        f = Fields(data)
        phase = f.choice("phase", PHASES, required=True)
        run: Dict[str, Any] = {}
        for p in spec:
            if p.group != "run":
                continue
            value = f.param(p)
            if value is not None and phase not in p.phases:
                raise InvalidParams(p.wire, f"is a phase {'/'.join(map(str, p.phases))} setting; "
                                            f"phase {phase} does not use it")
            run[p.name] = p.default_for(phase) if value is None else value
        if phase == 1 and run.get("backend") == "blackhole":
            raise InvalidParams("backend", "phase 1 runs in torch only; the blackhole backend is for phases 2 and 3")
        models = ModelSources.from_fields(f.obj("models"))
        gen = GenParams.from_fields(f.obj("params", required=True), spec)  # type: ignore[arg-type]
        output_dir = f.path_string("outputDir")
        preview_every = f.integer("previewEvery", minimum=1)
        f.finish()
        return cls(phase=phase, params=gen, models=models, output_dir=output_dir,
                   preview_every=preview_every or 1, run=run)


def wire_fields(cls: type, spec: Sequence[Any]) -> List[str]:
    """The wire names of a message dataclass (an expanded field stands for the run options)."""
    names: List[str] = []
    for f in dataclasses.fields(cls):
        if f.metadata.get("expand"):
            names += [p.wire for p in spec if p.group == "run"]
        else:
            names.append(f.metadata.get("wire", camel(f.name)))
    return names


@dataclass
class CancelParams:
    run_id: Optional[str] = None
    download_id: Optional[str] = None

    @classmethod
    def from_wire(cls, data: Any) -> "CancelParams":
        f = Fields(data)
        params = cls(f.string("runId", non_empty=True), f.string("downloadId", non_empty=True))
        f.finish()
        if params.run_id is None and params.download_id is None:
            raise InvalidParams("runId", "give runId (a generation) or downloadId (a download)")
        return params


@dataclass
class RunsParams:
    output_dir: Optional[str] = None
    limit: Optional[int] = None

    @classmethod
    def from_wire(cls, data: Any) -> "RunsParams":
        f = Fields(data)
        params = cls(f.path_string("outputDir"), f.integer("limit", minimum=1))
        f.finish()
        return params


@dataclass
class ExportParams:
    metadata_path: str
    formats: List[str]

    @classmethod
    def from_wire(cls, data: Any, spec: Sequence[Any]) -> "ExportParams":
        f = Fields(data)
        path = f.path_string("metadataPath")
        if path is None:
            raise InvalidParams("metadataPath", "is required")
        formats = f.string_list("formats", formats_of(spec))
        if not formats:
            raise InvalidParams("formats", "ask for at least one format")
        f.finish()
        return cls(path, list(dict.fromkeys(formats)))


# ---------------------------------------------------------------------------------------------
# Results
# ---------------------------------------------------------------------------------------------


@dataclass
class PythonInfo:
    version: str
    executable: str


@dataclass
class Capabilities:
    torch: bool
    diffusers: bool
    ttnn: bool
    mp4: bool


@dataclass
class PipelineSourceInfo:
    kind: str  # "scratchpad" | "bundle"
    path: str


@dataclass
class Handshake:
    protocol_version: int
    server_version: str
    python: PythonInfo
    capabilities: Capabilities
    missing: List[str]
    pipeline_source: PipelineSourceInfo


@dataclass
class ModelStatus:
    role: str  # "sd" | "motionAdapter"
    source: str
    kind: str  # "hub" | "local"
    available: bool
    path: Optional[str]
    size_bytes: Optional[int]
    fix: Optional[str]


@dataclass
class ModelsStatusResult:
    cache_dir: str
    models: List[ModelStatus]


@dataclass
class DownloadResult:
    models: List[ModelStatus]


@dataclass
class TorchInfo:
    version: Optional[str]
    devices: List[str]
    error: Optional[str]


@dataclass
class TtnnInfo:
    importable: bool
    version: Optional[str]
    error: Optional[str]


@dataclass
class BlackholeInfo:
    available: bool
    device_count: int
    reason: str


@dataclass
class TtMetalHomeInfo:
    value: Optional[str]
    valid: bool
    demo_path: Optional[str]
    error: Optional[str]


@dataclass
class ScratchpadInfo:
    path: str
    deployed: bool
    version: Optional[str]


@dataclass
class Environment:
    python: PythonInfo
    torch: TorchInfo
    diffusers: Optional[str]
    transformers: Optional[str]
    ttnn: TtnnInfo
    blackhole: BlackholeInfo
    tt_metal_home: TtMetalHomeInfo
    scratchpad: ScratchpadInfo
    models: List[ModelStatus]


TIMING_FIELDS = {  # core Timings.to_dict() key -> wire key
    "load_s": "loadS",
    "encode_s": "encodeS",
    "first_step_s": "firstStepS",
    "steps_s": "stepsS",
    "denoise_s": "denoiseS",
    "decode_s": "decodeS",
    "export_s": "exportS",
    "total_s": "totalS",
}


def timings_to_wire(timings: Dict[str, Any]) -> Dict[str, Any]:
    out = {wire: timings.get(core, [] if core == "steps_s" else (None if core == "first_step_s" else 0.0))
           for core, wire in TIMING_FIELDS.items()}
    return out


def params_to_wire(params: Dict[str, Any]) -> Dict[str, Any]:
    """Core GenerationParams.to_dict() -> the wire form of GenerateParams.params."""
    return {camel(k): v for k, v in params.items()}


@dataclass
class GenerateResult:
    run_id: str
    status: str  # "completed" | "cancelled"
    outputs: Dict[str, str]
    metadata_path: Optional[str]
    backend: str
    backend_reason: str
    device: str
    timings: Dict[str, Any]  # wire form already (timings_to_wire)
    models_reloaded: bool
    reloaded_modules: List[str]


@dataclass
class RunSummary:
    run_id: str
    phase: int
    prompt: str
    created: str
    outputs: Dict[str, str]
    metadata_path: str
    params: Dict[str, Any]
    backend: str
    device: str
    timings: Dict[str, Any]
    perturbation_strength: Optional[float]
    coherence: Optional[Dict[str, float]] = None  # the run's temporal-coherence figure (coherence.py)


@dataclass
class RunsResult:
    runs: List[RunSummary]


@dataclass
class CancelResult:
    cancelled: bool


@dataclass
class ExportResult:
    outputs: Dict[str, str]
    metadata_path: str


# ---------------------------------------------------------------------------------------------
# Notifications
# ---------------------------------------------------------------------------------------------


@dataclass
class Progress:
    run_id: str
    phase: int
    stage: str
    step: int
    total_steps: int
    frame: Optional[int]
    total_frames: int
    elapsed_s: float
    eta_s: Optional[float]


@dataclass
class Preview:
    run_id: str
    phase: int
    step: int
    total_steps: int
    frame: Optional[int]
    total_frames: int
    width: int
    height: int
    frames: List[str]  # base64 PNG


@dataclass
class FrameDone:
    run_id: str
    frame: int
    total_frames: int
    png: str


@dataclass
class DownloadProgress:
    download_id: str
    source: str
    file: str
    bytes: int
    total_bytes: int  # 0 while unknown


@dataclass
class LogMessage:
    level: str
    message: str
