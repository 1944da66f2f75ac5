"""One job of the presets benchmark (benchmarks/fast.py), in its own process so its peak memory is its own.

    python -m benchmarks.fast_job JOB --workload JSON --out DIR [--measure-steps N]

JOB is one of:
  bare-quality    diffusers' AnimateDiffPipeline as its docs set it up: fp32, DDIM, CFG 7.5
  bare-lightning  the same, set up as AnimateDiff-Lightning's model card says (fp32 on a CPU)
  bare-lightning-bf16  the informed peer: the model card's setup with torch_dtype=torch.bfloat16
  ours-quality / ours-lightning / ours-animatelcm   our Phase 1 with that preset, dtype by capability
  guard           bf16 vs fp32: one UNet call, the latents after a few steps, decoded frames (PSNR)
  vae             one 512x512 VAE decode per dtype / layout, time and PSNR against fp32

A 25-step run is too long to repeat at 512x512 on 2 cores: with --measure-steps N the run stops
denoising after N steps (diffusers' `interrupt`) and still encodes and decodes, so the report can
project the full run as encode + 25 x the median step + decode, labelled as a projection.
"""

from __future__ import annotations

import time

T_START = time.perf_counter()

import argparse  # noqa: E402
import statistics  # noqa: E402
from pathlib import Path  # noqa: E402

from benchmarks.common import Workload, cpu_seconds, emit, peak_rss_mb  # noqa: E402


def timed_call(pipe, call_kwargs, total_steps: int, measure_steps: int):
    """Run the pipeline, timing encode / each step / decode the same way for bare and ours."""
    marks = {"first_unet": None, "step_start": None, "last_step_end": None, "steps": []}
    unet = pipe.unet

    def pre(_m, _a):
        if marks["first_unet"] is None:
            marks["first_unet"] = time.perf_counter()
        if marks["step_start"] is None:
            marks["step_start"] = time.perf_counter()

    def after(p, index, _t, kw):
        now = time.perf_counter()
        marks["steps"].append(now - marks["step_start"])
        marks["step_start"] = None
        marks["last_step_end"] = now
        if measure_steps and index + 1 >= measure_steps and index + 1 < total_steps:
            p._interrupt = True  # skip the remaining steps; diffusers still decodes
        return kw

    hook = unet.register_forward_pre_hook(pre)
    t0 = time.perf_counter()
    try:
        frames = pipe(**call_kwargs, callback_on_step_end=after, callback_on_step_end_tensor_inputs=["latents"]).frames[0]
    finally:
        hook.remove()
    t_end = time.perf_counter()
    steps = marks["steps"]
    out = {"encode_s": marks["first_unet"] - t0, "steps_s": steps, "decode_s": t_end - marks["last_step_end"],
           "wall_s": t_end - t0, "measured_steps": len(steps), "total_steps": total_steps}
    median = statistics.median(steps)
    out["step_median_s"] = median
    out["time_to_frames_s"] = out["encode_s"] + (sum(steps) if len(steps) == total_steps else total_steps * median) + out["decode_s"]
    out["projected"] = len(steps) != total_steps
    return frames, out


def bare_pipeline(w: Workload, lightning: bool, adapter_config: str = "", dtype: str = "float32"):
    import torch
    from diffusers import AnimateDiffPipeline, DDIMScheduler, EulerDiscreteScheduler, MotionAdapter

    if lightning:  # model card: MotionAdapter() + load_state_dict(load_file(ckpt)); Euler trailing/linear
        from safetensors.torch import load_file

        # (tiny test models: the same architecture as the tiny adapter folder instead of the default one)
        adapter = MotionAdapter.from_config(MotionAdapter.load_config(adapter_config)) if adapter_config else MotionAdapter()
        adapter.load_state_dict(load_file(w.motion_adapter))
        # the card's `torch_dtype=` (float16 there, for CUDA): fp32 as a CPU user copies it, bf16 as an informed one
        pipe = AnimateDiffPipeline.from_pretrained(w.sd, motion_adapter=adapter.to(getattr(torch, dtype)),
                                                   torch_dtype=getattr(torch, dtype))
        pipe.scheduler = EulerDiscreteScheduler.from_config(pipe.scheduler.config, timestep_spacing="trailing",
                                                            beta_schedule="linear")
    else:  # diffusers' AnimateDiff docs: DDIM with a linear beta schedule, no clipping, linspace spacing
        adapter = MotionAdapter.from_pretrained(w.motion_adapter, torch_dtype=torch.float32)
        pipe = AnimateDiffPipeline.from_pretrained(w.sd, motion_adapter=adapter, torch_dtype=torch.float32)
        pipe.scheduler = DDIMScheduler.from_pretrained(w.sd, subfolder="scheduler", clip_sample=False,
                                                       timestep_spacing="linspace", beta_schedule="linear", steps_offset=1)
    pipe.set_progress_bar_config(disable=True)
    return pipe, dtype


