"""One generation at a time, on one worker thread, with progress, previews, cancel and clean failure.

`Runner.submit` refuses a second generation while one runs (`Busy`, no queue: the client
decides). The worker reloads edited user modules, validates the parameters with the pipeline's
own rules, takes the models from the cache, runs the user's pipeline and writes the outputs with
the user's `finish_run` (outputs first, metadata JSON last). A cancelled or failed run writes
nothing: the pipeline raises before export, and the export itself is atomic.

Exceptions are sorted by class *name* (Cancelled, ParamError, ModelNotFound, BackendUnavailable)
rather than identity, because reloading the user's modules creates new classes.
"""

from __future__ import annotations

import logging
import queue
import secrets
import threading
import time
import traceback
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional

from . import __version__
from .images import png_base64
from .model_cache import ModelCache
from .protocol import (FRAME_DONE_MAX_SIDE, PREVIEW_MAX_FRAMES, PREVIEW_MAX_SIDE, BackendUnavailable, Busy, ExportParams, ExportResult,
                       FrameDone, GenerateParams, GenerateResult, InternalError, InvalidParams, ModelNotFound, Notify,
                       Preview, Progress, RequestCancelled, SidecarError, core_field, timings_to_wire)
from .output_folder import check_output_folder, output_errors
from .user_code import UserCode

log = logging.getLogger(__name__)

NotifyFn = Callable[[str, Any], None]


def new_run_id(phase: int) -> str:
    return f"{time.strftime('%Y%m%d-%H%M%S')}-p{phase}-{secrets.token_hex(3)}"


@dataclass
class Job:
    request: Any  # GenerateParams, or ExportParams for a re-export
    run_id: str
    request_id: Any = None  # JSON-RPC id of the studio/generate request, for $/cancelRequest
    future: Future = field(default_factory=Future)
    cancel_requested: threading.Event = field(default_factory=threading.Event)
    token: Any = None  # the user's CancelToken, once created on the worker
    timings: Any = None  # what is known so far, for a cancelled run's result
    reloaded: List[str] = field(default_factory=list)
    models_reloaded: bool = False

    def cancel(self) -> bool:
        """False when the run is past the point of no return (its outputs are being renamed into
        place): it will complete, so the cancel is refused rather than acknowledged and ignored."""
        token = self.token
        if token is not None and token.cancel() is False:
            return False
        self.cancel_requested.set()
        token = self.token  # the worker may have made it meanwhile; it also checks the event
        if token is not None:
            token.cancel()
        return True


def _names(exc: BaseException) -> List[str]:
    return [cls.__name__ for cls in type(exc).__mro__]


