"""How long each stage of a run took: model loading, prompt encoding, every denoising step, decode, export.

The pipelines fill it in (step_hooks.py times the steps); the run record writes it out (outputs/run_record.py).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional


@dataclass
class Timings:
    """Wall-clock seconds of each stage. `steps` holds every denoising step in order."""

    started: float = field(default_factory=time.perf_counter)
    load_s: float = 0.0
    encode_s: float = 0.0
    first_step_s: Optional[float] = None  # from the start of generate() to the first UNet call
    steps: List[float] = field(default_factory=list)
    denoise_s: float = 0.0
    decode_s: float = 0.0
    export_s: float = 0.0

    def elapsed(self) -> float:
        return time.perf_counter() - self.started

    def to_dict(self) -> Dict[str, Any]:
        total = self.elapsed()
        return {
            "load_s": round(self.load_s, 4),
            "encode_s": round(self.encode_s, 4),
            "first_step_s": None if self.first_step_s is None else round(self.first_step_s, 4),
            "steps_s": [round(s, 4) for s in self.steps],
            "denoise_s": round(self.denoise_s, 4),
            "decode_s": round(self.decode_s, 4),
            "export_s": round(self.export_s, 4),
            "total_s": round(total, 4),
        }