def our_pipeline(w: Workload, preset: str):
    from animatediff_ttnn.pipeline import Phase1Pipeline

    pipeline, _ = Phase1Pipeline.from_sources(w.sd, None if preset != "quality" else w.motion_adapter, device="cpu",
                                              preset=preset, steps=w.steps)
    return pipeline


def run_generation(job: str, w: Workload, measure_steps: int, adapter_config: str = "", warm_runs: int = 0):
    import torch

    t_load = time.perf_counter()
    kwargs = dict(prompt=w.prompt, num_frames=w.num_frames, height=w.height, width=w.width,
                  num_inference_steps=w.steps, guidance_scale=w.guidance_scale, output_type="pil", decode_chunk_size=2)
    if job.startswith("bare"):
        pipe, dtype = bare_pipeline(w, job.startswith("bare-lightning"), adapter_config,
                                    "bfloat16" if job.endswith("-bf16") else "float32")
        if w.guidance_scale > 1:
            kwargs["negative_prompt"] = w.negative_prompt
        kwargs["generator"] = torch.Generator("cpu").manual_seed(w.seed)
        load_s = time.perf_counter() - t_load
        frames, out = timed_call(pipe, kwargs, w.steps, measure_steps)
        out["gif_s"] = gif_seconds(frames)
        out["peak_rss_first_run_mb"] = peak_rss_mb()
        info = {"dtype": dtype}
    else:
        from animatediff_ttnn.params import GenerationParams

        pipeline = our_pipeline(w, job.split("-", 1)[1])
        load_s = time.perf_counter() - t_load
        params = GenerationParams(**w.params())

        def on_step(event):  # stop after measure_steps, like the bare run
            if measure_steps and event.step >= measure_steps and event.step < w.steps:
                pipeline.pipe._interrupt = True

        frames, out = our_run(pipeline, params, on_step, w.steps)
        out["peak_rss_first_run_mb"] = peak_rss_mb()  # one run's peak: the warm runs below may add to it
        # The studio's sidecar keeps its models loaded: later runs in the same process are the warm figure
        # (the first run in a fresh process also pays oneDNN's first-call costs).
        warm = [our_run(pipeline, params, on_step, w.steps)[1] for _ in range(warm_runs)]
        if warm:
            out["warm_runs"] = warm
        info = pipeline.describe()
        info = {"dtype": info["dtype"], "dtype_reason": info["dtype_reason"], "scheduler": info["scheduler"]}
    return frames, {"load_s": load_s, **out, **info}


def our_run(pipeline, params, on_step, total_steps: int):
    from animatediff_ttnn.runtime.timings import Timings

    timings = Timings()
    t0 = time.perf_counter()
    frames = pipeline.generate(params, on_step=on_step, timings=timings)
    wall = time.perf_counter() - t0
    steps = timings.steps
    median = statistics.median(steps)
    full = len(steps) == total_steps
    return frames, {"encode_s": timings.encode_s, "steps_s": steps, "decode_s": timings.decode_s, "wall_s": wall,
                    "measured_steps": len(steps), "total_steps": total_steps, "step_median_s": median,
                    "projected": not full, "gif_s": gif_seconds(frames),
                    "time_to_frames_s": timings.first_step_s + (sum(steps) if full else total_steps * median)
                    + timings.decode_s}


def gif_seconds(frames) -> float:
    """Writing the GIF (in memory, as the studio's export does it to disk): part of time-to-GIF."""
    import io

    t0 = time.perf_counter()
    frames[0].save(io.BytesIO(), format="GIF", save_all=True, append_images=frames[1:], duration=125, loop=0)
    return time.perf_counter() - t0


