"""The JSON-RPC server: pygls' JsonRPCServer over the guarded stdio, one handler per method.

Handlers validate their params with protocol.py, do cheap work inline and heavy work off the event
loop (generation on the runner's worker thread, environment and downloads on executor threads),
and turn every `SidecarError` into a JSON-RPC error with its code and data.

`$/cancelRequest` is handled here rather than by pygls (which can only cancel requests that have
not started): it cancels the generation, export or download that request started. A cancel that
arrives before that work exists (the handler is still reading the request or sweeping the output
folder, or has not even started: both frames came in one read) is remembered for as long as the
request is in flight, and the handler answers "cancelled" instead of starting the work.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import os
import secrets
import sys
import threading
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, Callable, Dict, Optional

import cattrs
from pygls.exceptions import JsonRpcException
from pygls.protocol import JsonRPCNotification, JsonRPCProtocol, JsonRPCRequestMessage, JsonRPCResponseMessage
from pygls.io_ import StdoutWriter
from pygls.server import JsonRPCServer

from . import __version__
from .protocol import (OUTPUT_FORMATS, PROTOCOL_VERSION, BackendUnavailable, CancelParams, CancelResult,
                       DownloadParams, DownloadResult, EstimateResult, ExportParams, GenerateParams, Handshake,
                       HandshakeParams, InternalError, InvalidParams, LogMessage, Method, ModelsParams,
                       ModelsStatusResult, Notify, PipelineSourceInfo, ProtocolMismatch, RequestCancelled,
                       RunsParams, RunsResult, SidecarError, check_preset, to_wire)
from .stdio_guard import Guard
from .user_code import PipelineSource, UserCode
from .wire import shown

log = logging.getLogger("animatediff_sidecar")


class SidecarProtocol(JsonRPCProtocol):
    """JSON-RPC 2.0 with params kept as plain dicts (protocol.py validates them) and our own
    `$/cancelRequest`."""

    def structure_message(self, data: Dict[str, Any]):
        if "jsonrpc" not in data:
            return data  # a nested object: json.loads calls this hook bottom-up
        if "method" in data:
            if "id" in data:
                return JsonRPCRequestMessage(id=data["id"], method=data["method"], jsonrpc=data["jsonrpc"],
                                             params=data.get("params"))
            return JsonRPCNotification(method=data["method"], jsonrpc=data["jsonrpc"], params=data.get("params"))
        if "error" in data:
            from lsprotocol.types import ResponseError, ResponseErrorMessage

            err = data["error"] or {}
            return ResponseErrorMessage(id=data.get("id"), error=ResponseError(
                code=int(err.get("code", -32603)), message=str(err.get("message", "")), data=err.get("data")))
        return JsonRPCResponseMessage(id=data.get("id"), jsonrpc=data["jsonrpc"], result=data.get("result"))

    def _handle_notification(self, method_name: str, params: Any):
        if method_name == Method.CANCEL_REQUEST:
            request_id = params.get("id") if isinstance(params, dict) else None
            self._server.cancel_request(request_id)  # type: ignore[attr-defined]
            return
        super()._handle_notification(method_name, params)


def _rpc_error(exc: BaseException) -> JsonRpcException:
    """The JSON-RPC error for any exception: SidecarErrors keep their code and data; anything else
    is a bug here, reported as -32603 with its traceback (and logged)."""
    if not isinstance(exc, SidecarError):
        trace = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        log.error("internal error: %s", trace)
        exc = InternalError(f"{type(exc).__name__}: {exc}", {"type": type(exc).__name__, "message": str(exc),
                                                               "traceback": trace})
    return JsonRpcException(message=exc.message, code=exc.code, data=exc.data)


def _sync_handler(fn: Callable[[Any], Any]) -> Callable[[Any], Any]:
    @functools.wraps(fn)
    def handler(params: Any) -> Any:
        try:
            return to_wire(fn(params))
        except Exception as exc:  # noqa: BLE001 - every failure is an error response
            raise _rpc_error(exc) from None

    return handler


def _async_handler(fn):
    @functools.wraps(fn)
    async def handler(params: Any) -> Any:
        try:
            return to_wire(await fn(params))
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - every failure is an error response
            raise _rpc_error(exc) from None

    return handler


@dataclass
class _Download:
    download_id: str
    request_id: Any
    cancel: threading.Event = field(default_factory=threading.Event)


class Sidecar(JsonRPCServer):
    def __init__(self, source: PipelineSource, guard: Optional[Guard] = None):
        super().__init__(SidecarProtocol, cattrs.Converter)
        self.source = source
        self.guard = guard
        self.code = UserCode(source)
        self.code.activate()
        self._runner = None
        self._runner_lock = threading.Lock()
        self._downloads: Dict[str, _Download] = {}
        self._early_cancels: set = set()  # ids of requests cancelled before their work was handed off
        self._shutdown_requested = False
        self._cleaned: set = set()  # output folders already swept in this process
        self._clean_lock = threading.Lock()
        self._register()

    # -- infrastructure -------------------------------------------------------------------------
    def start_io(self, stdin: Optional[BinaryIO] = None, stdout: Optional[BinaryIO] = None) -> None:
        """pygls' start_io with our frame reader (framing.py), which recovers from malformed
        frames instead of going deaf."""
        from .framing import serve_frames

        self._stop_event = threading.Event()
        self.protocol.set_writer(StdoutWriter(stdout or sys.stdout.buffer))
        try:
            asyncio.run(serve_frames(self._stop_event, stdin or sys.stdin.buffer,
                                     lambda body: _dispatch(self.protocol, body),
                                     lambda item: _answer_malformed(self.protocol, item)))
        except BrokenPipeError:
            log.error("the client is gone (broken pipe)")
        except (KeyboardInterrupt, SystemExit):
            pass
        finally:
            self.shutdown()

    @property
    def runner(self):
        """Created on first use: it imports nothing heavy, but keeps the handshake path minimal."""
        with self._runner_lock:
            if self._runner is None:
                from .model_cache import ModelCache
                from .record import write_run_record
                from .runner import Runner

                self._runner = Runner(self.code, ModelCache(self.code), self.send, record_writer=write_run_record)
            return self._runner

    def parameters(self):
        """The lesson package's parameter definition, which shapes the generate request."""
        return self.api().PARAMETERS

    def send(self, method: str, payload: Any) -> None:
        self.protocol.notify(method, to_wire(payload))

    def send_log(self, level: str, message: str) -> None:
        self.protocol.notify(Notify.LOG, to_wire(LogMessage(level, message)))

    def report_server_error(self, error: Exception, source: Any) -> None:
        if isinstance(error, JsonRpcException):
            return  # an error response the client got (internal ones were logged when made)
        log.error("server error (%s): %s", getattr(source, "__name__", source), error)

    def cancel_request(self, request_id: Any) -> None:
        """Runs on the event loop, like the handlers between their awaits: no lock is needed."""
        if request_id is None:
            return
        if self._runner is not None and self._runner.cancel(request_id=request_id):
            return
        for download in list(self._downloads.values()):
            if download.request_id == request_id:
                download.cancel.set()
                return
        # A request still in flight whose work has not started: remember, until it is answered.
        future = self.protocol._request_futures.get(request_id)
        if future is not None and not future.done() and request_id not in self._early_cancels:
            self._early_cancels.add(request_id)
            future.add_done_callback(lambda _f: self._early_cancels.discard(request_id))

    def cancelled_before_start(self, request_id: Any) -> bool:
        """Whether `$/cancelRequest` came for this request before its handler handed the work off."""
        if request_id in self._early_cancels:
            log.info("request %s was cancelled before its work started: nothing was loaded or written", request_id)
            return True
        return False

    def cancel_everything(self) -> None:
        if self._runner is not None:
            self._runner.cancel_all()
        for download in list(self._downloads.values()):
            download.cancel.set()

    def output_dir(self, requested: Optional[str]) -> Path:
        return Path(requested) if requested else self.source.path / "output"

    def sweep_output_folder(self, folder: Path) -> None:
        """The first time this process uses a folder (so: after every restart), remove what a run
        interrupted by a crash left there - the lesson's export.clean_interrupted, which knows its
        own temporary names and touches nothing else."""
        with self._clean_lock:
            if str(folder) in self._cleaned:
                return
            self._cleaned.add(str(folder))
        try:
            removed = self.code.api().clean_interrupted(folder)
        except Exception as exc:  # noqa: BLE001 - a sweep is housekeeping, never a reason to fail a request
            log.warning("could not clean up %s: %s", folder, exc)
            return
        if removed:
            log.info("removed what an interrupted run left in %s: %s", folder, ", ".join(removed))

    # -- handlers -------------------------------------------------------------------------------
    def _register(self) -> None:
        feature = self.feature
        feature(Method.HANDSHAKE)(_sync_handler(self.handshake))
        feature(Method.ENVIRONMENT)(_async_handler(self.environment))
        feature(Method.MODELS_STATUS)(_async_handler(self.models_status))
        feature(Method.DOWNLOAD_MODELS)(_async_handler(self.download_models))
        feature(Method.GENERATE)(_async_handler(self.generate))
        feature(Method.CANCEL)(_sync_handler(self.cancel))
        feature(Method.RUNS)(_async_handler(self.runs))
        feature(Method.EXPORT)(_async_handler(self.export))
        feature(Method.ESTIMATE)(_async_handler(self.estimate))
        feature(Method.SHUTDOWN)(_async_handler(self.shutdown_request))
        feature(Method.EXIT)(lambda params=None: self.exit_notification(params))

    def handshake(self, params: Any) -> Handshake:
        from .environment import capabilities, python_info

        request = HandshakeParams.from_wire(params)
        if request.protocol_version != PROTOCOL_VERSION:
            raise ProtocolMismatch(request.protocol_version, __version__)
        if request.client_name:
            log.info("client: %s", shown(request.client_name))
        caps, missing = capabilities()
        return Handshake(PROTOCOL_VERSION, __version__, python_info(), caps, missing,
                         PipelineSourceInfo(self.source.kind, str(self.source.path)))

    async def environment(self, params: Any):
        from .environment import environment

        request = ModelsParams.from_wire(params)  # {} or {models}: the models whose status to include
        return await asyncio.to_thread(environment, self.code, request.models)

    def api(self):
        """The lesson package's contract module (torch-free to import); a broken edit is the learner's error."""
        try:
            return self.code.api()
        except SidecarError:
            raise
        except Exception as exc:  # noqa: BLE001
            raise self.code.user_code_error(exc) or SidecarError(f"{type(exc).__name__}: {exc}") from exc

    async def models_status(self, params: Any) -> ModelsStatusResult:
        from .downloads import models_status
        from .model_needs import unused_fields

        request = ModelsParams.from_wire(params)
        preset = check_preset(request.preset, self.parameters())
        api = self.api()
        sources = {"sd": request.models.sd, "motionAdapter": request.models.motion_adapter}
        statuses = await asyncio.to_thread(models_status, sources, api, preset)
        return ModelsStatusResult(api.hub_cache_dir(), statuses, unused_fields(sources, api, None, preset))

    async def download_models(self, params: Any) -> DownloadResult:
        from .downloads import download_request
        from .model_needs import describe_unused, unused_fields

        request = DownloadParams.from_wire(params)
        preset = check_preset(request.preset, self.parameters())
        sources = {"sd": request.models.sd, "motionAdapter": request.models.motion_adapter}
        unused = unused_fields(sources, self.api(), None, preset)
        if unused:
            log.warning("%s", describe_unused(unused))
        download_id = request.download_id or f"download-{secrets.token_hex(4)}"
        if download_id in self._downloads:
            raise InvalidParams("downloadId", f"a download with id {shown(download_id)!r} is already running")
        entry = _Download(download_id, self.protocol.msg_id)
        if self.cancelled_before_start(entry.request_id):
            entry.cancel.set()  # answered RequestCancelled before a byte is fetched
        self._downloads[download_id] = entry
        try:
            return await asyncio.to_thread(lambda: download_request(sources, self.api(), download_id, entry.cancel,
                                                                    self.send, preset))
        finally:
            self._downloads.pop(download_id, None)

    def _require_pipeline_libraries(self, formats, field_path: str) -> None:
        """Fail fast, with what to install, when this Python cannot run a pipeline at all."""
        from .environment import capabilities

        caps, missing = capabilities()
        if not (caps.torch and caps.diffusers):
            absent = [m for m in missing if m.split(" ")[0] in ("torch", "diffusers", "transformers")]
            raise BackendUnavailable(
                f"{sys.executable} cannot run the pipeline: missing {'; '.join(absent)}. Install the lesson's "
                "requirements into this Python (pip install -e python/tt-animatediff) or pick another interpreter.")
        if "mp4" in formats and not caps.mp4:
            raise InvalidParams(field_path, "mp4 needs imageio and imageio-ffmpeg in this Python "
                                            "(pip install imageio imageio-ffmpeg); or ask for gif/webp")

    async def generate(self, params: Any):
        request = GenerateParams.from_wire(params, self.parameters())
        self._require_pipeline_libraries(request.params.values.get("formats", ()), "params.formats")
        msg_id = self.protocol.msg_id
        await asyncio.to_thread(self.sweep_output_folder, self.output_dir(request.output_dir))
        if self.cancelled_before_start(msg_id):
            from .generation import GenerateJob

            return GenerateJob(request, msg_id).cancelled_result()  # no model loaded, nothing written
        job = self.runner.submit(request, request_id=msg_id)
        return await asyncio.wrap_future(job.future)

    def cancel(self, params: Any) -> CancelResult:
        request = CancelParams.from_wire(params)
        if request.run_id is not None:
            return CancelResult(self._runner is not None and self._runner.cancel(run_id=request.run_id))
        download = self._downloads.get(request.download_id or "")
        if download is None:
            return CancelResult(False)
        download.cancel.set()
        return CancelResult(True)

    async def runs(self, params: Any) -> RunsResult:
        from .runs import list_runs

        request = RunsParams.from_wire(params)
        folder = self.output_dir(request.output_dir)

        def swept_runs():  # needs none of the lesson's code: past runs list even when it is broken
            self.sweep_output_folder(folder)
            return list_runs(folder, OUTPUT_FORMATS, request.limit)

        return RunsResult(*await asyncio.to_thread(swept_runs))

    async def estimate(self, params: Any) -> EstimateResult:
        """How long studio/generate with these params would take here (the package's estimate_run). The
        calibration it may need waits until no run is in progress: it would slow the run and be slowed by it."""
        from .failures import classify
        from .generation import models_of

        request = GenerateParams.from_wire(params, self.parameters())
        runner = self.runner
        api = self.api()

        def work() -> EstimateResult:
            generation = api.GenerationParams(**request.params.values)
            generation.validate()
            sd_source, adapter_source, preset = models_of(request, api)
            steps = generation.steps if preset is not None else None
            loaded = runner.cache.holds(sd_source, adapter_source, request.device, request.run.get("dtype"), preset,
                                        steps, phase=request.phase, backend=request.run.get("backend"))
            found = api.estimate_run(request.phase, generation, request.run, self.output_dir(request.output_dir),
                                     loaded, runner.current_run_id is None)
            return EstimateResult.from_package(found, loaded)

        try:
            return await asyncio.to_thread(work)
        except Exception as exc:  # noqa: BLE001 - sorted into the error the client can act on
            raise classify(exc, self.code, "estimate") from None

    async def export(self, params: Any):
        request = ExportParams.from_wire(params, self.parameters())
        self._require_pipeline_libraries(request.formats, "formats")
        msg_id = self.protocol.msg_id
        await asyncio.to_thread(self.sweep_output_folder, Path(request.metadata_path).parent)
        if self.cancelled_before_start(msg_id):
            raise RequestCancelled("export cancelled before it started; nothing was written")
        return await asyncio.wrap_future(self.runner.submit_export(request, request_id=msg_id).future)

    async def shutdown_request(self, params: Any) -> None:
        self._shutdown_requested = True
        self.cancel_everything()
        if self._runner is not None:
            await asyncio.to_thread(self._runner.wait_idle, 30.0)
        self.protocol._shutdown = True  # pygls: from now on only `exit` is handled
        return None

    def exit_notification(self, params: Any = None) -> None:
        _hard_exit(0 if self._shutdown_requested else 1)


