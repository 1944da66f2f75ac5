"""The one Python definition of every sidecar message (docs/protocol.md is the reference).

Every message is an attrs class; the wire name of a field is the camelCase of its name. Requests
are read by wire.py (cattrs) behind each `<Type>.from_wire`: strict types, unknown fields refused,
and every failure raised as `InvalidParams` naming the field by its wire path (`params.numFrames`,
`params.formats[1]`).
The generation parameters and run options (backend, device, ...) are not listed here: their
request types are built from the lesson package's one definition, `PARAMETERS` of its params.py
via studio_api (`spec` below). Their ranges are checked by the package's `GenerationParams.validate`;
its errors are mapped to the same wire paths with `core_field`.

Everything sent becomes camelCase JSON by `to_wire`.

This module imports nothing heavy (attrs and cattrs come with pygls): the handshake must answer
without torch.
"""

import functools
from typing import Any, Dict, List, NewType, Optional, Sequence

import attrs

from . import wire
from .wire import AbsPath, Count, NonEmpty, Text, camel, to_wire  # noqa: F401 - camel, to_wire: used via protocol

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
    ESTIMATE = "studio/estimate"
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
    SCRATCHPAD_OUTDATED = -32007


PHASES = (1, 2, 3)
# The keys of a run's `outputs`: the choices of params.py's `formats`. A copy, so that listing past runs
# needs none of the lesson's code (it may be broken or outdated); test_protocol.py checks they agree.
OUTPUT_FORMATS = ("gif", "mp4", "webp", "png")
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

    def __init__(self, path: str, reason: str, errno_name: str = "", file: Optional[str] = None):
        """`path`: the output folder; `file`: the file (or sub-folder) whose write failed, when known."""
        super().__init__(f"cannot write the run's files to {path}: {reason}" + (f" (writing {file})" if file else ""),
                         {"path": path, "file": file, "reason": reason, "errno": errno_name})


class ScratchpadOutdated(SidecarError):
    """The scratchpad holds a lesson copy deployed before the studio's contract (studio_api.py) existed,
    or before the contract version this sidecar speaks (studio_api.CONTRACT_VERSION)."""

    code = ErrorCode.SCRATCHPAD_OUTDATED
    DEPLOY_COMMAND = "AnimateDiff: Deploy Project to Scratchpad"  # package.json, command animatediff.deployProject

    def __init__(self, path: str, missing: str):
        super().__init__(
            f"your scratchpad {path} was deployed before this version of the studio: it has no {missing}, "
            f"which the studio calls. Run \"{self.DEPLOY_COMMAND}\" (Command Palette) to bring it up to "
            "date. Deploy adds the new files and asks about every file you changed: keep yours, or overwrite "
            "it after a backup copy (<name>.<time>.bak); nothing you edited is replaced without asking.",
            {"path": path, "missing": missing})


class InternalError(SidecarError):
    code = ErrorCode.INTERNAL


# ---------------------------------------------------------------------------------------------
# Names
# ---------------------------------------------------------------------------------------------


MODEL_FIELDS = {"sd": "models.sd", "motion_adapter": "models.motionAdapter"}  # the package's model roles


def core_field(name: str, spec: Sequence[Any] = ()) -> str:
    """The wire path of a core `ParamError.field`: run options are top-level, model roles are in
    `models`, the rest is in `params`."""
    if name in MODEL_FIELDS:
        return MODEL_FIELDS[name]
    if name in ("phase", "models") or any(p.name == name and p.group == "run" for p in spec):
        return camel(name)
    return "params." + camel(name)


def formats_of(spec: Sequence[Any]) -> tuple:
    return next(p.choices for p in spec if p.name == "formats")


def check_preset(preset: Optional[str], spec: Sequence[Any]) -> Optional[str]:
    """A preset of the package's definition (None passes), or InvalidParams naming `preset`."""
    if preset is None:
        return None
    try:
        return wire.choice(preset, next(p.choices for p in spec if p.name == "preset"))
    except wire.Bad as exc:
        raise InvalidParams("preset", exc.message) from None


