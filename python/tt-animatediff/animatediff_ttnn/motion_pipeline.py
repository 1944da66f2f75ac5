"""Phase 3: true AnimateDiff, with the UNet run as a frame loop - the shape a Blackhole card needs.

Phase 1 lets diffusers run the motion UNet on all frames at once; Phase 2 runs tt-metal's TTNN SD
UNet frame by frame, with no motion modules at all. Phase 3 joins them: the spatial layers go
frame by frame at batch 2 ([uncond, cond], the TTNN UNet's batch), and AnimateDiff's motion
modules run across all frames at diffusers' 21 insertion points (motion_unet.py). Everything else
is Phase 1's: the DDIM scheduler configured as AnimateDiff was trained, the starting noise from
the seed, classifier-free guidance. So with the same seed it draws Phase 1's frames (up to fp32
rounding) - but through a loop that can be ported to TTNN one layer at a time.

Set MOTION_SCALE to 0.0 and rerun: the motion modules are switched off, every frame becomes a
plain SD 1.4 picture of its own noise, and the temporal-coherence figure in the run record drops.
"""

from __future__ import annotations

import time
from contextlib import nullcontext
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple, Union

import torch
from PIL import Image

from .creative import controls as creative
from .backends.choice import BackendChoice, resolve_backend
from .creative.free_noise import window_noise
from .creative.long_clips import ContextWindows
from .models.loading import SDComponents, load_motion_adapter, load_sd_components, motion_max_frames
from .models.presets import ANIMATEDIFF_SCHEDULER_OVERRIDES
from .models.sources import DEFAULT_MOTION_ADAPTER, DEFAULT_SD_MODEL
from .backends.motion_backend import MotionUNetBackend
from .backends.vae_backend import VaeBackend, vae_for
from .creative.motion_scale import validate_motion_scale  # one definition of the knob for Phase 1 and Phase 3
from .params import GenerationParams
from .pipeline import make_scheduler
from .runtime.previews import video_latents_to_previews
from .creative.prompt_schedule import interpolate_frames
from .runtime.progress import CancelToken, FrameCallback, FrameEvent, StepCallback, StepEvent
from .outputs.run_record import RunResult, finish_run
from .runtime.timings import Timings
from .runtime.step_hooks import StepHooks
from .ttnn_pipeline import decode_frame, encode_prompt

# How much of what the motion modules compute is added (1.0 = AnimateDiff as trained, 0.0 = off).
MOTION_SCALE = 1.0


def start_latents(seed: int, num_frames: int, latent_size: Tuple[int, int], channels: int = 4,
                  windows: Optional[ContextWindows] = None) -> torch.Tensor:
    """(1, 4, F, h, w) standard-normal latents from the seed - drawn exactly as Phase 1 draws them,
    and with context windows rearranged as Phase 1 does (free_noise.window_noise)."""
    generator = torch.Generator("cpu").manual_seed(seed)
    latents = torch.randn((1, channels, num_frames, *latent_size), generator=generator)
    return window_noise(latents, windows, generator)


def text_embeddings(sd: SDComponents, params: GenerationParams, controls: creative.ResolvedControls) -> torch.Tensor:
    """CLIP output for the run: (2, 77, D) [uncond, cond] for one prompt; with a prompt schedule one
    pair per frame, (2*F, 77, D) b-major (all uncond frames, then all cond frames), the cond half
    blended between scheduled frames as Phase 1 blends it (prompt_schedule.interpolate_frames)."""
    if not controls.rows:
        return encode_prompt(sd, params.prompt, params.negative_prompt)
    pairs = {frame: encode_prompt(sd, prompt, params.negative_prompt) for frame, prompt in controls.prompt.items()}
    cond = interpolate_frames({frame: pair[1] for frame, pair in pairs.items()}, params.num_frames)
    uncond = pairs[0][0].expand_as(cond)
    return torch.cat([uncond, cond])


