"""How close Phase 3 (the frame loop) draws Phase 1's frames, by precision (issue 20): the figures
lessons/09-phase3.md quotes.

    python -m benchmarks.phase3_precision [--models .cache/tiny-models] [--frames 16,33] [--steps 3] [--write]

Both pipelines share one set of loaded models (the same weights), run the same seed, and the frames
are compared pixel by pixel: the largest difference in pixel levels (0-255) and the mean. In fp32
the two differ only by rounding; in bf16 each op rounds its output to 8 bits of mantissa, and the
two paths compute the spatial layers in different batches (Phase 1 all frames at once, Phase 3 one
frame at a time at batch 2), so the roundings differ and grow over the steps. Above the adapter's
window (16 frames for the tiny models, 32 for v1-5-2) FreeNoise context windows are on in both.
No timing is reported: the figures do not depend on load. `--write` updates
benchmarks/phase3-precision-latest.json, the record the lesson cites, with the machine it ran on.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from benchmarks.common import ROOT, git_revision, log, machine

LATEST = ROOT / "benchmarks" / "phase3-precision-latest.json"


def compare(models: Path, dtype: str, frames: int, steps: int) -> dict:
    import numpy as np

    from animatediff_ttnn.motion_pipeline import Phase3Pipeline
    from animatediff_ttnn.params import GenerationParams
    from animatediff_ttnn.pipeline import Phase1Pipeline

    phase1, _ = Phase1Pipeline.from_sources(str(models / "sd"), str(models / "motion-adapter"), device="cpu",
                                            dtype=dtype)
    phase3 = Phase3Pipeline(phase1.sd, phase1.adapter, phase1.adapter_source, backend="torch")
    params = GenerationParams(prompt="a lighthouse at night", num_frames=frames, steps=steps, seed=5, width=64,
                              height=64)
    one = np.stack([np.asarray(f).astype(int) for f in phase1.generate(params)])
    three = np.stack([np.asarray(f).astype(int) for f in phase3.generate(params)])
    diff = np.abs(one - three)
    return {"dtype": dtype, "dtype_reason": phase1.describe().get("dtype_reason", ""), "frames": frames,
            "steps": steps, "context_windows": frames > int(phase1.adapter.config.motion_max_seq_length),
            "max_levels": int(diff.max()), "mean_levels": round(float(diff.mean()), 3)}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--models", default=str(ROOT / ".cache" / "tiny-models"))
    parser.add_argument("--frames", default="16,33")
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--write", action="store_true")
    args = parser.parse_args(argv)
    rows = []
    for dtype in ("float32", "bfloat16"):
        for frames in (int(f) for f in args.frames.split(",")):
            rows.append(compare(Path(args.models), dtype, frames, args.steps))
            log(f"{dtype} {frames} frames: max {rows[-1]['max_levels']} levels, mean {rows[-1]['mean_levels']}")
    record = {"what": "Phase 1 vs Phase 3 frames, same seed and weights, 64x64 tiny random-weight models",
              "machine": machine(), "revision": git_revision(), "rows": rows}
    text = json.dumps(record, indent=1) + "\n"
    if args.write:
        LATEST.write_text(text, encoding="utf-8")
    sys.stdout.write(text)


if __name__ == "__main__":
    main()