def wire_fields(cls: type, spec: Sequence[Any] = ()) -> List[str]:
    """The wire names of a message class (an expanded field stands for the run options)."""
    names: List[str] = []
    for f in attrs.fields(cls):
        if f.metadata.get("expand"):
            names += [p.wire for p in spec if p.group == "run"]
        else:
            names.append(camel(f.name))
    return names


def read(cls: type, data: Any) -> Any:
    """A request's params as `cls` (wire.py reads them), or InvalidParams naming the field."""
    try:
        return wire.read(cls, data)
    except wire.WireError as exc:
        raise InvalidParams(exc.path or "params", exc.message) from None


Phase = wire.register(NewType("Phase", int), lambda value: wire.choice(value, PHASES))


def _param_check(p: Any):
    """The check of one parameter of the package's definition, by its kind. Ranges of generation
    parameters are the core's job (GenerationParams.validate); run options never reach it."""
    if p.kind == "str":
        return lambda v: wire.text(v, non_empty=p.required)
    if p.kind == "int":
        return wire.whole
    if p.kind == "float":
        if p.group == "run":
            return lambda v: wire.number(v, p.minimum, p.maximum)
        return wire.number
    if p.kind == "choice":
        return lambda v: wire.choice(v, p.choices, p.indexed)
    if p.kind == "choices":
        return lambda v: wire.choice_list(v, p.choices)
    raise InternalError(f"parameter {p.name}: unknown kind {p.kind!r}")


# ---------------------------------------------------------------------------------------------
# Requests
# ---------------------------------------------------------------------------------------------


@attrs.define
class HandshakeParams:
    protocol_version: Any  # any value: a mismatch is answered with ProtocolMismatch, not InvalidParams
    client_name: Text = ""
    open_to_newer_clients = True  # a newer client may send more

    @classmethod
    def from_wire(cls, data: Any) -> "HandshakeParams":
        return read(cls, data)


@attrs.define
class ModelSources:
    sd: Optional[NonEmpty] = None
    motion_adapter: Optional[NonEmpty] = None


@attrs.define
class ModelsParams:
    models: ModelSources = attrs.Factory(ModelSources)
    preset: Optional[NonEmpty] = None  # also the motion modules this few-step preset brings (check_preset)

    @classmethod
    def from_wire(cls, data: Any) -> "ModelsParams":
        return read(cls, data)


@attrs.define
class DownloadParams:
    models: ModelSources = attrs.Factory(ModelSources)
    download_id: Optional[NonEmpty] = None
    preset: Optional[NonEmpty] = None  # also the motion modules this few-step preset brings (check_preset)

    @classmethod
    def from_wire(cls, data: Any) -> "DownloadParams":
        return read(cls, data)


@attrs.define
class GenParams:
    """`GenerateParams.params`: only the fields the client sent; the core fills in its defaults."""

    values: Dict[str, Any]  # GenerationParams field name -> value


@functools.lru_cache(maxsize=8)  # per definition: a reloaded params.py makes new Param objects
def _spec_types(spec: tuple):
    """The request classes whose fields come from the package's definition: (the `params` object,
    `studio/generate`, `studio/export`)."""
    def typed(p: Any) -> Any:
        return wire.register(NewType(f"param_{p.name}", object), _param_check(p))

    def optional(p: Any) -> Any:
        return attrs.field(type=typed(p), default=None)

    params = attrs.make_class("GenerationParamsWire", {
        p.name: attrs.field(type=typed(p)) if p.required else optional(p) for p in spec if p.group == "params"},
        kw_only=True)
    run = {p.name: optional(p) for p in spec if p.group == "run"}
    generate = attrs.make_class("GenerateParamsWire", {
        "phase": attrs.field(type=Phase), **run,
        "models": attrs.field(type=ModelSources, factory=ModelSources), "params": attrs.field(type=params),
        "output_dir": attrs.field(type=AbsPath, default=None), "preview_every": attrs.field(type=Count, default=1),
    }, kw_only=True)
    formats = next(p for p in spec if p.name == "formats")
    export = attrs.make_class("ExportParamsWire", {
        "metadata_path": attrs.field(type=AbsPath), "formats": attrs.field(type=typed(formats))}, kw_only=True)
    return params, generate, export