def select_motion_backend(choice: BackendChoice, unet, adapter, height: int, width: int,
                          tt_metal_home: Optional[str] = None, num_frames: Optional[int] = None,
                          vae=None) -> MotionUNetBackend:
    """Build the backend `choice` resolved to (BackendUnavailable for a "blackhole" with no card).
    `vae`: the torch VAE, which the blackhole backend puts on the card too."""
    if choice.require() == "blackhole":
        from .backends.blackhole_motion_backend import BlackholeMotionBackend

        # refuses size, architecture, frames and a missing checkout before it opens the device
        return BlackholeMotionBackend(unet, adapter, height, width, num_frames, tt_metal_home=tt_metal_home,
                                      device_status=choice.device, vae=vae)
    from .backends.torch_motion_backend import TorchMotionBackend

    return TorchMotionBackend(unet, adapter)


class Phase3Pipeline:
    def __init__(self, sd: SDComponents, adapter, adapter_source: str, backend: Union[str, BackendChoice] = "auto",
                 tt_metal_home: Optional[str] = None, dtype_reason: str = ""):
        self.sd, self.adapter, self.adapter_source = sd, adapter, adapter_source
        # a name is checked and resolved here; a BackendChoice was resolved by the caller (run_phase3)
        self.backend_choice = backend if isinstance(backend, BackendChoice) else resolve_backend(backend, phase=3)
        self.requested_backend = self.backend_choice.requested
        self.dtype_reason = dtype_reason
        self.tt_metal_home = tt_metal_home
        self.max_frames = motion_max_frames(adapter)
        self._backend: Optional[MotionUNetBackend] = None
        self._backend_key: Optional[Tuple[int, int]] = None
        self.backend_reason = ""
        self.last_motion_scale: Optional[float] = None
        self.last_controls: Optional[creative.ResolvedControls] = None
        self._vae: Optional[VaeBackend] = None

    @classmethod
    def from_sources(cls, model: str = DEFAULT_SD_MODEL, motion_adapter: str = DEFAULT_MOTION_ADAPTER,
                     backend: Union[str, BackendChoice] = "auto", device: str = "auto",
                     tt_metal_home: Optional[str] = None) -> Tuple["Phase3Pipeline", float]:
        from .runtime.device import choose_dtype, pick_device

        choice = backend if isinstance(backend, BackendChoice) else resolve_backend(backend, phase=3)
        t0 = time.perf_counter()
        dev = pick_device(device)
        dtype, reason = choose_dtype(dev)
        sd = load_sd_components(model, dtype)
        adapter = load_motion_adapter(motion_adapter, dtype)
        for part in (sd.unet, sd.vae, sd.text_encoder, adapter):
            part.to(dev)
        return cls(sd, adapter, motion_adapter, choice, tt_metal_home, dtype_reason=reason), time.perf_counter() - t0

    def backend_for(self, params: GenerationParams) -> MotionUNetBackend:
        key = (params.height, params.width)  # a TTNN UNet is built for one image size
        if self._backend is None or (self._backend.name == "blackhole" and key != self._backend_key):
            if self._backend is not None:
                self._backend.close()
            self._backend = select_motion_backend(self.backend_choice, self.sd.unet, self.adapter, params.height,
                                                  params.width, self.tt_metal_home, params.num_frames, self.sd.vae)
            self.backend_reason = self.backend_choice.reason
            self._backend_key = key
        return self._backend

    def generate(self, params: GenerationParams, on_step: Optional[StepCallback] = None,
                 on_frame: Optional[FrameCallback] = None, cancel: Optional[CancelToken] = None,
                 timings: Optional[Timings] = None, motion_scale: Optional[float] = None) -> List[Image.Image]:
        params.validate()  # the frame limit follows from the context window (creative.resolve)
        scale = validate_motion_scale(MOTION_SCALE if motion_scale is None else motion_scale)
        controls = creative.resolve(params, self.max_frames, self.adapter, scale, schedule_needs_windows=False)
        creative.unsupported_on(controls, self.requested_backend)  # before a device is opened
        self.last_motion_scale, self.last_controls = scale, controls
        timings = timings or Timings()
        cancel = cancel or CancelToken()
        cancel.raise_if_cancelled()
        backend = self.backend_for(params)
        backend.motion_scale = scale

        t0 = time.perf_counter()
        embeddings = backend.prepare_text_embeddings(text_embeddings(self.sd, params, controls))
        scheduler = make_scheduler(self.sd.scheduler_config)
        scheduler.set_timesteps(params.steps)
        factor = 2 ** (len(self.sd.vae.config.block_out_channels) - 1)
        latents = start_latents(params.seed, params.num_frames, (params.height // factor, params.width // factor),
                                self.sd.unet.config.in_channels, controls.windows) * scheduler.init_noise_sigma
        timings.encode_s = time.perf_counter() - t0

        def step_event(index: int, _t: Any, step: Dict[str, Any]) -> StepEvent:
            return StepEvent(phase=3, step=index + 1, total_steps=params.steps, frame=None,
                             total_frames=params.num_frames, elapsed_s=timings.elapsed(),
                             previews=video_latents_to_previews(scheduler.last_x0), latents=step["latents"])

        hooks = StepHooks(step_event, on_step, cancel, timings)  # timing, cancel, previews (runtime/step_hooks.py)
        # windows and LoRAs for this run only (the blackhole backend has been refused them above)
        with creative.frame_loop_applied(backend.model, controls) if backend.name == "torch" else nullcontext():
            for index, t in enumerate(scheduler.timesteps):
                hooks.on_step_begin()
                model_input = scheduler.scale_model_input(latents, t)
                noise = backend.guided_noise(model_input, int(t), embeddings, params.guidance_scale)
                latents = scheduler.step(noise, t, latents, eta=0.0).prev_sample
                hooks.callback_on_step_end(self, index, t, {"latents": latents})
        timings.denoise_s = sum(timings.steps)

        frames: List[Image.Image] = []
        vae = self._vae = vae_for(backend, self.sd.vae)  # the torch VAE, or tt-metal's on the card (untested there)
        for frame in range(params.num_frames):  # one frame per VAE call: the least memory
            cancel.raise_if_cancelled()
            d0 = time.perf_counter()
            frames.append(decode_frame(vae, latents[:, :, frame]))
            timings.decode_s += time.perf_counter() - d0
            if on_frame is not None:
                on_frame(FrameEvent(frame=frame, total_frames=params.num_frames, image=frames[-1],
                                    elapsed_s=timings.elapsed()))
        return frames

    def describe(self) -> Dict[str, Any]:
        backend = self._backend
        return {
            "phase": 3,
            "backend": backend.name if backend else self.requested_backend,
            "backend_reason": self.backend_reason,
            "device": backend.device_description if backend else "",
            "vae": self._vae.description if self._vae else "",
            "dtype": str(self.sd.unet.dtype).replace("torch.", ""),
            "dtype_reason": self.dtype_reason,
            "models": {
                "sd": {"source": self.sd.source, "revision": self.sd.revision},
                "motion_adapter": {"source": self.adapter_source, "max_frames": self.max_frames},
            },
            "scheduler": {"class": "DDIMScheduler", **ANIMATEDIFF_SCHEDULER_OVERRIDES},
            "motion_scale": self.last_motion_scale,
            "creative": self.last_controls.describe() if self.last_controls else None,
        }

    def close(self) -> None:
        if self._backend is not None:
            self._backend.close()
            self._backend = None


def run_phase3(params: GenerationParams, output: Path, pipeline: Optional[Phase3Pipeline] = None,
               model: str = DEFAULT_SD_MODEL, motion_adapter: str = DEFAULT_MOTION_ADAPTER, backend: str = "auto",
               device: str = "auto", on_step: Optional[StepCallback] = None, on_frame: Optional[FrameCallback] = None,
               cancel: Optional[CancelToken] = None, motion_scale: Optional[float] = None) -> RunResult:
    """Generate and write the outputs. Nothing is written if the run fails or is cancelled."""
    params.validate()  # before any model loads; generate checks again (it is an entry of its own)
    if motion_scale is not None:
        validate_motion_scale(motion_scale)
    timings = Timings()
    if pipeline is None:
        choice = resolve_backend(backend, phase=3)
        choice.require()  # a bad name, or "blackhole" with no card: refused before any model loads
        pipeline, timings.load_s = Phase3Pipeline.from_sources(model, motion_adapter, choice, device)
    frames = pipeline.generate(params, on_step=on_step, on_frame=on_frame, cancel=cancel, timings=timings,
                               motion_scale=motion_scale)
    return finish_run(frames, params, output, timings, pipeline.describe(), pipeline.sd.unet.device, cancel=cancel)
