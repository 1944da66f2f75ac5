"""A run's progress as notifications: the pipeline's StepEvent/FrameEvent callbacks become
studio/progress, studio/preview and studio/frameDone, and the final latents are kept for the run
record."""

from __future__ import annotations

import logging
import time
from typing import Any, Callable, Dict, Optional

from .images import png_base64
from .protocol import FRAME_DONE_MAX_SIDE, PREVIEW_MAX_FRAMES, PREVIEW_MAX_SIDE, FrameDone, Notify, Preview, Progress

log = logging.getLogger(__name__)


class Tracker:
    """Turns the pipeline's StepEvent/FrameEvent callbacks into progress/preview/frameDone."""

    def __init__(self, notify: Callable[[str, Any], None], job: Any, params: Any, req: Any, timings: Any):
        self.notify = notify
        self.timings = timings
        self.job = job
        self.phase = req.phase
        self.preview_every = req.preview_every
        self.total_frames = int(params.num_frames)
        self.total_steps = int(params.steps)
        self.started = time.perf_counter()
        self.final_latents: Dict[int, Any] = {}  # frame (or -1 for Phase 1's video) -> latents
        # What comes after the last step - VAE decode, export, the rest - as studio/estimate expects it (0: unknown):
        # a fifth of a Fast run is the decode, so an ETA of the remaining steps alone would end too soon.
        self.after_steps_s = 0.0

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
            eta = round(rate * (units_total - units_done) + self.after_steps_s, 3)
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
