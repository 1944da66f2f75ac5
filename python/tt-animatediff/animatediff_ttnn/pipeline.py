"""Phase 1: AnimateDiff with diffusers - every frame denoised together.

Stable Diffusion 1.4's UNet is turned into a `UNetMotionModel` by inserting the motion modules of
an AnimateDiff `MotionAdapter`. Those modules run attention *across frames* at every step, which
is what makes the frames move coherently. This file is a thin wrapper over diffusers'
`AnimateDiffPipeline`: it picks the device, configures the scheduler the way AnimateDiff was
trained, reports progress and previews through `callback_on_step_end`, honours cancel, and
writes the outputs with their metadata. It does not change the math.
"""

from __future__ import annotations

import inspect
import time
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import torch
from PIL import Image

from .creative import controls as creative
from .runtime.cpu_memory import keep_freed_memory
from .runtime.cpu_speedups import use_onednn_linear
from .runtime.device import choose_dtype, dtype_name, pick_device
from .creative.free_noise import window_noise
from .models.loading import SDComponents, load_preset_motion_adapter, load_sd_components, motion_max_frames
from .params import GenerationParams, ParamError
from .models.presets import DEFAULT_PRESET, PRESETS, Preset, get_preset
from .models.sources import DEFAULT_SD_MODEL
from .runtime.previews import video_latents_to_previews
from .runtime.progress import CancelToken, StepCallback, StepEvent
from .outputs.run_record import RunResult, finish_run
from .runtime.timings import Timings

# Frames the VAE decodes at once: bounds peak memory. Measured on a 2-core CPU, 8 frames at 256x256
# (benchmarks/): chunk 1/2/4/8 -> +320/458/802/1551 MB at 2.07/1.86/1.88/1.88 s per frame; memory
# grows 4x at 512x512. Two is as fast as any larger chunk with little more memory than one.
DECODE_CHUNK_FRAMES = 2


def make_scheduler(sd_scheduler_config: Dict[str, Any], preset: Preset = PRESETS[DEFAULT_PRESET]):
    """The preset's scheduler, stepping in fp32 and keeping x0 of its last step for previews."""
    import diffusers

    base = getattr(diffusers, preset.scheduler)

    class PreviewingScheduler(base):
        """The diffusers scheduler unchanged, except that its arithmetic runs in fp32 whatever the
        UNet's dtype (so the latents carried between steps keep fp32 precision) and that it
        remembers the predicted clean latents of its last step."""

        last_x0: Optional[torch.Tensor] = None

        def step(self, model_output, timestep, sample, *args, **kwargs):
            out = super().step(model_output.float(), timestep, sample.float(), *args, **kwargs)
            if isinstance(out, tuple):
                self.last_x0 = out[1] if len(out) > 1 else None
            else:
                self.last_x0 = getattr(out, "pred_original_sample", None)
                if self.last_x0 is None:
                    self.last_x0 = getattr(out, "denoised", None)  # LCM's name for it
            return out

    PreviewingScheduler.__name__ = PreviewingScheduler.__qualname__ = "Previewing" + base.__name__
    # diffusers passes `generator`/`eta` only to a step() whose signature names them (LCM draws noise)
    PreviewingScheduler.step.__signature__ = inspect.signature(base.step)
    return PreviewingScheduler.from_config(sd_scheduler_config, **preset.scheduler_overrides)