def _answer_malformed(protocol: JsonRPCProtocol, item: Any) -> None:
    """-32700 for a frame that was meant as a message (with its id when readable); log the rest."""
    log.warning("skipped %d malformed bytes from the client: %s", item.size, item.reason)
    if item.looks_like_a_message:
        protocol._send_data({"jsonrpc": "2.0", "id": item.request_id,
                             "error": {"code": -32700, "message": f"Parse error: {item.reason}"}})


def _dispatch(protocol: JsonRPCProtocol, body: bytes) -> None:
    message = json.loads(body, object_hook=protocol.structure_message)
    if isinstance(message, (dict, list)) or not hasattr(message, "jsonrpc"):  # JSON, but not a JSON-RPC message
        request_id = message.get("id") if isinstance(message, dict) else None
        protocol._send_data({"jsonrpc": "2.0", "id": request_id,
                             "error": {"code": -32600, "message": "Invalid Request: not a JSON-RPC 2.0 message"}})
        return
    try:
        protocol.handle_message(message)
    except Exception as exc:  # noqa: BLE001 - one bad message must not stop the reader
        log.error("could not handle a message: %s", exc)


def _hard_exit(code: int) -> None:
    """Leave now: worker threads may be blocked in native code, and stdin may stay open."""
    logging.shutdown()
    os._exit(code)