class Runner:
    def __init__(self, code: UserCode, cache: ModelCache, notify: NotifyFn, record_writer=None):
        self.code = code
        self.cache = cache
        self.notify = notify
        self.record_writer = record_writer  # optional: (job, final latents, params, output, run_info) -> path
        self._lock = threading.Lock()
        self._current: Optional[Job] = None
        self._idle = threading.Event()
        self._idle.set()
        self._queue: "queue.Queue[Optional[Job]]" = queue.Queue()
        self._thread = threading.Thread(target=self._loop, name="generation", daemon=True)
        self._thread.start()

    # -- client-facing ---------------------------------------------------------------------------
    def submit(self, request: GenerateParams, request_id: Any = None) -> Job:
        return self._submit(Job(request, new_run_id(request.phase), request_id))

    def submit_export(self, request: ExportParams, request_id: Any = None) -> Job:
        return self._submit(Job(request, f"export-{secrets.token_hex(3)}", request_id))

    def _submit(self, job: Job) -> Job:
        with self._lock:
            if self._current is not None:
                raise Busy(self._current.run_id)
            self._current = job
            self._idle.clear()
        self._queue.put(job)
        return job

    def cancel(self, run_id: Optional[str] = None, request_id: Any = None) -> bool:
        with self._lock:
            job = self._current
        if job is None:
            return False
        if (run_id is not None and job.run_id == run_id) or (request_id is not None and job.request_id == request_id):
            return job.cancel()
        return False

    def cancel_all(self) -> None:
        with self._lock:
            job = self._current
        if job is not None:
            job.cancel()

    @property
    def current_run_id(self) -> Optional[str]:
        job = self._current
        return job.run_id if job else None

    def wait_idle(self, timeout: float) -> bool:
        return self._idle.wait(timeout)

    # -- worker ----------------------------------------------------------------------------------
    def _loop(self) -> None:
        while True:
            job = self._queue.get()
            if job is None:
                return
            try:
                result = self._export(job) if isinstance(job.request, ExportParams) else self._run(job)
            except BaseException as exc:  # noqa: BLE001 - every failure becomes an error response
                if "Cancelled" in _names(exc) and not isinstance(job.request, ExportParams):
                    self._finish(job, result=self.cancelled_result(job))
                else:
                    self._finish(job, error=self._classify(exc, job))
            else:
                self._finish(job, result=result)

    def _finish(self, job: Job, result: Any = None, error: Optional[BaseException] = None) -> None:
        with self._lock:
            self._current = None  # free before answering: the next generate may follow at once
            self._idle.set()
        if error is not None:
            job.future.set_exception(error)
        else:
            job.future.set_result(result)

    def _classify(self, exc: BaseException, job: Job) -> BaseException:
        if isinstance(exc, SidecarError):
            return exc
        names = _names(exc)
        if "ParamError" in names:
            spec = self.code.api().PARAMETERS
            return InvalidParams(core_field(getattr(exc, "field", "params"), spec), getattr(exc, "message", str(exc)))
        if "ModelNotFound" in names:
            return ModelNotFound(str(exc), getattr(exc, "what", "model"), getattr(exc, "source", ""),
                                 getattr(exc, "looked_in", ""), getattr(exc, "fix", ""))
        if "BackendUnavailable" in names:
            return BackendUnavailable(str(exc))
        user_error = self.code.user_code_error(exc)
        if user_error is not None:
            return user_error
        log.error("run %s failed:\n%s", job.run_id, "".join(traceback.format_exception(type(exc), exc, exc.__traceback__)))
        return InternalError(f"{type(exc).__name__}: {exc}",
                             {"type": type(exc).__name__, "message": str(exc),
                              "traceback": "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))})

    def _run(self, job: Job) -> GenerateResult:
        req = job.request
        self.code.activate()
        reloaded = self.code.refresh()
        job.reloaded = reloaded
        if reloaded:
            log.info("reloaded %s", ", ".join(reloaded))
        api = self.code.api()
        params = api.GenerationParams(**req.params.values)
        params.validate()  # ranges, before anything heavy is imported or loaded
        job.token = api.cancel_token()
        if job.cancel_requested.is_set():
            job.token.cancel()
        job.token.raise_if_cancelled()  # cancelled before it started: do not even load the models
        out_dir = Path(req.output_dir) if req.output_dir else self.code.source.path / "output"
        check_output_folder(out_dir)  # before any model work: a folder problem is not worth a whole run
        timings = api.new_timings()
        job.timings = timings
        tracker = _Tracker(self.notify, job, params, req, timings)
        tracker.stage("loading")

        if req.phase in (2, 3) and req.backend == "blackhole":
            status = api.detect_blackhole()
            if not status.available:
                raise BackendUnavailable(f"backend 'blackhole' cannot run here: {status.reason}. "
                                         "Use backend 'torch' to run the same algorithm on the CPU.")
        sd_source = req.models.sd or api.default_source("sd")
        adapter_source = None
        preset = req.run.get("preset") if req.phase == 1 and hasattr(api, "check_preset") else None
        if preset is not None:
            api.check_preset(preset, params)  # e.g. Lightning steps that match no checkpoint, before loading
        if api.needs_motion_adapter(req.phase) and (preset is None or api.preset_uses_adapter_setting(preset)):
            adapter_source = req.models.motion_adapter or api.default_source("motion_adapter")
        # (the other presets bring their own motion module: the motionAdapter setting is quality's)
        loaded = self.cache.load(sd_source, adapter_source, req.device, req.run.get("dtype"), preset, params.steps)
        timings.load_s = loaded.load_s
        job.models_reloaded = loaded.models_reloaded
        job.token.raise_if_cancelled()
        tracker.stage("encoding")

        pipeline = self.cache.pipeline(req.phase, loaded, adapter_source, req.backend, preset)
        frames = api.generate(pipeline, req.phase, params, req.run, on_step=tracker.on_step,
                              on_frame=tracker.on_frame, cancel=job.token, timings=timings)
        job.token.raise_if_cancelled()  # a cancel that came during the last decode still wins

        tracker.stage("exporting")
        describe = pipeline.describe()
        output = out_dir / f"{job.run_id}.gif"
        run_info = {
            **describe,
            "run_id": job.run_id,
            "models_reloaded": loaded.models_reloaded,
            "reloaded_modules": reloaded,
            "pipeline_source": {"kind": self.code.source.kind, "path": str(self.code.source.path)},
            "sidecar_version": __version__,
        }
        with output_errors():
            result = api.finish_run(frames, params, output, timings, run_info, loaded.device, job.token)
        if self.record_writer is not None and tracker.final_latents:
            # After the metadata: a record exists only beside a finished run. A crash in between
            # leaves a finished run that cannot be re-exported, never an orphan record.
            try:
                self.record_writer(job, tracker.final_latents, params, output, run_info, api.atomic_path)
            except Exception as exc:  # noqa: BLE001 - the record is a convenience, never a reason to fail
                log.warning("could not write the run record: %s", exc)
        meta = result.metadata
        return GenerateResult(
            run_id=job.run_id,
            status="completed",
            outputs=dict(result.outputs),
            metadata_path=str(result.metadata_path),
            backend=str(describe.get("backend", "torch")),
            backend_reason=str(describe.get("backend_reason") or "phase 1 runs diffusers' AnimateDiff in torch"),
            device=str(describe.get("device", "")),
            timings=timings_to_wire(meta.get("timings", timings.to_dict())),
            models_reloaded=loaded.models_reloaded,
            reloaded_modules=reloaded,
        )

    def _export(self, job: Job) -> ExportResult:
        """Decode a finished run's recorded latents with the VAE and write more formats."""
        from .record import read_metadata, read_run_record, record_latents, record_path_for

        req: ExportParams = job.request
        meta_path = Path(req.metadata_path)
        try:
            meta = read_metadata(meta_path)
        except (OSError, ValueError) as exc:
            raise InvalidParams("metadataPath", f"cannot read a run's metadata there ({exc})") from exc
        if not isinstance(meta, dict) or not isinstance(meta.get("outputs"), dict):
            raise InvalidParams("metadataPath", "this JSON is not the metadata of a run")
        record_file = record_path_for(meta_path.with_suffix(".gif"))
        if not record_file.is_file():
            raise InvalidParams("metadataPath", f"this run has no run record ({record_file.name}); "
                                                "only runs made by the sidecar can be re-exported")
        payload = read_run_record(record_file)
        self.code.refresh()
        api = self.code.api()
        sd_source = (payload.get("models") or {}).get("sd", {}).get("source") or api.default_source("sd")
        loaded = self.cache.load(sd_source, None, "auto" if payload.get("phase") == 1 else "cpu")
        token = api.cancel_token()
        job.token = token
        if job.cancel_requested.is_set():
            token.cancel()
        latents = record_latents(payload)
        frames = []
        for index in range(latents.shape[0]):
            if token.cancelled:
                raise RequestCancelled("export cancelled; nothing was written")
            frames.append(api.decode_frame(loaded.sd, latents[index:index + 1]))
        gif_path = Path(meta["outputs"].get("gif") or meta_path.with_suffix(".gif"))
        fps = int(payload.get("params", {}).get("fps") or meta.get("params", {}).get("fps") or 8)
        check_output_folder(gif_path.parent)

        def metadata(written: Dict[str, str]) -> Dict[str, Any]:
            return {**meta, "outputs": {**meta["outputs"], **written}}

        try:
            with output_errors():
                _written, updated = api.write_outputs(frames, gif_path, fps, req.formats, metadata, meta_path,
                                                         check=token.raise_if_cancelled, commit=token.commit)
        except Exception as exc:  # noqa: BLE001
            if "Cancelled" in _names(exc):
                raise RequestCancelled("export cancelled; nothing was written") from exc
            raise
        return ExportResult(dict(updated["outputs"]), str(meta_path))

    def cancelled_result(self, job: Job) -> GenerateResult:
        timings = timings_to_wire(job.timings.to_dict() if job.timings is not None else {})
        return GenerateResult(run_id=job.run_id, status="cancelled", outputs={}, metadata_path=None,
                              backend="", backend_reason="cancelled", device="", timings=timings,
                              models_reloaded=job.models_reloaded, reloaded_modules=list(job.reloaded))

    def stop(self) -> None:
        self.cancel_all()
        self._queue.put(None)


class _Tracker:
    """Turns the pipeline's StepEvent/FrameEvent callbacks into progress/preview/frameDone."""

    def __init__(self, notify: NotifyFn, job: Job, params: Any, req: GenerateParams, timings: Any):
        self.notify = notify
        self.timings = timings
        self.job = job
        self.phase = req.phase
        self.preview_every = req.preview_every
        self.total_frames = int(params.num_frames)
        self.total_steps = int(params.steps)
        self.started = time.perf_counter()
        self.final_latents: Dict[int, Any] = {}  # frame (or -1 for Phase 1's video) -> latents

    def elapsed(self) -> float:
        return time.perf_counter() - self.started

    def _send(self, method: str, payload: Any) -> None:
        try:
            self.notify(method, payload)
        except Exception as exc:  # noqa: BLE001 - a lost notification must not fail the run
            log.debug("notification %s not sent: %s", method, exc)

    def stage(self, stage: str, step: int = 0, frame: Optional[int] = None, eta: Optional[float] = None) -> None:
        self._send(Notify.PROGRESS, Progress(self.job.run_id, self.phase, stage, step, self.total_steps, frame,
                                             self.total_frames, round(self.elapsed(), 3), eta))

    def on_step(self, event: Any) -> None:
        self.total_steps = int(event.total_steps)
        frame = event.frame
        units_total = self.total_steps * (int(event.total_frames) if frame is not None else 1)
        units_done = (frame or 0) * self.total_steps + int(event.step)
        eta = None
        first = getattr(self.timings, "first_step_s", None)
        if units_done > 0 and first is not None:  # time per UNet step since the first one began
            rate = max(0.0, self.timings.elapsed() - first) / units_done
            eta = round(rate * (units_total - units_done), 3)
        self._send(Notify.PROGRESS, Progress(self.job.run_id, self.phase, "denoising", int(event.step),
                                             self.total_steps, frame, int(event.total_frames),
                                             round(self.elapsed(), 3), eta))
        last = int(event.step) == self.total_steps
        latents = getattr(event, "latents", None)
        if latents is not None and last:
            self.final_latents[-1 if frame is None else frame] = latents.detach().float().cpu().clone()
        if event.previews and (int(event.step) % self.preview_every == 0 or last):
            # At most PREVIEW_MAX_FRAMES small images, so one message stays bounded whatever
            # the user's pipeline hands over.
            encoded = [png_base64(image, PREVIEW_MAX_SIDE) for image in event.previews[:PREVIEW_MAX_FRAMES]]
            self._send(Notify.PREVIEW, Preview(self.job.run_id, self.phase, int(event.step), self.total_steps, frame,
                                               int(event.total_frames), encoded[0][1], encoded[0][2],
                                               [e[0] for e in encoded]))
        if last:
            self.stage("decoding", int(event.step), frame, eta)

    def on_frame(self, event: Any) -> None:
        png, _w, _h = png_base64(event.image, FRAME_DONE_MAX_SIDE)
        latents = getattr(event, "latents", None)
        if latents is not None:
            self.final_latents[int(event.frame)] = latents.detach().float().cpu().clone()
        self._send(Notify.FRAME_DONE, FrameDone(self.job.run_id, int(event.frame), int(event.total_frames), png))
