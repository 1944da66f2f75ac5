"""Where one Phase 1 denoising step's time goes, and how close the UNet runs to this CPU's matmul rate.

    python -m benchmarks.profile_step --workload JSON

In one process, on our Phase 1 pipeline's own UNetMotionModel with the run's real inputs
(CFG batch 2 x frames, the prompt's embeddings repeated per frame):
  1. this machine's fp32 large-matmul rate (torch.matmul, N=4096, best of 4);
  2. UNet call 1 under torch.utils.flop_counter.FlopCounterMode (FLOPs total and per part; also the
     cold call's time);
  3. UNet call 2 timed by forward hooks per part (resnets, spatial transformers, temporal motion
     modules, down/upsamplers, the rest) and by torch.profiler per aten op class (self time);
  4. one VAE decode of one frame (time, FLOPs), and the CLIP prompt encoding.
"""

from __future__ import annotations

import argparse
import time
from collections import defaultdict
from typing import Any, Dict

from benchmarks.common import Workload, emit, peak_rss_mb
from benchmarks.floor import flop_mode

MATMUL_N = 4096


def matmul_rate(n: int = MATMUL_N, reps: int = 4) -> Dict[str, Any]:
    """fp32 n x n x n: torch.matmul (MKL in PyTorch's CPU wheels) and the same product via oneDNN."""
    import torch

    from benchmarks.floor import best_seconds

    a, b = torch.randn(n, n), torch.randn(n, n)
    best = best_seconds(lambda: torch.matmul(a, b), reps)
    out = {"n": n, "best_s": best, "gflops": 2 * n**3 / best / 1e9}
    if hasattr(torch.ops.mkldnn, "_linear_pointwise"):
        bt = b.t().contiguous()
        dnn = best_seconds(lambda: torch.ops.mkldnn._linear_pointwise(a, bt, None, "none", [], ""), reps)
        out["onednn_gflops"] = 2 * n**3 / dnn / 1e9
    return out


def part_of(module) -> str:
    name = type(module).__name__
    return {
        "ResnetBlock2D": "resnets",
        "Transformer2DModel": "spatial attention",
        "AnimateDiffTransformer3D": "temporal attention",
        "TransformerTemporalModel": "temporal attention",
        "Downsample2D": "down/upsamplers",
        "Upsample2D": "down/upsamplers",
    }.get(name, "")


MATMUL_OPS = {"mm", "addmm", "bmm", "baddbmm", "matmul", "linear"}
NORM_OPS = {"native_group_norm", "group_norm", "native_layer_norm", "layer_norm"}
LAYOUT_OPS = {"copy_", "clone", "contiguous", "cat", "permute", "reshape", "view", "_unsafe_view", "transpose", "t",
              "empty", "empty_like", "expand", "repeat", "repeat_interleave", "slice", "select", "split", "chunk",
              "as_strided", "to", "_to_copy", "unsqueeze", "squeeze", "flatten", "unflatten", "narrow", "stack",
              "resize_", "zeros", "fill_", "zero_", "index_select", "detach", "alias", "lift_fresh"}


def op_class(name: str) -> str:
    """A coarse class for an aten op name ('aten::mm', 'aten.addmm.default', 'aten.convolution')."""
    parts = name.replace("::", ".").split(".")
    base = parts[1] if parts[0] == "aten" and len(parts) > 1 else parts[-1]
    if "conv" in base:
        return "convolution"
    if "scaled_dot_product" in base or "flash_attention" in base:
        return "attention kernel (SDPA)"
    if base in MATMUL_OPS or "linear" in base:
        return "matmul (linear layers)"
    if base in NORM_OPS:
        return "group/layer norm"
    if base in LAYOUT_OPS:
        return "copies / layout"
    return "elementwise (add, mul, silu, gelu, softmax, ...)"


def outermost_parts(unet) -> Dict[str, Any]:
    """name -> module for every part module that has no part module above it."""
    found: Dict[str, Any] = {}
    for name, mod in unet.named_modules():
        if part_of(mod) and not any(name.startswith(p + ".") for p in found):
            found[name] = mod
    return found


