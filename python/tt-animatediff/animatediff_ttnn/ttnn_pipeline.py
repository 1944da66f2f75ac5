"""Phase 2: an animation from a plain SD 1.4 UNet, one frame at a time, on a Tenstorrent Blackhole.

tt-metal ships a TTNN port of the Stable Diffusion 1.4 UNet, not of AnimateDiff's motion modules.
So this phase does not attend across frames. Instead it makes the frames *related* through their
starting noise: every frame starts from the same base noise plus a small frame-specific
perturbation, and is denoised from scratch with a freshly reset PNDM scheduler. Similar noise +
the same prompt + a deterministic model = similar pictures that differ a little: a "wobble"
animation. Turn PERTURBATION_STRENGTH up for more change between frames, down for less; at 0.0
every frame is the same picture.

The loop below is the whole algorithm. It talks to the hardware only through a `UNetBackend`
(backends/unet_backend.py): `blackhole` runs tt-metal's TTNN UNet on the card, captured once as a
trace and replayed every step with that step's inputs written into the trace's buffers
(backends/ttnn_trace.py); `torch` runs diffusers' UNet on any torch device. Both keep the latents and
the PNDM scheduler in torch. CLIP runs once per run in torch and is cheap. The VAE runs once per
frame, through a `VaeBackend` (backends/vae_backend.py): the torch VAE, or - on the card -
tt-metal's TTNN VAE. In the torch loop on a CPU a decode is about one more UNet call per frame
(1.5-1.9 s against 1.6 s per UNet call at 256x256 on a 2-core AMD EPYC, benchmarks/latest.md); next
to a card it would be the slow part (16.4 s per 512x512 frame in fp32 on that CPU,
benchmarks/presets-latest.md), which is why the card decodes too.
The card path has not yet run on a card by us; lesson 05 (Phase 2) gives tt-metal's own budgets for it.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple, Union

import torch
from PIL import Image

from .models.loading import SDComponents, load_sd_components
from .models.sources import DEFAULT_SD_MODEL
from .backends.choice import BackendChoice, resolve_backend
from .params import GenerationParams, validate_perturbation_strength
from .runtime.previews import latents_to_previews, predicted_x0
from .runtime.progress import CancelToken, FrameCallback, FrameEvent, StepCallback, StepEvent
from .outputs.run_record import RunResult, finish_run
from .runtime.timings import Timings
from .runtime.step_hooks import StepHooks
from .backends.unet_backend import UNetBackend
from .backends.vae_backend import VaeBackend, vae_for

# How different each frame's starting noise is from the shared base noise (0.0 = identical frames).
# Try 0.02 for a gentle shimmer, 0.1-0.2 for visible motion; above ~0.3 frames stop looking related.
PERTURBATION_STRENGTH = 0.05


def frame_noise(seed: int, num_frames: int, latent_shape: Tuple[int, ...], strength: float) -> List[torch.Tensor]:
    """Starting latents for every frame: base noise mixed with a little per-frame noise.

    The mix keeps unit variance (sqrt(1 - s^2) * base + s * own), because the scheduler expects
    its starting latents to be standard normal; plain `base + s * own` would slightly inflate it.
    """
    generator = torch.Generator("cpu").manual_seed(seed)
    base = torch.randn(latent_shape, generator=generator)
    keep = (1.0 - strength**2) ** 0.5
    return [keep * base + strength * torch.randn(latent_shape, generator=generator) for _ in range(num_frames)]


@torch.no_grad()
def encode_prompt(sd: SDComponents, prompt: str, negative_prompt: str) -> torch.Tensor:
    """CLIP embeddings for the batch [uncond, cond], shape (2, 77, hidden). Done once per run."""
    tokens = sd.tokenizer(
        [negative_prompt, prompt],
        padding="max_length",
        max_length=sd.tokenizer.model_max_length,
        truncation=True,
        return_tensors="pt",
    )
    device = sd.text_encoder.device
    return sd.text_encoder(tokens.input_ids.to(device))[0].float().cpu()


def decode_frame(vae: VaeBackend, latents: torch.Tensor) -> Image.Image:
    """One frame's latents (1, 4, h, w) to a PIL image. `vae` decodes them (backends/vae_backend.py):
    diffusers' VAE in torch, or tt-metal's TTNN VAE on the card (not yet run on a card by us)."""
    image = vae.decode(latents)  # (3, H, W), about -1..1
    pixels = ((image.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).permute(1, 2, 0).numpy()
    return Image.fromarray(pixels)


def denoise_frames(
    backend: UNetBackend,
    embeddings: Any,
    start_latents: Sequence[torch.Tensor],
    steps: int,
    guidance_scale: float,
    hooks: Optional[StepHooks] = None,
    on_frame_latents: Optional[Callable[[int, torch.Tensor], None]] = None,
) -> List[torch.Tensor]:
    """The Phase 2 loop: every frame denoised on its own with a freshly reset scheduler.

    `hooks` (runtime/step_hooks.py) time each step, honour cancel and publish previews; `on_frame_latents`
    gets each frame's final latents (the pipeline decodes them there)."""
    hooks = hooks or StepHooks()
    finished: List[torch.Tensor] = []
    for frame, start in enumerate(start_latents):
        timesteps = backend.reset_scheduler(steps)  # PNDM history must not leak between frames
        latents = backend.to_native(start)
        for index, t in enumerate(timesteps):
            hooks.on_step_begin()
            noise = backend.guided_noise(latents, index, t, embeddings, guidance_scale)
            sample, latents = latents, backend.scheduler_step(noise, index, t, latents)
            hooks.callback_on_step_end(None, index, t, {"frame": frame, "timesteps": timesteps, "sample": sample,
                                                        "noise_pred": noise, "latents": latents})
        final = backend.to_torch(latents)
        finished.append(final)
        if on_frame_latents is not None:
            on_frame_latents(frame, final)
    return finished


