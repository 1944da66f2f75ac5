"""The one callback seam both phases report through, and the cancel token they both obey.

Phase 1 calls `on_step` from diffusers' `callback_on_step_end`; Phase 2 calls it from its own
loop. Phase 2 also calls `on_frame` when a frame is fully decoded.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any, Callable, List, Optional

from PIL import Image


class Cancelled(Exception):
    """Raised inside a run when its CancelToken is set; nothing is written after it."""


class CancelToken:
    """Thread-safe flag: set from anywhere (a UI thread, a signal), checked at every step.

    A run calls `commit()` just before its outputs are renamed into place: a cancel that came
    earlier raises there (nothing is written); one that comes later is refused - `cancel()`
    returns False - because the run will complete."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self._lock = threading.Lock()
        self._committed = False

    def cancel(self) -> bool:
        """Ask the run to stop; False when it is already past the point of no return."""
        with self._lock:
            if self._committed:
                return False
            self._event.set()
            return True

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def raise_if_cancelled(self) -> None:
        if self._event.is_set():
            raise Cancelled("run cancelled")

    def commit(self) -> None:
        with self._lock:
            self.raise_if_cancelled()
            self._committed = True


@dataclass
class StepEvent:
    phase: int
    step: int  # 1-based: this many denoising steps are done (for the current frame in Phase 2)
    total_steps: int
    frame: Optional[int]  # Phase 2: 0-based frame being denoised; Phase 1: None (all frames at once)
    total_frames: int
    elapsed_s: float  # since the run started
    # small RGB previews: Phase 1 one per frame, Phase 2 only the frame being denoised
    previews: List[Image.Image] = field(default_factory=list)
    latents: Optional[Any] = None  # latents after this step (Phase 1: all frames, (1, 4, F, h, w))


@dataclass
class FrameEvent:
    frame: int  # 0-based
    total_frames: int
    image: Image.Image  # fully decoded frame at full size
    elapsed_s: float
    latents: Optional[Any] = None  # the frame's final latents (1, 4, h, w), as given to the VAE


StepCallback = Callable[[StepEvent], None]
FrameCallback = Callable[[FrameEvent], None]