def unet_with_motion(sd: SDComponents, adapter, lora=None) -> Any:
    """SD UNet + motion modules (+ the preset's LoRA); built once per (SD, adapter) pair and kept
    with the SD components.

    The motion UNet *shares* its weights with the SD UNet and the adapter instead of copying them
    (diffusers' `from_unet2d` copies): both stay loaded anyway (Phase 2 uses the SD UNet), so a copy
    would cost another ~5 GB at full size. It is built on the meta device, so nothing is allocated or
    randomly initialised before the weights are attached. Weights are never modified in place: a
    LoRA is added as separate layers around the shared ones (peft), never fused into them.
    """
    key = ("unet_motion", id(adapter), lora)
    if key not in sd.extras:
        from diffusers import UNetMotionModel

        for model in (sd.unet, adapter):
            align_weights(model)
        with torch.device("meta"):
            unet = UNetMotionModel.from_unet2d(sd.unet, adapter, load_weights=False)
        if not share_weights(unet, sd.unet, adapter):  # an unexpected layout: let diffusers copy
            unet = UNetMotionModel.from_unet2d(sd.unet, adapter).to(sd.unet.device)
        if unet.dtype != sd.unet.dtype:
            unet = unet.to(sd.unet.dtype)
        use_onednn_linear(unet)  # fp32 on AMD CPUs: linear layers faster (runtime/cpu_speedups.py)
        if lora is not None:
            load_lora(unet, lora)
        sd.extras[key] = unet.eval().requires_grad_(False)
    return sd.extras[key]


def align_weights(model, alignment: int = 64) -> None:
    """Give weights that sit at odd addresses (views into a loaded safetensors file) their own
    aligned memory. MKL's fp32 results depend on operand alignment in the last bits, and diffusers'
    own AnimateDiffPipeline copies the UNet and adapter into fresh (aligned) memory: without this,
    sharing instead of copying would change the frames by fp32 rounding."""
    with torch.no_grad():
        for param in model.parameters():
            if param.device.type == "cpu" and param.data_ptr() % alignment:
                param.data = param.data.clone()


