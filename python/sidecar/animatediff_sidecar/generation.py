"""`studio/generate`: the recipe of one run, step by step, through the package's contract.

A cancelled or failed run writes nothing: the pipeline raises before export, and the export
itself is atomic (outputs first, metadata JSON last, all renamed into place together).
"""

from __future__ import annotations

import logging
import secrets
import time
from pathlib import Path
from typing import Any, List, Optional, Tuple

from . import __version__
from .jobs import Job
from .model_needs import adapter_unused, describe_unused, unused_fields
from .output_folder import check_output_folder, output_errors
from .protocol import GenerateParams, GenerateResult, timings_to_wire
from .tracker import Tracker

log = logging.getLogger(__name__)


def new_run_id(phase: int) -> str:
    return f"{time.strftime('%Y%m%d-%H%M%S')}-p{phase}-{secrets.token_hex(3)}"


def models_of(req: GenerateParams, api: Any) -> Tuple[str, Optional[str], Optional[str]]:
    """(SD source, motion adapter source or None, preset or None) of a request: the phase and the preset
    decide whether the motionAdapter setting counts - the few-step presets bring their own motion module."""
    sd_source = req.models.sd or api.default_source("sd")
    preset = req.run.get("preset") if req.phase == 1 else None
    adapter_source = None
    if adapter_unused(api, req.phase, preset) is None:  # model_needs.py: one answer for every request
        adapter_source = req.models.motion_adapter or api.default_source("motion_adapter")
    return sd_source, adapter_source, preset


def expected_after_steps(api: Any, phase: int, params: Any, run_options: Any, out_dir: Path) -> float:
    """Seconds the run's estimate expects after its last denoising step (decode, export, the rest), from
    this machine's records (no calibration during a run); 0 when it has none, or the copy cannot say."""
    try:
        found = api.estimate_run(phase, params, run_options, out_dir, False, False)
    except Exception as exc:  # noqa: BLE001 - an ETA is never a reason to fail a run
        log.debug("no estimate for the ETA: %s", exc)
        return 0.0
    if found.get("basis") not in ("job", "scaled"):
        return 0.0
    stages = found.get("stages") or {}
    return float(sum(stages.get(k, 0.0) for k in ("decode_s", "export_s", "other_s")))


class GenerateJob(Job):
    def __init__(self, request: GenerateParams, request_id: Any = None):
        super().__init__(request, request_id)
        self.run_id = new_run_id(request.phase)
        self.timings: Any = None  # what is known so far, for a cancelled run's result
        self.reloaded: List[str] = []
        self.models_reloaded = False

    def run(self, runner: Any) -> GenerateResult:
        req: GenerateParams = self.request
        code = runner.code

        # 1. Reload the modules the user edited since the last run (the models stay loaded).
        code.activate()
        self.reloaded = code.refresh()
        if self.reloaded:
            log.info("reloaded %s", ", ".join(self.reloaded))
        api = code.api()

        # 2. Check the parameters with the package's own rules, before anything heavy is imported.
        params = api.GenerationParams(**req.params.values)
        params.validate()

        # 3. A cancel that came before the run started stops it here: no model is even loaded.
        token = self.new_token(api)
        token.raise_if_cancelled()

        # 4. The output folder must take files (a folder problem is not worth a whole run).
        out_dir = Path(req.output_dir) if req.output_dir else code.source.path / "output"
        check_output_folder(out_dir)
        self.timings = timings = api.new_timings()
        tracker = Tracker(runner.notify, self, params, req, timings)
        tracker.stage("loading")

        # 5. Phases 2 and 3: which UNet backend runs, decided once (a card looked for once); the
        # pipeline trusts the choice. A "blackhole" with no card is refused here, before any model loads.
        backend = req.backend
        if req.phase in (2, 3):
            backend = api.resolve_backend(req.phase, req.backend)
            backend.require()
        run_options = {**req.run, "backend": getattr(backend, "resolved", backend)}  # no second look for a card
        tracker.after_steps_s = expected_after_steps(api, req.phase, params, run_options, out_dir)

        # 6. Which models: the SD source, and the motion adapter the phase and preset need (model_needs.py:
        # Phase 2 has no motion modules, the few-step presets bring their own; a given one not used is said).
        sd_source, adapter_source, preset = models_of(req, api)
        if preset is not None:
            api.check_preset(preset, params)  # e.g. Lightning steps that match no checkpoint, before loading
        unused = unused_fields({"motionAdapter": req.models.motion_adapter}, api, req.phase, preset)
        if unused:
            log.warning("%s", describe_unused(unused))

        # 7. Load them (or take them from the cache).
        loaded = runner.cache.load(sd_source, adapter_source, req.device, req.run.get("dtype"), preset, params.steps,
                                   phase=req.phase, backend=getattr(backend, "resolved", backend))
        timings.load_s = loaded.load_s
        self.models_reloaded = loaded.models_reloaded
        token.raise_if_cancelled()
        tracker.stage("encoding")

        # 8. Build the phase's pipeline around them and denoise + decode, reporting each step.
        pipeline = runner.cache.pipeline(req.phase, loaded, adapter_source, backend, preset)
        frames = api.generate(pipeline, req.phase, params, req.run, on_step=tracker.on_step,
                              on_frame=tracker.on_frame, cancel=token, timings=timings)
        token.raise_if_cancelled()  # a cancel that came during the last decode still wins

        # 9. Write every output and the metadata, all together or none.
        tracker.stage("exporting")
        describe = pipeline.describe()
        output = out_dir / f"{self.run_id}.gif"
        run_info = {
            **describe,
            "run_id": self.run_id,
            "models_reloaded": loaded.models_reloaded,
            "reloaded_modules": self.reloaded,
            "pipeline_source": {"kind": code.source.kind, "path": str(code.source.path)},
            "sidecar_version": __version__,
        }
        with output_errors(out_dir):
            result = api.finish_run(frames, params, output, timings, run_info, loaded.device, token)

        # 10. The run record (final latents, for a later re-export), after the metadata: a record
        # exists only beside a finished run. A crash in between costs the re-export, nothing else.
        if runner.record_writer is not None and tracker.final_latents:
            try:
                runner.record_writer(self, tracker.final_latents, params, output, run_info, api.atomic_path)
            except Exception as exc:  # noqa: BLE001 - the record is a convenience, never a reason to fail
                log.warning("could not write the run record: %s", exc)

        # 11. The answer.
        return GenerateResult(
            run_id=self.run_id,
            status="completed",
            outputs=dict(result.outputs),
            metadata_path=str(result.metadata_path),
            backend=str(describe.get("backend", "torch")),
            backend_reason=str(describe.get("backend_reason") or "phase 1 runs diffusers' AnimateDiff in torch"),
            device=str(describe.get("device", "")),
            timings=timings_to_wire(result.metadata.get("timings", timings.to_dict())),
            models_reloaded=loaded.models_reloaded,
            reloaded_modules=self.reloaded,
        )

    def cancelled_result(self) -> Optional[GenerateResult]:
        timings = timings_to_wire(self.timings.to_dict() if self.timings is not None else {})
        return GenerateResult(run_id=self.run_id, status="cancelled", outputs={}, metadata_path=None,
                              backend="", backend_reason="cancelled", device="", timings=timings,
                              models_reloaded=self.models_reloaded, reloaded_modules=list(self.reloaded))
