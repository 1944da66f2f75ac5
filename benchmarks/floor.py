"""The compute floor of a CPU job: its FLOPs (counted, not estimated) over this machine's GEMM rate (measured
in the same run). A job can go no faster than the floor with exact arithmetic on these cores, so every CPU
figure is reported beside it: `floor_ratio` = measured seconds / floor seconds (1.0 = at the floor).

    python -m benchmarks.floor --workload JSON     # a worker: this machine's rates + the job's FLOPs

FLOPs are counted by torch's FlopCounterMode on the *meta* device: the real module code runs with shapes
only, so counting a full-size 512x512 UNet call takes seconds, and SDPA takes its math path there, so the
attention's two matrix products are counted too (torch 2.13's table has no formula for the CPU flash
kernel `_scaled_dot_product_flash_attention_for_cpu`: counted on a real CPU run, attention would be left
out). Matrix products and convolutions are what FlopCounterMode counts; softmax, norms and element-wise ops
are not compute-bound work and are not in the floor - they are part of what a ratio above 1 measures.
"""

from __future__ import annotations

import argparse
import time
from typing import Any, Dict, List, Optional

from benchmarks.common import Workload, emit

GEMM_SIZES = (2048, 4096)  # square products, as large as the UNet's (4096 tokens x 320..1280 channels)


def flop_mode():
    """FlopCounterMode that also knows the CPU ops torch's table misses: SDPA's CPU flash kernel and the
    oneDNN linear layers (animatediff_ttnn.runtime.cpu_speedups), so real CPU runs count them too."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode, sdpa_flop_count

    def sdpa_flop(query_shape, key_shape, value_shape, *args, out_shape=None, **kwargs) -> int:
        return sdpa_flop_count(query_shape, key_shape, value_shape)

    def linear_flop(input_shape, weight_shape, *args, out_shape=None, **kwargs) -> int:
        rows = 1
        for d in input_shape[:-1]:
            rows *= d
        return 2 * rows * weight_shape[0] * weight_shape[1]

    mapping = {torch.ops.aten._scaled_dot_product_flash_attention_for_cpu: sdpa_flop}
    if hasattr(torch.ops.mkldnn, "_linear_pointwise"):
        mapping[torch.ops.mkldnn._linear_pointwise] = linear_flop
    return FlopCounterMode(display=False, custom_mapping=mapping)


def best_seconds(fn, reps: int) -> float:
    """The best of `reps` timed calls after one untimed warm-up call."""
    fn()  # warm-up: oneDNN builds its kernels on the first call
    best = float("inf")
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def gemm_rate(dtype: str = "bfloat16", sizes=GEMM_SIZES, reps: int = 3) -> Dict[str, Any]:
    """This machine's matrix-product rate in `dtype` (GFLOP/s, best of `reps` per size); `gflops` is the
    best size's rate: the most this CPU showed it can do, the floor's denominator."""
    import torch

    dt = getattr(torch, dtype)
    per_size = {}
    for n in sizes:
        a, b = torch.randn(n, n).to(dt), torch.randn(n, n).to(dt)
        per_size[str(n)] = round(2 * n**3 / best_seconds(lambda: torch.matmul(a, b), reps) / 1e9, 1)
        if dt == torch.float32 and hasattr(torch.ops.mkldnn, "_linear_pointwise"):
            # fp32 products have two libraries in torch's CPU wheels (MKL, oneDNN): the floor takes the faster
            bt = b.t().contiguous()
            dnn = best_seconds(lambda: torch.ops.mkldnn._linear_pointwise(a, bt, None, "none", [], ""), reps)
            per_size[f"{n}_onednn"] = round(2 * n**3 / dnn / 1e9, 1)
    return {"dtype": dtype, "per_size": per_size, "gflops": max(per_size.values())}


def conv_rate(dtype: str = "bfloat16", reps: int = 3) -> Dict[str, Any]:
    """The UNet's commonest large convolution (3x3, 320 -> 320 channels, 8 frames of 64x64) in `dtype`."""
    import torch

    dt = getattr(torch, dtype)
    conv = torch.nn.Conv2d(320, 320, 3, padding=1).to(dt).eval()
    x = torch.randn(8, 320, 64, 64).to(dt)
    flops = 2 * 8 * 64 * 64 * 320 * 320 * 9
    with torch.no_grad():
        seconds = best_seconds(lambda: conv(x), reps)
    return {"dtype": dtype, "shape": "3x3 320->320 on 8x64x64", "gflops": round(flops / seconds / 1e9, 1)}


def count(fn) -> int:
    with flop_mode() as counter:
        fn()
    return int(counter.get_total_flops())