def select_backend(choice: BackendChoice, sd: SDComponents, height: int, width: int,
                   tt_metal_home: Optional[str] = None) -> UNetBackend:
    """Build the backend `choice` resolved to (BackendUnavailable for a "blackhole" with no card).
    The blackhole backend gets the torch VAE too, to decode on the card."""
    if choice.require() == "blackhole":
        from .backends.blackhole_backend import BlackholeUNetBackend

        return BlackholeUNetBackend(sd.unet, sd.scheduler_config, height=height, width=width,
                                    tt_metal_home=tt_metal_home, device_status=choice.device, vae=sd.vae)
    from .backends.torch_backend import TorchUNetBackend

    return TorchUNetBackend(sd.unet, sd.scheduler_config)


class Phase2Pipeline:
    def __init__(self, sd: SDComponents, backend: Union[str, BackendChoice] = "auto", tt_metal_home: Optional[str] = None,
                 dtype_reason: str = ""):
        self.sd = sd
        # a name is checked and resolved here; a BackendChoice was resolved by the caller (from_sources)
        self.backend_choice = backend if isinstance(backend, BackendChoice) else resolve_backend(backend, phase=2)
        self.requested_backend = self.backend_choice.requested
        self.tt_metal_home = tt_metal_home
        self._backend: Optional[UNetBackend] = None
        self._backend_key: Optional[Tuple[int, int]] = None
        self.backend_reason = ""
        self.last_perturbation_strength: Optional[float] = None
        self.dtype_reason = dtype_reason
        self._vae: Optional[VaeBackend] = None

    @classmethod
    def from_sources(cls, model: str = DEFAULT_SD_MODEL, backend: Union[str, BackendChoice] = "auto",
                     device: str = "cpu", tt_metal_home: Optional[str] = None,
                     dtype: Optional[str] = None) -> Tuple["Phase2Pipeline", float]:
        from .runtime.device import choose_dtype, pick_device

        choice = backend if isinstance(backend, BackendChoice) else resolve_backend(backend, phase=2)
        t0 = time.perf_counter()
        dev = pick_device(device)
        dt, reason = choose_dtype(dev, dtype, phase=2, backend=choice.resolved)
        sd = load_sd_components(model, dt)
        # All three on the device: CLIP and the VAE left on the CPU in the GPU's fp16 would be slow.
        for part in (sd.unet, sd.vae, sd.text_encoder):
            part.to(dev)
        return cls(sd, choice, tt_metal_home, dtype_reason=reason), time.perf_counter() - t0

    def backend_for(self, params: GenerationParams) -> UNetBackend:
        # The TTNN UNet is built for one image size, so the backend is rebuilt when the size changes.
        key = (params.height, params.width)
        if self._backend is None or (self._backend.name == "blackhole" and key != self._backend_key):
            if self._backend is not None:
                self._backend.close()
            self._backend = select_backend(self.backend_choice, self.sd, params.height, params.width,
                                           self.tt_metal_home)
            self.backend_reason = self.backend_choice.reason
            self._backend_key = key
        return self._backend

    def generate(self, params: GenerationParams, on_step: Optional[StepCallback] = None,
                 on_frame: Optional[FrameCallback] = None, cancel: Optional[CancelToken] = None,
                 timings: Optional[Timings] = None, perturbation_strength: Optional[float] = None) -> List[Image.Image]:
        from diffusers import PNDMScheduler

        params.validate()
        strength = validate_perturbation_strength(
            PERTURBATION_STRENGTH if perturbation_strength is None else perturbation_strength)
        self.last_perturbation_strength = strength
        timings = timings or Timings()
        cancel = cancel or CancelToken()
        cancel.raise_if_cancelled()
        backend = self.backend_for(params)
        vae = self._vae = vae_for(backend, self.sd.vae)  # the torch VAE, or tt-metal's on the card

        t0 = time.perf_counter()
        embeddings = backend.prepare_text_embeddings(encode_prompt(self.sd, params.prompt, params.negative_prompt))
        scale = 2 ** (len(self.sd.vae.config.block_out_channels) - 1)
        shape = (1, self.sd.unet.config.in_channels, params.height // scale, params.width // scale)
        starts = frame_noise(params.seed, params.num_frames, shape, strength)
        timings.encode_s = time.perf_counter() - t0

        frames: List[Image.Image] = []

        def decode_now(index: int, latents: torch.Tensor) -> None:
            cancel.raise_if_cancelled()
            d0 = time.perf_counter()
            frames.append(decode_frame(vae, latents))
            timings.decode_s += time.perf_counter() - d0
            if on_frame is not None:
                on_frame(FrameEvent(frame=index, total_frames=params.num_frames, image=frames[-1],
                                    elapsed_s=timings.elapsed(), latents=latents))

        alphas = PNDMScheduler.from_config(self.sd.scheduler_config).alphas_cumprod

        def step_event(index: int, t: int, step: Dict[str, Any]) -> StepEvent:
            # Only the frame being denoised: finished frames were shown once, fully decoded,
            # so a preview's size does not grow with the number of frames.
            x0 = predicted_x0(backend.to_torch(step["sample"]), backend.to_torch(step["noise_pred"]), float(alphas[t]))
            return StepEvent(phase=2, step=index + 1, total_steps=len(step["timesteps"]), frame=step["frame"],
                             total_frames=params.num_frames, elapsed_s=timings.elapsed(),
                             previews=latents_to_previews(x0))

        denoise_frames(backend, embeddings, starts, params.steps, params.guidance_scale,
                       StepHooks(step_event, on_step, cancel, timings), on_frame_latents=decode_now)
        timings.denoise_s = sum(timings.steps)
        return frames

    def describe(self) -> Dict[str, Any]:
        backend = self._backend
        return {
            "phase": 2,
            "backend": backend.name if backend else self.requested_backend,
            "backend_reason": self.backend_reason,
            "device": backend.device_description if backend else "",
            "vae": self._vae.description if self._vae else "",
            "dtype": str(self.sd.unet.dtype).replace("torch.", ""),
            "dtype_reason": self.dtype_reason,
            "models": {"sd": {"source": self.sd.source, "revision": self.sd.revision}},
            "scheduler": {"class": "PNDMScheduler", "reset": "per frame"},
            "perturbation_strength": self.last_perturbation_strength,
        }

    def close(self) -> None:
        if self._backend is not None:
            self._backend.close()
            self._backend = None


def run_phase2(params: GenerationParams, output: Path, pipeline: Optional[Phase2Pipeline] = None,
               model: str = DEFAULT_SD_MODEL, backend: str = "auto", device: str = "cpu",
               on_step: Optional[StepCallback] = None, on_frame: Optional[FrameCallback] = None,
               cancel: Optional[CancelToken] = None, perturbation_strength: Optional[float] = None,
               dtype: Optional[str] = None) -> RunResult:
    """Generate and write the outputs. Nothing is written if the run fails or is cancelled."""
    params.validate()  # before any model loads; generate checks again (it is an entry of its own)
    timings = Timings()
    if pipeline is None:
        choice = resolve_backend(backend, phase=2)
        choice.require()  # a bad name, or "blackhole" with no card: refused before any model loads
        pipeline, timings.load_s = Phase2Pipeline.from_sources(model, choice, device, dtype=dtype)
    frames = pipeline.generate(params, on_step=on_step, on_frame=on_frame, cancel=cancel, timings=timings,
                               perturbation_strength=perturbation_strength)
    return finish_run(frames, params, output, timings, pipeline.describe(), pipeline.sd.unet.device, cancel=cancel)
