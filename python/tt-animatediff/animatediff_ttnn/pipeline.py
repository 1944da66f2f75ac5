"""Phase 1: AnimateDiff with diffusers - every frame denoised together.

Stable Diffusion 1.4's UNet is turned into a `UNetMotionModel` by inserting the motion modules of
an AnimateDiff `MotionAdapter`. Those modules run attention *across frames* at every step, which
is what makes the frames move coherently. This file is a thin wrapper over diffusers'
`AnimateDiffPipeline`: it picks the device, configures the scheduler the way AnimateDiff was
trained, reports progress and previews through `callback_on_step_end`, honours cancel, and
writes the outputs with their metadata. It does not change the math.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import torch
from PIL import Image

from .cpu_speedups import use_onednn_linear
from .device import pick_device, pick_dtype
from .models import DEFAULT_MOTION_ADAPTER, DEFAULT_SD_MODEL, SDComponents, load_motion_adapter, load_sd_components, motion_max_frames
from .params import GenerationParams
from .previews import video_latents_to_previews
from .progress import CancelToken, StepCallback, StepEvent
from .run_record import RunResult, Timings, finish_run

# AnimateDiff's motion modules were trained with a linear beta schedule and no sample clipping.
ANIMATEDIFF_SCHEDULER_OVERRIDES = {
    "beta_schedule": "linear",
    "clip_sample": False,
    "steps_offset": 1,
    "timestep_spacing": "linspace",
}
# Frames the VAE decodes at once: bounds peak memory. Measured on a 2-core CPU, 8 frames at 256x256
# (benchmarks/): chunk 1/2/4/8 -> +320/458/802/1551 MB at 2.07/1.86/1.88/1.88 s per frame; memory
# grows 4x at 512x512. Two is as fast as any larger chunk with little more memory than one.
DECODE_CHUNK_FRAMES = 2


def make_scheduler(sd_scheduler_config: Dict[str, Any]):
    """DDIM configured for AnimateDiff, keeping x0 of the last step for previews."""
    from diffusers import DDIMScheduler

    class PreviewingDDIMScheduler(DDIMScheduler):
        """DDIM unchanged, except that it remembers the predicted clean latents of its last step."""

        last_x0: Optional[torch.Tensor] = None

        def step(self, *args, **kwargs):
            out = super().step(*args, **kwargs)
            self.last_x0 = out[1] if isinstance(out, tuple) else out.pred_original_sample
            return out

    return PreviewingDDIMScheduler.from_config(sd_scheduler_config, **ANIMATEDIFF_SCHEDULER_OVERRIDES)


def unet_with_motion(sd: SDComponents, adapter) -> Any:
    """SD UNet + motion modules; built once per (SD, adapter) pair and kept with the SD components.

    The motion UNet *shares* its weights with the SD UNet and the adapter instead of copying them
    (diffusers' `from_unet2d` copies): both stay loaded anyway (Phase 2 uses the SD UNet), so a copy
    would cost another ~5 GB at full size. It is built on the meta device, so nothing is allocated or
    randomly initialised before the weights are attached. Weights are never modified in place.
    """
    key = ("unet_motion", id(adapter))
    if key not in sd.extras:
        from diffusers import UNetMotionModel

        with torch.device("meta"):
            unet = UNetMotionModel.from_unet2d(sd.unet, adapter, load_weights=False)
        if not share_weights(unet, sd.unet, adapter):  # an unexpected layout: let diffusers copy
            unet = UNetMotionModel.from_unet2d(sd.unet, adapter).to(sd.unet.device)
        if unet.dtype != sd.unet.dtype:
            unet = unet.to(sd.unet.dtype)
        use_onednn_linear(unet)  # fp32 on AMD AVX-512 CPUs: linear layers ~2x faster (cpu_speedups.py)
        sd.extras[key] = unet.eval().requires_grad_(False)
    return sd.extras[key]


def share_weights(motion_unet, unet2d, adapter) -> bool:
    """Point every parameter and buffer of `motion_unet` at the tensor of the same name in the SD
    UNet (or, under `motion_modules`, in the adapter). False, and nothing changed, if any is missing
    or differs in shape or dtype."""
    sources = {"unet": dict(unet2d.named_modules()), "adapter": dict(adapter.named_modules())}
    plan = []
    for name, module in motion_unet.named_modules():
        source = sources["adapter" if "motion_modules" in name.split(".") else "unet"].get(name)
        for kind in ("_parameters", "_buffers"):
            for attr, tensor in getattr(module, kind).items():
                if tensor is None:
                    continue
                other = getattr(source, kind, {}).get(attr) if source is not None else None
                if other is None or other.shape != tensor.shape or other.dtype != tensor.dtype:
                    return False
                plan.append((module, kind, attr, other))
    for module, kind, attr, other in plan:
        getattr(module, kind)[attr] = other
    return True


class Phase1Pipeline:
    """AnimateDiff on one torch device. Build with `from_sources`, or from already-loaded parts."""

    def __init__(self, sd: SDComponents, adapter, adapter_source: str, device: torch.device, dtype: torch.dtype):
        from diffusers import AnimateDiffPipeline

        self.sd, self.adapter, self.adapter_source = sd, adapter, adapter_source
        self.device, self.dtype = device, dtype
        self.max_frames = motion_max_frames(adapter)
        self.pipe = AnimateDiffPipeline(
            vae=sd.vae,
            text_encoder=sd.text_encoder,
            tokenizer=sd.tokenizer,
            unet=unet_with_motion(sd, adapter),
            motion_adapter=adapter,
            scheduler=make_scheduler(sd.scheduler_config),
        ).to(device)
        self.pipe.set_progress_bar_config(disable=True)

    @classmethod
    def from_sources(cls, model: str = DEFAULT_SD_MODEL, motion_adapter: str = DEFAULT_MOTION_ADAPTER,
                     device: str = "auto", dtype: Optional[str] = None) -> Tuple["Phase1Pipeline", float]:
        """Load everything; returns the pipeline and the seconds loading took."""
        t0 = time.perf_counter()
        dev = pick_device(device)
        dt = pick_dtype(dev, dtype)
        sd = load_sd_components(model, dt)
        adapter = load_motion_adapter(motion_adapter, dt)
        for part in (sd.unet, sd.vae, sd.text_encoder, adapter):
            part.to(dev)
        return cls(sd, adapter, motion_adapter, dev, dt), time.perf_counter() - t0

    def generate(self, params: GenerationParams, on_step: Optional[StepCallback] = None,
                 cancel: Optional[CancelToken] = None, timings: Optional[Timings] = None) -> List[Image.Image]:
        params.validate(max_frames=self.max_frames)
        timings = timings or Timings()
        cancel = cancel or CancelToken()
        cancel.raise_if_cancelled()
        scheduler = self.pipe.scheduler
        unet = self.pipe.unet
        step_started = [0.0]
        last_step_end = [0.0]

        def before_unet(_module, _args):
            if timings.first_step_s is None:
                timings.first_step_s = timings.elapsed()
                timings.encode_s = time.perf_counter() - t_call  # prompt encoding + initial latents
            if not step_started[0]:
                step_started[0] = time.perf_counter()

        def after_step(_pipe, index: int, _t, callback_kwargs: Dict[str, Any]):
            now = time.perf_counter()
            timings.steps.append(now - step_started[0])
            step_started[0] = 0.0
            if on_step is not None:
                x0 = scheduler.last_x0 if scheduler.last_x0 is not None else callback_kwargs["latents"]
                on_step(StepEvent(phase=1, step=index + 1, total_steps=params.steps, frame=None,
                                  total_frames=params.num_frames, elapsed_s=timings.elapsed(),
                                  previews=video_latents_to_previews(x0), latents=callback_kwargs["latents"]))
            cancel.raise_if_cancelled()  # stops before the next UNet call and before the VAE decode
            last_step_end[0] = time.perf_counter()
            return callback_kwargs

        hook = unet.register_forward_pre_hook(before_unet)
        t_call = time.perf_counter()
        try:
            out = self.pipe(
                prompt=params.prompt,
                negative_prompt=params.negative_prompt or None,
                num_frames=params.num_frames,
                height=params.height,
                width=params.width,
                num_inference_steps=params.steps,
                guidance_scale=params.guidance_scale,
                generator=torch.Generator("cpu").manual_seed(params.seed),
                output_type="pil",
                decode_chunk_size=DECODE_CHUNK_FRAMES,
                callback_on_step_end=after_step,
                callback_on_step_end_tensor_inputs=["latents"],
            )
        finally:
            hook.remove()
        timings.denoise_s = sum(timings.steps)
        timings.decode_s = time.perf_counter() - last_step_end[0]  # VAE decode + postprocess
        return list(out.frames[0])

    def describe(self) -> Dict[str, Any]:
        return {
            "phase": 1,
            "backend": "torch",
            "device": str(self.device),
            "dtype": str(self.dtype).replace("torch.", ""),
            "models": {
                "sd": {"source": self.sd.source, "revision": self.sd.revision},
                "motion_adapter": {"source": self.adapter_source, "max_frames": self.max_frames},
            },
            "scheduler": {"class": "DDIMScheduler", **ANIMATEDIFF_SCHEDULER_OVERRIDES},
        }


def run_phase1(params: GenerationParams, output: Path, pipeline: Optional[Phase1Pipeline] = None,
               model: str = DEFAULT_SD_MODEL, motion_adapter: str = DEFAULT_MOTION_ADAPTER, device: str = "auto",
               on_step: Optional[StepCallback] = None, cancel: Optional[CancelToken] = None) -> RunResult:
    """Generate and write the outputs. Nothing is written if the run fails or is cancelled."""
    params.validate()  # cheap checks before any model loads; frame limit is checked once the adapter is known
    timings = Timings()
    if pipeline is None:
        pipeline, timings.load_s = Phase1Pipeline.from_sources(model, motion_adapter, device)
    frames = pipeline.generate(params, on_step=on_step, cancel=cancel, timings=timings)
    return finish_run(frames, params, output, timings, pipeline.describe(), pipeline.device, cancel=cancel)
