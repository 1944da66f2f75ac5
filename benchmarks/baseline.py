"""The baseline: diffusers' bare `AnimateDiffPipeline` in a plain script, as its documentation
shows it, on the same job (models, seed, size, steps, guidance, threads, decode chunk) as ours.

    python -m benchmarks.baseline --workload JSON --out DIR [--decode-chunk-size N]

Nothing from animatediff_ttnn is imported. The only additions to the documented usage are the
measurements: a forward pre-hook on the UNet and `callback_on_step_end`, which time each step the
same way our pipeline does (UNet call start -> end of the scheduler step).
"""

from __future__ import annotations

import time

T_START = time.perf_counter()

import argparse  # noqa: E402
from pathlib import Path  # noqa: E402

from benchmarks.common import Workload, cpu_seconds, emit, peak_rss_mb, reset_peak_rss, rss_mb  # noqa: E402


def main(argv=None) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--workload", required=True)
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--decode-chunk-size", type=int, default=4)
    parser.add_argument("--runs", type=int, default=2, help="run 1 is cold (first calls), run 2+ warm")
    args = parser.parse_args(argv)
    w = Workload.from_json(args.workload)

    import torch
    from diffusers import AnimateDiffPipeline, DDIMScheduler, MotionAdapter

    t_imported = time.perf_counter()
    adapter = MotionAdapter.from_pretrained(w.motion_adapter, torch_dtype=torch.float32)
    pipe = AnimateDiffPipeline.from_pretrained(w.sd, motion_adapter=adapter, torch_dtype=torch.float32)
    pipe.scheduler = DDIMScheduler.from_pretrained(w.sd, subfolder="scheduler", clip_sample=False,
                                                   timestep_spacing="linspace", beta_schedule="linear", steps_offset=1)
    pipe.set_progress_bar_config(disable=True)
    pipe.to("cpu")
    t_loaded = time.perf_counter()
    rss_loaded, peak_load = rss_mb(), peak_rss_mb()

    runs = []
    for i in range(args.runs):
        runs.append(one_run(pipe, w, args.out / f"baseline-run{i + 1}.gif", args.decode_chunk_size))
    emit({
        "kind": "baseline",
        "torch_threads": torch.get_num_threads(),
        "import_s": t_imported - T_START,
        "load_s": t_loaded - t_imported,
        "rss_loaded_mb": rss_loaded,
        "process_to_first_gif_s": runs[0]["t_gif"] - T_START,  # script start (interpreter up) -> first GIF
        "peak_rss_load_mb": peak_load,
        "runs": runs,
        "peak_rss_mb": max([peak_load or 0] + [r["peak_rss_mb"] or 0 for r in runs]),
    })


def one_run(pipe, w: Workload, gif: Path, decode_chunk_size: int) -> dict:
    import torch

    step_start: list = []
    step_end: list = []
    first_unet: list = []

    def before_unet(_module, _args):
        now = time.perf_counter()
        if not first_unet:
            first_unet.append(now)
        if len(step_start) == len(step_end):
            step_start.append(now)

    def on_step_end(_pipe, _i, _t, kwargs):
        step_end.append(time.perf_counter())
        return kwargs

    hook = pipe.unet.register_forward_pre_hook(before_unet)
    reset_peak_rss()
    cpu0 = cpu_seconds()
    t_call = time.perf_counter()
    try:
        output = pipe(
            prompt=w.prompt,
            negative_prompt=w.negative_prompt or None,
            num_frames=w.num_frames,
            height=w.height,
            width=w.width,
            num_inference_steps=w.steps,
            guidance_scale=w.guidance_scale,
            generator=torch.Generator("cpu").manual_seed(w.seed),
            decode_chunk_size=decode_chunk_size,
            callback_on_step_end=on_step_end,
        )
    finally:
        hook.remove()
    t_frames = time.perf_counter()
    frames = output.frames[0]
    gif.parent.mkdir(parents=True, exist_ok=True)
    duration_ms = 10 * round(100 / w.fps)
    frames[0].save(gif, format="GIF", save_all=True, append_images=frames[1:], duration=duration_ms, loop=0, disposal=2)
    t_gif = time.perf_counter()
    return {
        "first_step_s": first_unet[0] - t_call,  # call -> first UNet call (prompt encoding, latents)
        "steps_s": [e - s for s, e in zip(step_start, step_end)],
        "decode_s": t_frames - step_end[-1],  # VAE decode + postprocess to PIL
        "gif_write_s": t_gif - t_frames,
        "time_to_gif_s": t_gif - t_call,  # models resident: pipe() call -> GIF on disk
        "cpu_s": cpu_seconds() - cpu0,
        "peak_rss_mb": peak_rss_mb(),  # this run's peak (reset before it); the process's is below
        "gif": str(gif),
        "t_gif": t_gif,
    }


if __name__ == "__main__":
    main()