def configure_logging(guard: Optional[Guard], sidecar: Optional[Sidecar], verbose: bool) -> None:
    logging.getLogger("pygls").setLevel(logging.CRITICAL)  # it logs every message and every error response

    class Bridge(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            try:
                text = self.format(record)
                stream = guard.real_stderr if guard is not None else sys.__stderr__
                stream.write(f"[sidecar] {record.levelname.lower()}: {text}\n")
                stream.flush()
                if sidecar is not None:
                    level = {"DEBUG": "debug", "INFO": "info", "WARNING": "warning"}.get(record.levelname, "error")
                    sidecar.send_log(level, text)
            except Exception:  # noqa: BLE001
                pass

    handler = Bridge()
    handler.setFormatter(logging.Formatter("%(message)s"))
    log.handlers[:] = [handler]
    log.propagate = False
    log.setLevel(logging.DEBUG if verbose else logging.INFO)


def serve(source: PipelineSource, guard: Guard, verbose: bool = False) -> int:
    sidecar = Sidecar(source, guard)
    configure_logging(guard, sidecar, verbose)
    guard.set_sink(sidecar.send_log)
    log.debug("pipeline source: %s %s", source.kind, source.path)
    try:
        sidecar.start_io(guard.protocol_in, guard.protocol_out)  # returns when stdin closes
    finally:
        guard.set_sink(None)
        sidecar.cancel_everything()  # the client is gone: stop, and leave no half-finished output
        if sidecar._runner is not None:
            sidecar._runner.wait_idle(10.0)
    _hard_exit(0)
    return 0
