"""Which UNet backend a run uses, decided once: what was asked, what runs, and why.

`resolve_backend` is the one place that checks the backend's name (ParamError naming `backend`)
and looks for a Blackhole card (at most once). The pipelines, the backend seams and the
Blackhole backends take the `BackendChoice` it returns and trust it. A `blackhole` that cannot run
here is not refused at once: `require()` refuses it where the backend would be built, so a
pipeline can still be made (and described) on a machine without a card.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Optional

from ..params import validate_backend
from .unet_backend import BackendUnavailable

if TYPE_CHECKING:
    from .tt_metal import DeviceStatus

# What the CPU fallback is called in each phase's "cannot run here" sentence.
SAME_ON_CPU = {2: "the same algorithm", 3: "the same frame loop"}
PHASE3_OPT_IN = ("torch: Phase 3 on Blackhole is opt-in (backend 'blackhole') until "
                 "examples/validate_on_blackhole.py has passed on a card")


@dataclass(frozen=True)
class BackendChoice:
    requested: str  # "auto" | "blackhole" | "torch", as asked
    resolved: Optional[str]  # "blackhole" | "torch"; None when "blackhole" was asked and cannot run here
    reason: str  # one sentence for the run record; when resolved is None, why it cannot run
    device: Optional["DeviceStatus"] = None  # what detect_blackhole found, when a card was looked for

    def require(self) -> str:
        """The backend to build; BackendUnavailable when "blackhole" was asked and there is no card."""
        if self.resolved is None:
            raise BackendUnavailable(self.reason)
        return self.resolved


def resolve_backend(requested: str, phase: int) -> BackendChoice:
    """Phase 2: `auto` runs on a card when there is one. Phase 3: `auto` stays on torch (the TTNN
    motion UNet is opt-in until validated on a card), so only `blackhole` looks for one."""
    validate_backend(requested)
    if requested == "torch" or (phase == 3 and requested == "auto"):
        return BackendChoice(requested, "torch", "torch: asked for explicitly" if requested == "torch" else PHASE3_OPT_IN)
    from .tt_metal import detect_blackhole

    status = detect_blackhole()
    if status.available:
        reason = (f"blackhole: {status.device_count} Blackhole device(s) found" if phase == 2 else
                  "blackhole: asked for explicitly (the TTNN motion UNet has not run on a card by us yet)")
        return BackendChoice(requested, "blackhole", reason, status)
    if requested == "blackhole":
        return BackendChoice(requested, None, f"backend 'blackhole' cannot run here: {status.reason}. "
                                              f"Use backend 'torch' to run {SAME_ON_CPU[phase]} on the CPU.", status)
    return BackendChoice(requested, "torch",
                         f"torch: no Blackhole device ({status.reason}); running the same loop with the torch UNet", status)
