"""runtime/cpu_speedups.py re-measured against bf16 (issue 11): which linear-layer kernels still pay.

    scripts/bench.sh --linear-ab [--quick] [--write-latest]   (~4 min on a quiet 2-core machine)

One UNetMotion call as in the issue's figure - CFG batch, 2 x 8 frames at 256x256, full-size random
weights - four ways in one process, alternated so drifting load hits all alike:
1. fp32, MKL linear layers (diffusers' kernels)
2. fp32, oneDNN linear layers (cpu_speedups.OneDNNLinear, what fp32 runs get on AMD AVX-512 CPUs)
3. bf16 (what CPUs with native bf16 get: torch's own kernels)
4. bf16, oneDNN linear layers (the candidate: the same switch applied to bf16)
Each output's relative difference to (1) is reported beside its time. With --write-latest the record
goes to benchmarks/cpu-speedups-latest.{json,md}.
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
import time
from typing import Any, Dict, List

import torch

from benchmarks.common import ROOT, ensure_models, git_revision, log, machine, workload


class AnyDtypeOneDNNLinear(torch.nn.Linear):
    """The candidate: oneDNN's linear for any dtype (cpu_speedups.OneDNNLinear takes fp32 only)."""

    def forward(self, input: torch.Tensor) -> torch.Tensor:  # noqa: A002 - nn.Linear's own name
        return torch.ops.mkldnn._linear_pointwise(input, self.weight, self.bias, "none", [], "")


def set_linear(model: torch.nn.Module, cls: type) -> None:
    for module in model.modules():
        if isinstance(module, torch.nn.Linear):
            module.__class__ = cls


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.linear_ab", description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="tiny models (for working on this script)")
    p.add_argument("--reps", type=int, default=2)
    p.add_argument("--write-latest", action="store_true")
    args = p.parse_args(argv)

    from diffusers import MotionAdapter, UNet2DConditionModel, UNetMotionModel

    from animatediff_ttnn.runtime.cpu_memory import keep_freed_memory
    from animatediff_ttnn.runtime.cpu_speedups import OneDNNLinear

    keep_freed_memory(torch.device("cpu"))  # as the product runs on a CPU
    w = workload("quick" if args.quick else "full")
    ensure_models(w)
    unet = UNet2DConditionModel.from_pretrained(w.sd, subfolder="unet")
    model32 = UNetMotionModel.from_unet2d(unet, MotionAdapter.from_pretrained(w.motion_adapter)).eval()
    del unet
    model16 = torch.nn.Module.to(copy.deepcopy(model32), dtype=torch.bfloat16)
    g = torch.Generator().manual_seed(0)
    x = torch.randn(2, 4, w.num_frames, w.height // 8, w.width // 8, generator=g)
    text = torch.randn(2 * w.num_frames, 77, model32.config.cross_attention_dim, generator=g)
    variants = [("fp32, MKL linear (diffusers' kernels)", model32, torch.nn.Linear),
                ("fp32, oneDNN linear (runtime/cpu_speedups.py, as shipped)", model32, OneDNNLinear),
                ("bf16, torch's kernels (as shipped)", model16, torch.nn.Linear),
                ("bf16, oneDNN linear (candidate)", model16, AnyDtypeOneDNNLinear)]
    times: Dict[str, List[float]] = {name: [] for name, _, _ in variants}
    outputs: Dict[str, torch.Tensor] = {}
    with torch.inference_mode():
        for rep in range(args.reps + 1):  # rep 0: each variant's first call (oneDNN primitive creation), not timed
            for name, model, cls in variants:
                set_linear(model, cls)
                t0 = time.perf_counter()
                out = model(x.to(model.dtype), 500, encoder_hidden_states=text.to(model.dtype)).sample
                if rep:
                    times[name].append(round(time.perf_counter() - t0, 2))
                else:
                    outputs[name] = out.float()
                log(f"{name}: {time.perf_counter() - t0:.1f} s")
    ref = outputs[variants[0][0]]
    record: Dict[str, Any] = {
        "kind": "linear-ab", "mode": w.mode, "started": time.strftime("%Y-%m-%d %H:%M:%S"), "machine": machine(),
        "git": git_revision(), "job": f"one UNetMotion call, CFG 2 x {w.num_frames} frames at {w.width}x{w.height}",
        "variants": {name: {"s": min(times[name]), "all_s": times[name],
                            "rel_diff_vs_fp32_mkl": float((outputs[name] - ref).norm() / ref.norm())}
                     for name, _, _ in variants}}
    text_md = render(record)
    print(text_md)
    if args.write_latest:
        from benchmarks.run import shareable_json

        (ROOT / "benchmarks" / "cpu-speedups-latest.json").write_text(shareable_json(record))
        (ROOT / "benchmarks" / "cpu-speedups-latest.md").write_text(text_md + "\n")
    return 0


def render(record: Dict[str, Any]) -> str:
    m, v = record["machine"], record["variants"]
    base = v["fp32, MKL linear (diffusers' kernels)"]["s"]
    lines = [f"# runtime/cpu_speedups.py re-measured against bf16 ({record['mode']}), {record['started']}", "",
             f"Machine: {m['cpu']}, {m['cpu_cores']} cores, {m['torch_threads']} torch threads, torch {m['torch']}. "
             f"Job: {record['job']}, " + ("full-size random weights (the real FLOPs)" if record["mode"] == "full" else
                                           "tiny random weights") + "; fastest of the timed calls, the "
             "variants alternated in one process.", "",
             "| variant | s per call | vs fp32 MKL | relative difference of the output vs fp32 MKL |",
             "| --- | --- | --- | --- |"]
    for name, r in v.items():
        lines.append(f"| {name} | {r['s']:.2f} | {base / r['s']:.2f}x | {r['rel_diff_vs_fp32_mkl']:.2e} |")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