def _sent(instance: Any) -> Dict[str, Any]:
    return {f.name: getattr(instance, f.name) for f in attrs.fields(type(instance))
            if getattr(instance, f.name) is not None}


@attrs.define
class GenerateParams:
    """`studio/generate`. `run` holds the run options of the package's definition (group "run"),
    by Python name; each is also an attribute: `request.backend`, `request.device`, ..."""

    phase: int
    params: GenParams
    models: ModelSources = attrs.Factory(ModelSources)
    output_dir: Optional[str] = None
    preview_every: int = 1
    run: Dict[str, Any] = attrs.field(factory=dict, metadata={"expand": True})

    def __getattr__(self, name: str) -> Any:
        if name != "run" and name in self.run:
            return self.run[name]
        raise AttributeError(name)

    @classmethod
    def from_wire(cls, data: Any, spec: Sequence[Any]) -> "GenerateParams":
        wire = read(_spec_types(tuple(spec))[1], data)
        run: Dict[str, Any] = {}
        for p in spec:
            if p.group != "run":
                continue
            value = getattr(wire, p.name)
            if value is not None and wire.phase not in p.phases:
                raise InvalidParams(p.wire, f"is a phase {'/'.join(map(str, p.phases))} setting; "
                                            f"phase {wire.phase} does not use it")
            run[p.name] = p.default_for(wire.phase) if value is None else value
        if wire.phase == 1 and run.get("backend") == "blackhole":
            raise InvalidParams("backend", "phase 1 runs in torch only; the blackhole backend is for phases 2 and 3")
        return cls(phase=wire.phase, params=GenParams(_sent(wire.params)), models=wire.models,
                   output_dir=wire.output_dir, preview_every=wire.preview_every, run=run)


@attrs.define
class CancelParams:
    run_id: Optional[NonEmpty] = None
    download_id: Optional[NonEmpty] = None

    @classmethod
    def from_wire(cls, data: Any) -> "CancelParams":
        params = read(cls, data)
        if params.run_id is None and params.download_id is None:
            raise InvalidParams("runId", "give runId (a generation) or downloadId (a download)")
        return params


@attrs.define
class RunsParams:
    output_dir: Optional[AbsPath] = None
    limit: Optional[Count] = None

    @classmethod
    def from_wire(cls, data: Any) -> "RunsParams":
        return read(cls, data)


@attrs.define
class ExportParams:
    metadata_path: str
    formats: List[str]

    @classmethod
    def from_wire(cls, data: Any, spec: Sequence[Any]) -> "ExportParams":
        wire = read(_spec_types(tuple(spec))[2], data)
        return cls(wire.metadata_path, list(wire.formats))


# ---------------------------------------------------------------------------------------------
# Results
# ---------------------------------------------------------------------------------------------


@attrs.define
class PythonInfo:
    version: str
    executable: str


@attrs.define
class Capabilities:
    torch: bool
    diffusers: bool
    ttnn: bool
    mp4: bool


@attrs.define
class PipelineSourceInfo:
    kind: str  # "scratchpad" | "bundle"
    path: str


@attrs.define
class Handshake:
    protocol_version: int
    server_version: str
    python: PythonInfo
    capabilities: Capabilities
    missing: List[str]
    pipeline_source: PipelineSourceInfo


@attrs.define
class ModelStatus:
    role: str  # "sd" | "motionAdapter"
    source: str
    kind: str  # "hub" | "local"
    available: bool
    path: Optional[str]
    size_bytes: Optional[int]
    fix: Optional[str]


@attrs.define
class UnusedField:
    """A field the client gave that this request does not use (model_needs.py), and why."""

    field: str  # wire path, e.g. "models.motionAdapter"
    value: str
    reason: str


@attrs.define
class ModelsStatusResult:
    cache_dir: str
    models: List[ModelStatus]
    unused: List[UnusedField] = attrs.Factory(list)


@attrs.define
class DownloadResult:
    models: List[ModelStatus]


@attrs.define
class TorchInfo:
    version: Optional[str]
    devices: List[str]
    error: Optional[str]


@attrs.define
class TtnnInfo:
    importable: bool
    version: Optional[str]
    error: Optional[str]