def load_lora(unet, lora) -> None:
    """The preset's LoRA into the motion UNet, the way diffusers' `load_lora_weights` does it, but
    only into the UNet: the text encoder is shared by every preset and must stay untouched."""
    from diffusers import AnimateDiffPipeline

    from .models.loading import resolve_model_file

    path = resolve_model_file(lora.source, lora.file, "LoRA")
    state, alphas = AnimateDiffPipeline.lora_state_dict(str(path.parent), weight_name=path.name)
    if any(not k.startswith("unet.") for k in state):
        raise ValueError(f"{path.name}: holds layers outside the UNet; only UNet LoRAs are supported here")
    AnimateDiffPipeline.load_lora_into_unet(state, alphas, unet=unet, adapter_name=lora.adapter_name)
    unet.set_adapters([lora.adapter_name], weights=[lora.scale])


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

    def __init__(self, sd: SDComponents, adapter, adapter_source: str, device: torch.device, dtype: torch.dtype,
                 preset: Preset = PRESETS[DEFAULT_PRESET], dtype_reason: str = "",
                 checkpoint_steps: Optional[int] = None):
        from diffusers import AnimateDiffPipeline

        self.sd, self.adapter, self.adapter_source = sd, adapter, adapter_source
        self.device, self.dtype, self.dtype_reason = device, dtype, dtype_reason
        self.preset, self.checkpoint_steps = preset, checkpoint_steps
        self.max_frames = motion_max_frames(adapter)
        self.last_controls: Optional[creative.ResolvedControls] = None
        self.pipe = AnimateDiffPipeline(
            vae=sd.vae,
            text_encoder=sd.text_encoder,
            tokenizer=sd.tokenizer,
            unet=unet_with_motion(sd, adapter, preset.lora),
            motion_adapter=adapter,
            scheduler=make_scheduler(sd.scheduler_config, preset),
        ).to(device)
        self.pipe.set_progress_bar_config(disable=True)
        # the latents are fp32 between steps (make_scheduler); the VAE decodes in its own dtype
        self.pipe.decode_latents = lambda latents, *args, **kwargs: AnimateDiffPipeline.decode_latents(
            self.pipe, latents.to(sd.vae.dtype), *args, **kwargs)

    @classmethod
    def from_sources(cls, model: str = DEFAULT_SD_MODEL, motion_adapter: Optional[str] = None,
                     device: str = "auto", dtype: Optional[str] = None, preset: str = DEFAULT_PRESET,
                     steps: Optional[int] = None) -> Tuple["Phase1Pipeline", float]:
        """Load everything; returns the pipeline and the seconds loading took. `motion_adapter`
        None takes the preset's; `steps` picks the Lightning checkpoint."""
        t0 = time.perf_counter()
        chosen = get_preset(preset)
        dev = pick_device(device)
        dt, reason = choose_dtype(dev, dtype)
        sd = load_sd_components(model, dt)
        adapter, source, checkpoint_steps = load_preset_motion_adapter(chosen, motion_adapter, steps, dt)
        for part in (sd.unet, sd.vae, sd.text_encoder, adapter):
            part.to(dev)
        pipeline = cls(sd, adapter, source, dev, dt, chosen, reason, checkpoint_steps)
        return pipeline, time.perf_counter() - t0

    def check(self, params: GenerationParams) -> None:
        params.validate()  # the frame limit follows from the context window (creative.resolve)
        self.preset.check(params)
        if self.checkpoint_steps is not None and params.steps != self.checkpoint_steps:
            raise ParamError("steps", f"{params.steps}, but the loaded AnimateDiff-Lightning checkpoint is the "
                                      f"{self.checkpoint_steps}-step one; it only works with {self.checkpoint_steps} steps")

    def initial_latents(self, params: GenerationParams, generator: torch.Generator) -> torch.Tensor:
        """The starting noise in fp32, drawn exactly as diffusers draws it for an fp32 pipeline (so
        the same seed gives the same noise in every dtype). The same generator then goes on to the
        scheduler (LCM draws fresh noise every step), as inside diffusers."""
        from diffusers.utils.torch_utils import randn_tensor

        shape = (1, self.pipe.unet.config.in_channels, params.num_frames,
                 params.height // self.pipe.vae_scale_factor, params.width // self.pipe.vae_scale_factor)
        return randn_tensor(shape, generator=generator, device=self.device, dtype=torch.float32)

    def generate(self, params: GenerationParams, on_step: Optional[StepCallback] = None,
                 cancel: Optional[CancelToken] = None, timings: Optional[Timings] = None,
                 preset: Optional[str] = None, dtype: Optional[str] = None,
                 motion_scale: Optional[float] = None) -> List[Image.Image]:
        """`preset`/`dtype`, when given, must be what this pipeline was built with (they choose the
        models and their precision, so they are fixed when it is built: see `from_sources`)."""
        if preset is not None and preset != self.preset.name:
            raise ParamError("preset", f"this pipeline was built for preset {self.preset.name!r}, not {preset!r}")
        if dtype not in (None, "auto") and dtype_name(self.dtype) != dtype_name(choose_dtype(self.device, dtype)[0]):
            raise ParamError("dtype", f"this pipeline was built in {dtype_name(self.dtype)}, not {dtype}")
        self.check(params)
        keep_freed_memory(self.device)  # on the CPU, each step from here on reuses the memory the last one freed
        controls = creative.resolve(params, self.max_frames, self.adapter, motion_scale)
        self.last_controls = controls
        timings = timings or Timings()
        cancel = cancel or CancelToken()
        cancel.raise_if_cancelled()
        scheduler = self.pipe.scheduler
        unet = self.pipe.unet
        step_started = [0.0]
        last_step_end = [0.0]

        def before_unet(_module, args, kwargs):
            if timings.first_step_s is None:
                timings.first_step_s = timings.elapsed()
                timings.encode_s = time.perf_counter() - t_call  # prompt encoding + initial latents
            if not step_started[0]:
                step_started[0] = time.perf_counter()
            # the latents are fp32 between steps (make_scheduler); the UNet takes its own dtype
            return (args[0].to(unet.dtype), *args[1:]), kwargs

        def after_step(_pipe, index: int, _t, callback_kwargs: Dict[str, Any]):
            now = time.perf_counter()
            timings.steps.append(now - step_started[0])
            step_started[0] = 0.0
            latents = callback_kwargs["latents"]
            if on_step is not None:
                x0 = scheduler.last_x0 if scheduler.last_x0 is not None else latents
                on_step(StepEvent(phase=1, step=index + 1, total_steps=params.steps, frame=None,
                                  total_frames=params.num_frames, elapsed_s=timings.elapsed(),
                                  previews=video_latents_to_previews(x0), latents=latents))
            cancel.raise_if_cancelled()  # stops before the next UNet call and before the VAE decode
            last_step_end[0] = time.perf_counter()
            return callback_kwargs

        applied = creative.applied(self.pipe, controls)  # windows, schedule, LoRAs, motion scale: this run only
        applied.__enter__()
        hook = unet.register_forward_pre_hook(before_unet, with_kwargs=True)
        t_call = time.perf_counter()
        generator = torch.Generator("cpu").manual_seed(params.seed)
        try:
            out = self.pipe(
                prompt=controls.prompt,
                negative_prompt=params.negative_prompt or None,
                num_frames=params.num_frames,
                height=params.height,
                width=params.width,
                num_inference_steps=params.steps,
                guidance_scale=params.guidance_scale,
                # with windows, later frames start from a shuffle of earlier frames' noise (noise_type): the
                # same rearrangement, from the same generator, as diffusers' FreeNoise and as Phase 3
                latents=window_noise(self.initial_latents(params, generator), controls.windows, generator),
                generator=generator,
                output_type="pil",
                decode_chunk_size=DECODE_CHUNK_FRAMES,
                callback_on_step_end=after_step,
                callback_on_step_end_tensor_inputs=["latents"],
            )
        finally:
            hook.remove()
            applied.__exit__(None, None, None)
        timings.denoise_s = sum(timings.steps)
        timings.decode_s = time.perf_counter() - last_step_end[0]  # VAE decode + postprocess
        return list(out.frames[0])

    def describe(self) -> Dict[str, Any]:
        scheduler = self.pipe.scheduler
        overrides = self.preset.scheduler_overrides
        return {
            "phase": 1,
            "backend": "torch",
            "device": f"{self.device} ({dtype_name(self.dtype)})",  # what the studio shows beside the result
            "dtype": dtype_name(self.dtype),
            "dtype_reason": self.dtype_reason,
            "preset": self.preset.describe(),
            "models": {
                "sd": {"source": self.sd.source, "revision": self.sd.revision},
                "motion_adapter": {"source": self.adapter_source, "max_frames": self.max_frames,
                                   "checkpoint_steps": self.checkpoint_steps},
            },
            "scheduler": {"class": type(scheduler).__mro__[1].__name__, "math": "float32",
                          **{k: scheduler.config[k] for k in overrides}},
            "creative": self.last_controls.describe() if self.last_controls else None,
        }


def run_phase1(params: GenerationParams, output: Path, pipeline: Optional[Phase1Pipeline] = None,
               model: str = DEFAULT_SD_MODEL, motion_adapter: Optional[str] = None, device: str = "auto",
               on_step: Optional[StepCallback] = None, cancel: Optional[CancelToken] = None,
               preset: str = DEFAULT_PRESET, dtype: Optional[str] = None,
               motion_scale: Optional[float] = None) -> RunResult:
    """Generate and write the outputs. Nothing is written if the run fails or is cancelled."""
    params.validate()  # cheap checks before any model loads; frame limit is checked once the adapter is known
    if pipeline is None:
        get_preset(preset).check(params)
    timings = Timings()
    if pipeline is None:
        pipeline, timings.load_s = Phase1Pipeline.from_sources(model, motion_adapter, device, dtype, preset,
                                                               params.steps)
    frames = pipeline.generate(params, on_step=on_step, cancel=cancel, timings=timings, motion_scale=motion_scale)
    return finish_run(frames, params, output, timings, pipeline.describe(), pipeline.device, cancel=cancel)
