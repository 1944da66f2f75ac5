"""The bookkeeping around each denoising step, so that the loops read as the algorithm.

A loop calls `hooks.on_step_begin()` before its UNet call and `hooks.callback_on_step_end(pipe,
step_index, timestep, callback_kwargs)` after its scheduler step - diffusers' own callback
signature (Phase 1 gets the same call from diffusers' `AnimateDiffPipeline`). The hooks time the
step into the run's `Timings`, stop a cancelled run before the next UNet call, and, when someone
listens, publish a `StepEvent` with live previews built by the phase's `make_event`.
"""

from __future__ import annotations

import time
from typing import Any, Callable, Dict, Optional

from .progress import CancelToken, StepCallback, StepEvent
from .timings import Timings

# (step_index, timestep, callback_kwargs) -> the StepEvent to publish; called only when on_step is set,
# so previews cost nothing when nobody watches.
MakeEvent = Callable[[int, Any, Dict[str, Any]], StepEvent]


class StepHooks:
    def __init__(self, make_event: Optional[MakeEvent] = None, on_step: Optional[StepCallback] = None,
                 cancel: Optional[CancelToken] = None, timings: Optional[Timings] = None):
        self.make_event = make_event
        self.on_step = on_step
        self.cancel = cancel or CancelToken()
        self.timings = timings or Timings()
        self._started = 0.0

    def on_step_begin(self) -> None:
        self.cancel.raise_if_cancelled()
        self._started = time.perf_counter()
        if self.timings.first_step_s is None:
            self.timings.first_step_s = self.timings.elapsed()

    def callback_on_step_end(self, pipe: Any, step_index: int, timestep: Any,
                             callback_kwargs: Dict[str, Any]) -> Dict[str, Any]:
        # The step's time stops here: building previews is the studio's cost, not the algorithm's.
        self.timings.steps.append(time.perf_counter() - self._started)
        if self.on_step is not None and self.make_event is not None:
            self.on_step(self.make_event(step_index, timestep, callback_kwargs))
        return callback_kwargs