@attrs.define
class BlackholeInfo:
    available: bool
    device_count: int
    reason: str


@attrs.define
class TtMetalHomeInfo:
    value: Optional[str]
    valid: bool
    demo_path: Optional[str]
    error: Optional[str]


@attrs.define
class ScratchpadInfo:
    path: str
    deployed: bool
    version: Optional[str]


@attrs.define
class TtnnCheckInfo:
    """The bring-up check of the learner's ttnn_temporal.py (examples/check_ttnn_port.py) in the scratchpad:
    the ttnn venv's interpreter (None: not made yet) and the command to run there."""

    python: Optional[str]
    command: str


@attrs.define
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
    ttnn_check: Optional[TtnnCheckInfo] = None  # None: the package could not say (a broken edit)


@attrs.define
class Timings:
    """`timings` of a result: the core's Timings.to_dict() keys, camelCase on the wire."""

    load_s: float = 0.0
    encode_s: float = 0.0
    first_step_s: Optional[float] = None
    steps_s: List[float] = attrs.Factory(list)
    denoise_s: float = 0.0
    decode_s: float = 0.0
    export_s: float = 0.0
    total_s: float = 0.0


def timings_to_wire(timings: Dict[str, Any]) -> Dict[str, Any]:
    """The wire form of a core timings dict: its known keys, the missing ones at their defaults."""
    return to_wire(Timings(**{f.name: timings[f.name] for f in attrs.fields(Timings) if f.name in timings}))


def params_to_wire(params: Dict[str, Any]) -> Dict[str, Any]:
    """Core GenerationParams.to_dict() -> the wire form of GenerateParams.params."""
    return {camel(k): v for k, v in params.items()}


@attrs.define
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


@attrs.define
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
    coherence: Optional[Dict[str, float]] = None  # the run's temporal-coherence figure (outputs/coherence.py)


@attrs.define
class SkippedFile:
    """A JSON file in an output folder that `studio/runs` did not list, and why (runs.py)."""

    path: str
    reason: str


@attrs.define
class RunsResult:
    runs: List[RunSummary]
    skipped: List[SkippedFile] = attrs.Factory(list)


@attrs.define
class EstimateStages:
    """Seconds per stage of an estimated run (runtime/estimate.py's STAGES)."""

    load_s: float = 0.0
    encode_s: float = 0.0
    denoise_s: float = 0.0
    decode_s: float = 0.0
    export_s: float = 0.0
    other_s: float = 0.0


ESTIMATE_BASES = ("job", "scaled", "calibration", "reference", "none")


@attrs.define
class EstimateResult:
    """`studio/estimate`: how long `studio/generate` with the same params would take here. `total_s` None:
    no estimate (`note` says why); `basis` says what it rests on (ESTIMATE_BASES)."""

    total_s: Optional[float]
    stages: Optional[EstimateStages]
    basis: str
    runs: int
    note: str
    models_loaded: bool

    @classmethod
    def from_package(cls, found: Dict[str, Any], models_loaded: bool) -> "EstimateResult":
        """The lesson package's estimate_run() answer, checked: an edited copy's odd answer is an error here."""
        basis = str(found.get("basis"))
        if basis not in ESTIMATE_BASES:
            raise InternalError(f"estimate_run answered an unknown basis {basis!r}")
        total = found.get("total_s")
        stages = found.get("stages") or {}
        return cls(None if total is None else float(total),
                   EstimateStages(**{k: float(v) for k, v in stages.items()}) if total is not None else None,
                   basis, int(found.get("runs") or 0), str(found.get("note") or ""), models_loaded)


@attrs.define
class CancelResult:
    cancelled: bool


@attrs.define
class ExportResult:
    outputs: Dict[str, str]
    metadata_path: str


# ---------------------------------------------------------------------------------------------
# Notifications
# ---------------------------------------------------------------------------------------------


@attrs.define
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


@attrs.define
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


@attrs.define
class FrameDone:
    run_id: str
    frame: int
    total_frames: int
    png: str


@attrs.define
class DownloadProgress:
    download_id: str
    source: str
    file: str
    bytes: int
    total_bytes: int  # 0 while unknown


@attrs.define
class LogMessage:
    level: str
    message: str
