"""AnimateDiff lesson package: Phase 1 (diffusers AnimateDiff on any torch device) and Phase 2
(frame-by-frame SD 1.4 denoising on a Tenstorrent Blackhole through TTNN, or the same loop in torch)."""

__version__ = "0.1.0"