def unet_call_error(w: Workload, steps: int = 3):
    """bf16 vs fp32 on full-size weights: one UNet call, the latents after `steps` steps, PSNR of frames."""
    import numpy as np
    import torch

    from animatediff_ttnn.params import GenerationParams
    from animatediff_ttnn.pipeline import Phase1Pipeline

    params = GenerationParams(**{**w.params(), "steps": steps})
    results, latents, frames, noise = {}, {}, {}, {}
    for dtype in ("float32", "bfloat16"):
        pipeline, _ = Phase1Pipeline.from_sources(w.sd, w.motion_adapter, device="cpu", dtype=dtype)
        g = torch.Generator().manual_seed(1)
        sample = torch.randn(2, 4, w.num_frames, w.height // 8, w.width // 8, generator=g)
        text = torch.randn(2 * w.num_frames, 77, pipeline.pipe.unet.config.cross_attention_dim, generator=g)
        with torch.no_grad():
            noise[dtype] = pipeline.pipe.unet(sample.to(pipeline.dtype), 500, encoder_hidden_states=text.to(pipeline.dtype)).sample.float()
        seen = []
        frames[dtype] = np.stack([np.asarray(f) for f in pipeline.generate(params, on_step=lambda e: seen.append(e.latents))]).astype(np.float64)
        latents[dtype] = seen[-1].float()
        del pipeline
    rel = lambda a, b: float((a - b).norm() / b.norm())  # noqa: E731
    mse = float(np.mean((frames["float32"] - frames["bfloat16"]) ** 2))
    results.update(unet_call_rel_error=rel(noise["bfloat16"], noise["float32"]),
                   latents_rel_error=rel(latents["bfloat16"], latents["float32"]), steps=steps,
                   frames_psnr_db=float("inf") if mse == 0 else 10 * np.log10(255.0**2 / mse))
    return results


def vae_decode(w: Workload, repeats: int = 2):
    """One frame at the job's size through the SD VAE decoder: fp32, bf16, bf16 channels_last; PSNR vs fp32."""
    import numpy as np
    import torch
    from diffusers import AutoencoderKL

    latents = torch.randn(1, 4, w.height // 8, w.width // 8, generator=torch.Generator().manual_seed(0))
    out, images = {}, {}
    from animatediff_ttnn.runtime.device import cpu_bf16_support

    variants = [("float32", torch.float32, False), ("bfloat16", torch.bfloat16, False),
                ("bfloat16_channels_last", torch.bfloat16, True)]
    if not cpu_bf16_support():  # emulated bf16 would take many minutes per frame: fp32 only
        variants = variants[:1]
    for name, dtype, channels_last in variants:
        vae = AutoencoderKL.from_pretrained(w.sd, subfolder="vae", torch_dtype=dtype).eval()
        x = latents.to(dtype)
        if channels_last:
            vae = vae.to(memory_format=torch.channels_last)
            x = x.to(memory_format=torch.channels_last)
        times = []
        with torch.no_grad():
            for _ in range(repeats):
                t0 = time.perf_counter()
                image = vae.decode(x / vae.config.scaling_factor).sample
                times.append(time.perf_counter() - t0)
        images[name] = ((image.float().clamp(-1, 1) + 1) * 127.5).round().numpy()
        out[name] = {"s_per_frame": min(times)}
    for name in images:
        mse = float(np.mean((images[name] - images["float32"]) ** 2))
        out[name]["psnr_vs_fp32_db"] = None if mse == 0 else round(10 * np.log10(255.0**2 / mse), 1)
    return out


def main(argv=None) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("job")
    parser.add_argument("--workload", required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--measure-steps", type=int, default=0, help="stop denoising after N steps (0 = all)")
    parser.add_argument("--warm-runs", type=int, default=0, help="ours: runs after the first one, models loaded")
    parser.add_argument("--adapter-config", default="", help="bare-lightning: a MotionAdapter folder whose config to use")
    args = parser.parse_args(argv)
    w = Workload.from_json(args.workload)
    import torch

    result = {"job": args.job, "torch_threads": torch.get_num_threads()}
    if args.job == "guard":
        result.update(unet_call_error(w))
    elif args.job == "vae":
        result.update(vae_decode(w))
    else:
        cpu0, wall0 = cpu_seconds(), time.perf_counter()
        frames, timing = run_generation(args.job, w, args.measure_steps, args.adapter_config, args.warm_runs)
        # On a machine shared with other work, wall time says little; CPU time of this process
        # (all threads) over the thread count estimates what the wall time would be on a quiet one.
        timing["cpu_s"] = cpu_seconds() - cpu0
        timing["run_wall_s"] = time.perf_counter() - wall0
        args.out.mkdir(parents=True, exist_ok=True)
        frames[0].save(args.out / f"{args.job}.gif", save_all=True, append_images=frames[1:], duration=125, loop=0)
        result.update(timing)
    result["peak_rss_mb"] = peak_rss_mb()
    emit(result)


if __name__ == "__main__":
    main()
