"""Isolated measurements for candidate optimisations, one setting per fresh process.

    python -m benchmarks.experiments vae  --workload JSON --chunk N [--channels-last] [--flush-denormal]
    python -m benchmarks.experiments unet --workload JSON --phase 1|2 [--calls N] [--channels-last]
                                          [--flush-denormal] [--inference-mode]

`vae` decodes all the workload's frames the way diffusers' AnimateDiffPipeline.decode_latents does
(`chunk` frames per VAE call) and reports seconds per frame and the decode's peak memory on top of
the loaded VAE. `unet` times UNet calls on the run's real input shapes: Phase 1's UNetMotionModel on
CFG 2 x frames, or Phase 2's plain SD UNet on CFG 2 x 1 frame (call 1 is reported apart: it is cold).
"""

from __future__ import annotations

import argparse
import time
from typing import Any, Dict

from benchmarks.common import Workload, emit, peak_rss_mb, reset_peak_rss, rss_mb


def knobs(args) -> Dict[str, Any]:
    import torch

    out: Dict[str, Any] = {"threads": torch.get_num_threads()}
    if args.flush_denormal:
        out["flush_denormal"] = torch.set_flush_denormal(True)
    out["channels_last"] = bool(args.channels_last)
    return out


def vae(args, w: Workload) -> Dict[str, Any]:
    import torch
    from diffusers import AutoencoderKL

    result = {"kind": "vae-decode", "chunk": args.chunk, **knobs(args)}
    model = AutoencoderKL.from_pretrained(w.sd, subfolder="vae", torch_dtype=torch.float32).eval().requires_grad_(False)
    if args.channels_last:
        model = model.to(memory_format=torch.channels_last)
    g = torch.Generator("cpu").manual_seed(w.seed)
    latents = torch.randn((w.num_frames, 4, w.height // 8, w.width // 8), generator=g) / model.config.scaling_factor
    ctx = torch.inference_mode() if args.inference_mode else torch.no_grad()
    with ctx:
        t0 = time.perf_counter()
        model.decode(latents[:1])  # first call: oneDNN primitive set-up (reported, not counted)
        result["first_call_s"] = time.perf_counter() - t0
        rss0 = rss_mb()
        reset_peak_rss()
        t0 = time.perf_counter()
        video = [model.decode(latents[i:i + args.chunk]).sample for i in range(0, latents.shape[0], args.chunk)]
        video = torch.cat(video)
        seconds = time.perf_counter() - t0
        peak = peak_rss_mb()
    result.update({"frames": w.num_frames, "decode_s": seconds, "s_per_frame": seconds / w.num_frames,
                   "rss_before_mb": rss0, "peak_mb": peak, "peak_increment_mb": (peak - rss0) if peak and rss0 else None,
                   "checksum": float(video.double().abs().mean())})
    return result


def unet(args, w: Workload) -> Dict[str, Any]:
    import torch

    result = {"kind": f"unet-phase{args.phase}", "inference_mode": bool(args.inference_mode), **knobs(args)}
    if args.phase == 1:
        from animatediff_ttnn.pipeline import Phase1Pipeline

        pipeline, _ = Phase1Pipeline.from_sources(w.sd, w.motion_adapter, device="cpu")
        model = pipeline.pipe.unet
        frames, text = w.num_frames, pipeline.sd.text_encoder
        shape = (2, 4, w.num_frames, w.height // 8, w.width // 8)
    else:
        from animatediff_ttnn.models import load_sd_components

        sd = load_sd_components(w.sd)
        model, frames, text = sd.unet, 1, sd.text_encoder
        shape = (2, 4, w.height // 8, w.width // 8)
    if args.channels_last:
        model = model.to(memory_format=torch.channels_last)
    g = torch.Generator("cpu").manual_seed(w.seed)
    sample = torch.randn(shape, generator=g)
    embeds = torch.randn((2 * frames, 77, text.config.hidden_size), generator=g)
    if args.channels_last and sample.ndim == 4:
        sample = sample.to(memory_format=torch.channels_last)
    ctx = torch.inference_mode() if args.inference_mode else torch.no_grad()
    times = []
    with ctx:
        for _ in range(args.calls):
            t0 = time.perf_counter()
            out = model(sample, torch.tensor(501), encoder_hidden_states=embeds).sample
            times.append(time.perf_counter() - t0)
    result.update({"shape": list(shape), "calls_s": times, "first_call_s": times[0],
                   "warm_mean_s": sum(times[1:]) / max(1, len(times) - 1) if len(times) > 1 else None,
                   "checksum": float(out.double().abs().mean())})
    return result


def main(argv=None) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("what", choices=("vae", "unet"))
    parser.add_argument("--workload", required=True)
    parser.add_argument("--chunk", type=int, default=4)
    parser.add_argument("--phase", type=int, default=1, choices=(1, 2))
    parser.add_argument("--calls", type=int, default=3)
    parser.add_argument("--channels-last", action="store_true")
    parser.add_argument("--flush-denormal", action="store_true")
    parser.add_argument("--inference-mode", action="store_true")
    args = parser.parse_args(argv)
    w = Workload.from_json(args.workload)
    emit(vae(args, w) if args.what == "vae" else unet(args, w))


if __name__ == "__main__":
    main()
