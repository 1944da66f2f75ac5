"""Isolated measurements for candidate optimisations, one setting per fresh process.

    python -m benchmarks.experiments vae  --workload JSON --chunk N [--channels-last] [--flush-denormal]
    python -m benchmarks.experiments unet --workload JSON --phase 1|2 [--calls N] [--channels-last]
                                          [--flush-denormal] [--inference-mode] [--onednn-linear on|off]
    python -m benchmarks.experiments ab   --workload JSON --phase 1|2 --variant linear|channels_last [--pairs N]
    python -m benchmarks.experiments ab   --workload JSON --variant vae_channels_last --chunk N [--pairs N]

`vae` decodes all the workload's frames the way diffusers' AnimateDiffPipeline.decode_latents does
(`chunk` frames per VAE call) and reports seconds per frame and the decode's peak memory on top of
the loaded VAE. `unet` times UNet calls on the run's real input shapes: Phase 1's UNetMotionModel on
CFG 2 x frames, or Phase 2's plain SD UNet on CFG 2 x 1 frame (call 1 is reported apart: it is cold).
`ab` alternates two settings of one knob on the same loaded UNet, which is what survives a machine
shared with other work: compare the minimum (and the calls where others' CPU use was near 0).
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
    out["onednn_linear"] = args.onednn_linear
    return out


def linear_path(model, args) -> int:
    """--onednn-linear on|off: force the core's oneDNN linear switch either way (default: as the core does)."""
    import os

    from animatediff_ttnn.runtime import cpu_speedups

    if args.onednn_linear == "off":
        for m in model.modules():
            if isinstance(m, cpu_speedups.OneDNNLinear):
                m.__class__ = __import__("torch").nn.Linear
        return 0
    if args.onednn_linear == "on":
        os.environ["ANIMATEDIFF_ONEDNN_LINEAR"] = "1"
    return cpu_speedups.use_onednn_linear(model)