def preview_cost(latents, reps: int = 15) -> Dict[str, Any]:
    """One Phase 1 step's preview work, as the sidecar does it: the core's latents->RGB map, then a
    base64 PNG per frame (the sidecar's own encoder when importable) and the JSON message."""
    import json
    import statistics

    from animatediff_ttnn.runtime.previews import video_latents_to_previews

    try:
        from animatediff_sidecar.images import png_base64

        encoder = "animatediff_sidecar.images.png_base64"
    except ImportError:  # the same work, written out
        import base64
        import io

        def png_base64(image, max_side):
            image = image.copy()
            image.thumbnail((max_side, max_side))
            buf = io.BytesIO()
            image.save(buf, format="PNG", compress_level=6)
            return base64.b64encode(buf.getvalue()).decode("ascii"), image.width, image.height

        encoder = "PIL PNG + base64 (sidecar not importable)"
    maps, encs = [], []
    for _ in range(reps):
        t0 = time.perf_counter()
        images = video_latents_to_previews(latents)
        t1 = time.perf_counter()
        frames = [png_base64(im, 128)[0] for im in images]
        json.dumps({"jsonrpc": "2.0", "method": "studio/preview", "params": {"frames": frames}})
        encs.append(time.perf_counter() - t1)
        maps.append(t1 - t0)
    return {"encoder": encoder, "frames": len(images), "size": list(images[0].size),
            "map_ms": statistics.median(maps) * 1000, "encode_ms": statistics.median(encs) * 1000,
            "total_ms": (statistics.median(maps) + statistics.median(encs)) * 1000}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--workload", required=True)
    parser.add_argument("--quiet-wait", type=float, default=0.0, metavar="S",
                        help="before each timed part wait up to S s for other processes to leave the CPUs")
    args = parser.parse_args(argv)
    w = Workload.from_json(args.workload)

    import torch

    from animatediff_ttnn.pipeline import Phase1Pipeline

    from benchmarks.common import LoadMonitor

    monitor = LoadMonitor(0.5).start()
    result: Dict[str, Any] = {"kind": "profile", "torch_threads": torch.get_num_threads(), "others_cpus": {}}
    monitor.wait_quiet(args.quiet_wait)
    t_part = time.perf_counter()
    result["matmul"] = matmul_rate()
    result["others_cpus"]["matmul"] = monitor.others(t_part, time.perf_counter())

    # fp32: this profile reads the FLOP rate against fp32 matmul and feeds fp32 latents (bf16 is benchmarks/fast.py)
    pipeline, _ = Phase1Pipeline.from_sources(w.sd, w.motion_adapter, device="cpu", dtype="float32")
    pipe, unet, vae = pipeline.pipe, pipeline.pipe.unet, pipeline.pipe.vae

    with torch.no_grad():
        t0 = time.perf_counter()
        cond, uncond = pipe.encode_prompt(w.prompt, torch.device("cpu"), 1, True, w.negative_prompt)
        result["clip_encode_s"] = time.perf_counter() - t0
        embeds = torch.cat([uncond, cond]).repeat_interleave(w.num_frames, dim=0)
        g = torch.Generator("cpu").manual_seed(w.seed)
        latents = torch.randn((1, 4, w.num_frames, w.height // 8, w.width // 8), generator=g)
        batch = torch.cat([latents, latents])
        t = torch.tensor(981)

        # 1st call: FLOPs (and the cold call's time)
        counter = flop_mode()
        t0 = time.perf_counter()
        with counter:
            unet(batch, t, encoder_hidden_states=embeds)
        result["unet_cold_call_s"] = time.perf_counter() - t0
        counts = counter.get_flop_counts()
        root = next(k for k in counts if k != "Global" and "." not in k)
        total_flops = sum(counts["Global"].values())
        flops_by_part: Dict[str, int] = defaultdict(int)
        parts = outermost_parts(unet)
        for name, mod in parts.items():
            flops_by_part[part_of(mod)] += sum(counts.get(f"{root}.{name}", {}).values())
        flops_by_part["other (conv_in/out, time embedding, norms)"] = total_flops - sum(flops_by_part.values())
        ops_flops: Dict[str, int] = defaultdict(int)
        for op, n in counts["Global"].items():
            ops_flops[op_class(str(op))] += n

        # 2nd call: time per part (hooks) and per op class (profiler)
        spent: Dict[str, float] = defaultdict(float)
        starts: Dict[int, float] = {}
        handles = []
        for mod in parts.values():
            part = part_of(mod)

            def pre(m, _a, _id=id(mod)):
                starts[_id] = time.perf_counter()

            def post(m, _a, _o, _id=id(mod), _part=part):
                spent[_part] += time.perf_counter() - starts.pop(_id)

            handles += [mod.register_forward_pre_hook(pre), mod.register_forward_hook(post)]
        from torch.profiler import ProfilerActivity, profile

        monitor.wait_quiet(args.quiet_wait)
        with profile(activities=[ProfilerActivity.CPU]) as prof:
            t0 = time.perf_counter()
            unet(batch, t, encoder_hidden_states=embeds)
            warm = time.perf_counter() - t0
        result["others_cpus"]["unet_warm_call"] = monitor.others(t0, t0 + warm)
        for h in handles:
            h.remove()
        result["unet_warm_call_s"] = warm
        spent["other (conv_in/out, time embedding, norms)"] = warm - sum(spent.values())
        ops_time: Dict[str, float] = defaultdict(float)
        top = []
        for ev in prof.key_averages():
            if ev.self_cpu_time_total <= 0:
                continue
            ops_time[op_class(ev.key)] += ev.self_cpu_time_total / 1e6
            top.append((ev.self_cpu_time_total / 1e6, ev.key, ev.count))
        top.sort(reverse=True)
        profiled_total = sum(ops_time.values())

        # VAE: one frame
        one = latents[:, :, 0] / vae.config.scaling_factor
        vae.decode(one)  # warm-up (first oneDNN calls)
        counter = flop_mode()
        with counter:
            vae.decode(one)
        vae_flops = counter.get_total_flops()
        monitor.wait_quiet(args.quiet_wait)
        t0 = time.perf_counter()
        vae.decode(one)
        vae_s = time.perf_counter() - t0
        result["others_cpus"]["vae"] = monitor.others(t0, t0 + vae_s)

    monitor.wait_quiet(args.quiet_wait)
    result["preview"] = preview_cost(latents)
    monitor.stop()
    result.update({
        "unet_batch": list(batch.shape),
        "unet_flops": total_flops,
        "unet_gflops_per_s": total_flops / warm / 1e9,
        "unet_fraction_of_matmul": total_flops / warm / 1e9 / result["matmul"]["gflops"],
        "unet_fraction_of_onednn_matmul": (total_flops / warm / 1e9 / result["matmul"]["onednn_gflops"]
                                           if result["matmul"].get("onednn_gflops") else None),
        "parts": {k: {"s": spent.get(k, 0.0), "share": spent.get(k, 0.0) / warm, "gflop": flops_by_part.get(k, 0) / 1e9,
                      "gflops_per_s": (flops_by_part.get(k, 0) / spent[k] / 1e9) if spent.get(k) else None}
                  for k in sorted(set(spent) | set(flops_by_part), key=lambda k: -spent.get(k, 0.0))},
        "op_classes": {k: {"s": v, "share": v / profiled_total, "gflop": ops_flops.get(k, 0) / 1e9}
                       for k, v in sorted(ops_time.items(), key=lambda kv: -kv[1])},
        "top_ops": [{"op": k, "s": s, "calls": c} for s, k, c in top[:12]],
        "vae_decode_frame_s": vae_s,
        "vae_frame_gflop": vae_flops / 1e9,
        "vae_gflops_per_s": vae_flops / vae_s / 1e9,
        "peak_rss_mb": peak_rss_mb(),
    })
    emit(result)


if __name__ == "__main__":
    main()
