"""One denoising step's UNet call: Phase 1 (diffusers' UNetMotionModel, all frames at once) against
Phase 3 (the frame loop, motion_unet.py), same weights, inputs and threads, calls interleaved.

    python -m benchmarks.phase3_step --models .cache/bench-models/full [--frames 8 --size 256 --repeats 2]

Prints wall and process-CPU seconds per call and the relative output difference. For a machine that
is busy with other work, CPU seconds are the steadier figure (wall time also counts waiting).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from benchmarks.common import cpu_seconds, machine


def main(argv=None) -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--models", type=Path, required=True, help="folder with sd/ and motion-adapter/ (tiny_models)")
    p.add_argument("--frames", type=int, default=8)
    p.add_argument("--size", type=int, default=256, help="image side in pixels (latents are 1/8)")
    p.add_argument("--repeats", type=int, default=2)
    args = p.parse_args(argv)

    import torch

    from animatediff_ttnn.models.loading import load_motion_adapter, load_sd_components
    from animatediff_ttnn.backends.torch_motion_backend import TorchMotionBackend
    from animatediff_ttnn.pipeline import unet_with_motion

    sd = load_sd_components(str(args.models / "sd"))
    adapter = load_motion_adapter(str(args.models / "motion-adapter"))
    phase1 = unet_with_motion(sd, adapter)  # as Phase 1 runs it (shared weights, oneDNN linear where it helps)
    phase3 = TorchMotionBackend(sd.unet, adapter).model  # as Phase 3 runs it
    g = torch.Generator().manual_seed(0)
    side = args.size // 8
    sample = torch.randn(2, 4, args.frames, side, side, generator=g)
    text = torch.randn(2, 77, sd.unet.config.cross_attention_dim, generator=g)
    results = {"phase1": [], "phase3": []}
    outputs = {}
    with torch.no_grad():
        for _ in range(args.repeats):
            for name in ("phase1", "phase3"):
                c0, t0 = cpu_seconds(), time.perf_counter()
                if name == "phase1":
                    out = phase1(sample, 500, encoder_hidden_states=text.repeat_interleave(args.frames, 0)).sample
                else:
                    out = phase3(sample, 500, text)
                results[name].append({"wall_s": time.perf_counter() - t0, "cpu_s": cpu_seconds() - c0})
                outputs[name] = out
    diff = ((outputs["phase3"] - outputs["phase1"]).abs().max() / outputs["phase1"].abs().max()).item()
    print(json.dumps({"machine": machine(), "frames": args.frames, "size": args.size, "threads": torch.get_num_threads(),
                      "calls": results, "relative_max_difference": diff}, indent=1, default=str))


if __name__ == "__main__":
    main()