def vae(args, w: Workload) -> Dict[str, Any]:
    import torch
    from diffusers import AutoencoderKL

    result = {"kind": "vae-decode", "chunk": args.chunk, **knobs(args)}
    model = AutoencoderKL.from_pretrained(w.sd, subfolder="vae", torch_dtype=torch.float32).eval().requires_grad_(False)
    if args.channels_last:
        model = model.to(memory_format=torch.channels_last)
    if args.onednn_linear:
        result["onednn_linear_layers"] = linear_path(model, args)
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

        pipeline, _ = Phase1Pipeline.from_sources(w.sd, w.motion_adapter, device="cpu", dtype="float32")
        model = pipeline.pipe.unet
        frames, text = w.num_frames, pipeline.sd.text_encoder
        shape = (2, 4, w.num_frames, w.height // 8, w.width // 8)
    else:
        from animatediff_ttnn.models.loading import load_sd_components

        sd = load_sd_components(w.sd)
        model, frames, text = sd.unet, 1, sd.text_encoder
        shape = (2, 4, w.height // 8, w.width // 8)
    if args.channels_last:
        model = model.to(memory_format=torch.channels_last)
    if args.onednn_linear:
        result["onednn_linear_layers"] = linear_path(model, args)
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


def set_linear(model, path: str) -> None:
    import torch

    from animatediff_ttnn.runtime.cpu_speedups import OneDNNLinear

    for m in model.modules():
        if isinstance(m, torch.nn.Linear):
            m.__class__ = OneDNNLinear if path == "onednn" else torch.nn.Linear


def set_memory_format(model, fmt: str) -> None:
    import torch

    model.to(memory_format=torch.channels_last if fmt == "channels_last" else torch.contiguous_format)


# variant -> (setting A, setting B, how to apply a setting to the model)
AB_VARIANTS = {
    "linear": ("mkl", "onednn", set_linear),
    "channels_last": ("contiguous", "channels_last", set_memory_format),
    "vae_channels_last": ("contiguous", "channels_last", set_memory_format),  # VAE decode of `--chunk` frames
}


def ab(args, w: Workload) -> Dict[str, Any]:
    """Two settings of one knob on the same UNet in one process, calls alternating A B A B ...
    (the minimum of each is the least disturbed by other processes on a shared machine)."""
    import statistics

    import torch

    from benchmarks.common import LoadMonitor

    monitor = LoadMonitor(0.5).start()
    g = torch.Generator("cpu").manual_seed(w.seed)
    if args.variant.startswith("vae"):
        from diffusers import AutoencoderKL

        model = AutoencoderKL.from_pretrained(w.sd, subfolder="vae", torch_dtype=torch.float32).eval()
        latents = torch.randn((args.chunk, 4, w.height // 8, w.width // 8), generator=g) / model.config.scaling_factor
        shape = list(latents.shape)

        def call():
            return model.decode(latents).sample
    else:
        if args.phase == 1:
            from animatediff_ttnn.pipeline import Phase1Pipeline

            pipeline, _ = Phase1Pipeline.from_sources(w.sd, w.motion_adapter, device="cpu", dtype="float32")
            model, frames, hidden = pipeline.pipe.unet, w.num_frames, pipeline.sd.text_encoder.config.hidden_size
            shape = (2, 4, w.num_frames, w.height // 8, w.width // 8)
        else:
            from animatediff_ttnn.runtime.cpu_speedups import use_onednn_linear
            from animatediff_ttnn.models.loading import load_sd_components

            sd = load_sd_components(w.sd)
            use_onednn_linear(sd.unet)  # as the torch backend does
            model, frames, hidden = sd.unet, 1, sd.text_encoder.config.hidden_size
            shape = (2, 4, w.height // 8, w.width // 8)
        sample = torch.randn(shape, generator=g)
        embeds = torch.randn((2 * frames, 77, hidden), generator=g)

        def call():
            return model(sample, torch.tensor(501), encoder_hidden_states=embeds).sample
    first, second, apply = AB_VARIANTS[args.variant]
    times: Dict[str, list] = {first: [], second: []}
    others: Dict[str, list] = {first: [], second: []}
    outs = {}
    with torch.no_grad():
        for i in range(2 * args.pairs + 2):  # first pair: warm-up of both settings
            name = (first, second)[i % 2]
            apply(model, name)
            monitor.wait_quiet(args.quiet_wait)
            t0 = time.perf_counter()
            outs[name] = call()
            t1 = time.perf_counter()
            if i >= 2:
                times[name].append(t1 - t0)
                others[name].append(monitor.others(t0, t1))
    monitor.stop()
    return {"kind": f"ab-{args.variant}-phase{args.phase}", "threads": torch.get_num_threads(), "shape": list(shape),
            "settings": [first, second], "calls_s": times, "others_cpus": others,
            "min_s": {k: min(v) for k, v in times.items()}, "median_s": {k: statistics.median(v) for k, v in times.items()},
            "max_abs_diff": float((outs[first] - outs[second]).abs().max()),
            "max_abs_out": float(outs[first].abs().max())}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("what", choices=("vae", "unet", "ab"))
    parser.add_argument("--variant", choices=sorted(AB_VARIANTS), default="linear", help="ab: the knob to compare")
    parser.add_argument("--pairs", type=int, default=4)
    parser.add_argument("--quiet-wait", type=float, default=0.0, metavar="S",
                        help="ab: before each call wait up to S s for other processes to leave the CPUs")
    parser.add_argument("--workload", required=True)
    parser.add_argument("--chunk", type=int, default=4)
    parser.add_argument("--phase", type=int, default=1, choices=(1, 2))
    parser.add_argument("--calls", type=int, default=3)
    parser.add_argument("--channels-last", action="store_true")
    parser.add_argument("--flush-denormal", action="store_true")
    parser.add_argument("--inference-mode", action="store_true")
    parser.add_argument("--onednn-linear", choices=("on", "off"), default=None,
                        help="force nn.Linear through oneDNN (on) or MKL (off); default: as the core does")
    args = parser.parse_args(argv)
    w = Workload.from_json(args.workload)
    emit({"vae": vae, "unet": unet, "ab": ab}[args.what](args, w))


if __name__ == "__main__":
    main()