def job_flops(sd: str, motion_adapter: Optional[str], num_frames: int, height: int, width: int) -> Dict[str, int]:
    """FLOPs of the pieces of a Phase 1 job, counted on the meta device from the model folders' configs:
    one UNetMotionModel call per video in the batch (`unet_call`: batch 1, as a few-step run without CFG;
    a guided step makes two), one VAE decode of one frame, one CLIP encoding of one prompt."""
    import torch
    from diffusers import AutoencoderKL, MotionAdapter, UNet2DConditionModel, UNetMotionModel
    from transformers import CLIPTextConfig, CLIPTextModel

    with torch.device("meta"):
        unet = UNet2DConditionModel.from_config(UNet2DConditionModel.load_config(sd, subfolder="unet"))
        vae = AutoencoderKL.from_config(AutoencoderKL.load_config(sd, subfolder="vae"))
        text = CLIPTextModel(CLIPTextConfig.from_pretrained(sd, subfolder="text_encoder"))
        if motion_adapter:
            unet = UNetMotionModel.from_unet2d(unet, MotionAdapter.from_config(MotionAdapter.load_config(motion_adapter)))
    h, w = height // 8, width // 8
    dim = unet.config.cross_attention_dim
    with torch.no_grad():
        if motion_adapter:
            latents = torch.empty(1, 4, num_frames, h, w, device="meta")
            embeds = torch.empty(num_frames, 77, dim, device="meta")
            unet_call = count(lambda: unet(latents, 500, encoder_hidden_states=embeds))
        else:  # a plain SD UNet (Phase 2): one frame per call
            unet_call = count(lambda: unet(torch.empty(1, 4, h, w, device="meta"), 500,
                                           encoder_hidden_states=torch.empty(1, 77, dim, device="meta")))
        vae_frame = count(lambda: vae.decode(torch.empty(1, 4, h, w, device="meta")))
        clip = count(lambda: text(torch.zeros(1, 77, dtype=torch.long, device="meta")))
    return {"unet_call": unet_call, "vae_decode_frame": vae_frame, "text_encode": clip}


def job_floor(job: Dict[str, Any], flops: Dict[str, int], rates: List[Dict[str, Any]], cfg: bool) -> Dict[str, Any]:
    """A measured Phase 1 job (benchmarks/fast_job.py's fields) beside its floor: the whole job (prompt
    encoding, every denoising step - a projected run's full step count -, the VAE decode of every frame),
    one UNet call and one frame's VAE decode. `rates`: the gemm readings of this run (the best counts);
    `cfg`: classifier-free guidance doubles the UNet's batch and the prompt encodings."""
    dtype = job.get("dtype") or "float32"
    rate = max(r[dtype]["gflops"] for r in rates) * 1e9
    batch = 2 if cfg else 1
    frames = flops["num_frames"]
    unet = flops["unet_call"] * batch
    total = batch * flops["text_encode"] + job["total_steps"] * unet + frames * flops["vae_decode_frame"]
    floor_s = total / rate
    out: Dict[str, Any] = {
        "flops": total, "gemm_gflops": round(rate / 1e9, 1), "gemm_dtype": dtype,
        "floor_s": round(floor_s, 2), "floor_ratio": round(job["time_to_frames_s"] / floor_s, 3),
        "unet_call": _piece(unet, rate, job["step_median_s"]),
        "vae_decode": _piece(flops["vae_decode_frame"], rate, job["decode_s"] / frames),
    }
    if job.get("warm_runs"):
        out["floor_ratio_warm"] = round(min(r["time_to_frames_s"] for r in job["warm_runs"]) / floor_s, 3)
    return out


def _piece(flops: int, rate: float, measured_s: float) -> Dict[str, Any]:
    floor_s = flops / rate
    return {"flops": flops, "floor_s": round(floor_s, 3), "measured_s": round(measured_s, 3),
            "floor_ratio": round(measured_s / floor_s, 3)}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--workload", required=True)
    parser.add_argument("--motion-adapter", default=None, help="the adapter folder whose config the UNet counts with")
    parser.add_argument("--rates-only", action="store_true", help="measure the rates again, count nothing")
    args = parser.parse_args(argv)
    w = Workload.from_json(args.workload)
    import torch

    result: Dict[str, Any] = {"job": "floor", "torch_threads": torch.get_num_threads()}
    if not args.rates_only:
        flops = job_flops(w.sd, args.motion_adapter or w.motion_adapter, w.num_frames, w.height, w.width)
        result["flops"] = {**flops, "num_frames": w.num_frames, "height": w.height, "width": w.width}
    from animatediff_ttnn.runtime.device import cpu_bf16_support

    quick = w.mode == "quick"  # tiny models: the plumbing only, small products
    # without native bf16 a bf16 product is emulated (minutes for one 4096^2 product), and nothing runs in it
    dtypes = ("bfloat16", "float32") if cpu_bf16_support() else ("float32",)
    result["gemm"] = {dt: gemm_rate(dt, sizes=(256,) if quick else GEMM_SIZES) for dt in dtypes}
    if not quick:
        result["conv"] = {dt: conv_rate(dt) for dt in dtypes}
    emit(result)


if __name__ == "__main__":
    main()
