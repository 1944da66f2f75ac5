"""The `blackhole` UNet backend: tt-metal's TTNN Stable Diffusion 1.4 UNet and PNDM scheduler.

tt-metal's TTNN UNet is a hand-tuned port whose kernels are fixed to 512x512 (64x64 latents),
batch 2 ([uncond, cond]) and 77 CLIP tokens padded to 96, and it takes the timestep already
through `time_proj`. So this backend checks those limits up front, pads and precomputes on the
host (plain torch functions below, testable anywhere) and runs UNet, CFG and PNDM on the card.
Every BlackholeUNetBackend method needs hardware.
"""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Union

import torch

from .tt_metal import DeviceStatus, detect_blackhole, find_sd_demo, import_sd_demo
from .unet_backend import BackendUnavailable

SUPPORTED_SIZE = (512, 512)  # (height, width) the TTNN UNet is built for
UNET_BATCH = 2  # [uncond, cond]; the TTNN attention configs assume exactly 2
CLIP_TOKENS = 77
TTNN_TEXT_TOKENS = 96  # 77 rounded up to whole 32-row tiles; tokens 77..95 are masked by the UNet
CLIP_WIDTH = 768
MIN_INFERENCE_STEPS = 4  # tt-metal's demo asserts this for its PNDM scheduler

# The SD 1.x architecture the TTNN UNet hard-codes (heads, channels, block order, conv_in padding).
SD14_UNET_ARCHITECTURE: Dict[str, Any] = {
    "in_channels": 4,
    "out_channels": 4,
    "block_out_channels": (320, 640, 1280, 1280),
    "layers_per_block": 2,
    "cross_attention_dim": CLIP_WIDTH,
    "attention_head_dim": 8,
    "norm_num_groups": 32,
    "down_block_types": ("CrossAttnDownBlock2D",) * 3 + ("DownBlock2D",),
    "mid_block_type": "UNetMidBlock2DCrossAttn",
    "up_block_types": ("UpBlock2D",) + ("CrossAttnUpBlock2D",) * 3,
    "center_input_sample": False,
    "class_embed_type": None,
    "num_class_embeds": None,
    "use_linear_projection": False,
}


def _cfg(config: Any, key: str, default: Any = None) -> Any:
    """Read a diffusers FrozenDict, a plain dict or an attribute-style config alike."""
    if isinstance(config, Mapping):
        return config.get(key, default)
    return getattr(config, key, default)


def _norm(value: Any) -> Any:
    return tuple(value) if isinstance(value, (list, tuple)) else value


def validate_unet_setup(config: Any, height: int, width: int, steps: Optional[int] = None) -> None:
    """Raise ValueError unless the UNet config, image size and step count fit the TTNN SD 1.4 UNet."""
    if steps is not None and steps < MIN_INFERENCE_STEPS:
        raise ValueError(f"the blackhole backend needs at least {MIN_INFERENCE_STEPS} steps (got {steps}): "
                         "tt-metal's PNDM scheduler asserts it")
    if (height, width) != SUPPORTED_SIZE:
        raise ValueError(
            f"the blackhole backend renders {SUPPORTED_SIZE[0]}x{SUPPORTED_SIZE[1]} only (got {height}x{width}): "
            "tt-metal's TTNN SD UNet hard-codes its kernels for 64x64 latents and batch 2"
        )
    wrong = []
    for key, expected in SD14_UNET_ARCHITECTURE.items():
        got = _norm(_cfg(config, key, False if expected is False else None))  # absent flag = diffusers' False
        if got != expected:
            wrong.append(f"{key}={got!r} (needs {expected!r})")
    if wrong:
        raise ValueError(
            "the blackhole backend runs tt-metal's TTNN port of the Stable Diffusion 1.x UNet only; "
            "this UNet differs: " + "; ".join(wrong)
        )


def tt_pndm_kwargs(scheduler_config: Any) -> Dict[str, Any]:
    """Map a diffusers PNDMScheduler config onto tt-metal's TtPNDMScheduler arguments.

    TtPNDMScheduler always builds scaled-linear betas and "leading" timesteps, so any other
    setting is refused rather than silently changed."""
    schedule = _cfg(scheduler_config, "beta_schedule", "linear")
    spacing = _cfg(scheduler_config, "timestep_spacing", "leading")
    prediction = _cfg(scheduler_config, "prediction_type", "epsilon")
    if schedule != "scaled_linear" or _cfg(scheduler_config, "trained_betas") is not None:
        raise ValueError(f"tt-metal's TtPNDMScheduler supports beta_schedule='scaled_linear' only (got {schedule!r})")
    if spacing != "leading":
        raise ValueError(f"tt-metal's TtPNDMScheduler supports timestep_spacing='leading' only (got {spacing!r})")
    if prediction not in ("epsilon", "v_prediction"):
        raise ValueError(f"tt-metal's TtPNDMScheduler supports epsilon/v_prediction (got {prediction!r})")
    return {
        "num_train_timesteps": int(_cfg(scheduler_config, "num_train_timesteps", 1000)),
        "beta_start": float(_cfg(scheduler_config, "beta_start", 0.0001)),
        "beta_end": float(_cfg(scheduler_config, "beta_end", 0.02)),
        "beta_schedule": schedule,
        "skip_prk_steps": bool(_cfg(scheduler_config, "skip_prk_steps", False)),
        "set_alpha_to_one": bool(_cfg(scheduler_config, "set_alpha_to_one", False)),
        "prediction_type": prediction,
        "steps_offset": int(_cfg(scheduler_config, "steps_offset", 0)),
    }


def pad_text_embeddings(embeddings: torch.Tensor, tokens: int = TTNN_TEXT_TOKENS) -> torch.Tensor:
    """(2, 77, 768) CLIP output -> (2, 96, 768) float32, zeros appended after token 77.

    The zeros are never attended to: the TTNN cross-attention adds -1e9 to their scores."""
    expected = (UNET_BATCH, CLIP_TOKENS, CLIP_WIDTH)
    if tuple(embeddings.shape) != expected:
        raise ValueError(f"text embeddings must be [uncond, cond] of shape {expected}, got {tuple(embeddings.shape)}")
    padded = torch.nn.functional.pad(embeddings.detach().float().cpu(), (0, 0, 0, tokens - CLIP_TOKENS))
    return padded.contiguous()


def time_projection(time_proj: torch.nn.Module, timestep: int, batch_size: int = UNET_BATCH) -> torch.Tensor:
    """What the TTNN UNet takes as `timestep`: `unet.time_proj` of `timestep` for every batch row,
    shaped (batch, 1, 1, C) - the demo's pre-permuted layout. The UNet applies time_embedding."""
    steps = torch.full((batch_size,), int(timestep), dtype=torch.int64)
    with torch.no_grad():
        projected = time_proj(steps).float()
    return projected.reshape(batch_size, 1, 1, projected.shape[-1])


def precompute_time_projections(
    time_proj: torch.nn.Module, timesteps: Iterable[int], batch_size: int = UNET_BATCH
) -> Dict[int, torch.Tensor]:
    """`time_projection` for each distinct timestep (PNDM repeats one), keyed by the int timestep."""
    return {int(t): time_projection(time_proj, int(t), batch_size) for t in dict.fromkeys(int(t) for t in timesteps)}


class BlackholeUNetBackend:
    """`UNetBackend` on one Blackhole chip. Constructing it needs hardware (it opens the device)."""

    name = "blackhole"

    def __init__(
        self,
        unet: torch.nn.Module,
        scheduler_config: Any,
        height: int = SUPPORTED_SIZE[0],
        width: int = SUPPORTED_SIZE[1],
        device_id: int = 0,
        tt_metal_home: Optional[Union[str, Path]] = None,
        steps: Optional[int] = None,
        device_status: Optional[DeviceStatus] = None,
    ) -> None:
        """`device_status`: what backend_choice.resolve_backend found (then the card is not looked for again)."""
        # Host-side checks first, so a wrong size, config or step count fails the same way with or
        # without a card, and before the device is opened.
        validate_unet_setup(unet.config, height, width, steps)
        if any(p.device.type != "cpu" for p in unet.parameters()):
            raise ValueError("pass the torch UNet on the CPU; its weights are converted and uploaded from there")
        self._scheduler_kwargs = tt_pndm_kwargs(scheduler_config)
        find_sd_demo(tt_metal_home)  # clear TT_METAL_HOME error before touching ttnn
        status = device_status or detect_blackhole()
        if not status.available:
            raise BackendUnavailable(f"no Blackhole device: {status.reason}; the 'torch' backend runs without one")
        self._sd = import_sd_demo(tt_metal_home)

        import ttnn  # needs hardware from here on

        self._ttnn = ttnn
        self._latent_hw = (height // 8, width // 8)
        self._config = unet.config
        self._time_proj = unet.time_proj
        self._time_embeddings: Dict[int, Any] = {}
        self._scheduler: Any = None
        self._model: Any = None
        # As tt-metal's `device` fixture opens it for the SD demo: the demo's l1_small_size, default dispatch.
        self._device = ttnn.CreateDevice(device_id=device_id, l1_small_size=self._sd.l1_small_size)
        try:
            self._check_arch()
            if hasattr(ttnn, "SetDefaultDevice"):
                ttnn.SetDefaultDevice(self._device)
            if hasattr(self._device, "enable_program_cache"):  # default-on in newer ttnn; older needs it
                self._device.enable_program_cache()
            self._model = self._build_unet(unet)
        except BaseException:
            self.close()
            raise
        self.device_description = (
            f"Tenstorrent Blackhole #{device_id} (tt-metal TTNN SD 1.4 UNet from {self._sd.demo_dir})"
        )

    # --- construction helpers (need hardware) ---

    def _check_arch(self) -> None:
        arch = getattr(getattr(self._ttnn, "device", None), "Arch", None)
        if arch is not None and hasattr(arch, "BLACKHOLE") and self._device.arch() != arch.BLACKHOLE:
            raise BackendUnavailable(f"device is {self._device.arch()}, not Blackhole")

    def _build_unet(self, unet: torch.nn.Module) -> Any:
        return build_tt_unet(self._sd, self._device, unet, self._latent_hw)

    # --- UNetBackend (all need hardware) ---

    def prepare_text_embeddings(self, embeddings: torch.Tensor) -> Any:
        return upload_text_embeddings(self._ttnn, self._device, embeddings)

    def reset_scheduler(self, num_inference_steps: int) -> Sequence[int]:
        if num_inference_steps < MIN_INFERENCE_STEPS:
            raise ValueError(f"tt-metal's PNDM scheduler needs at least {MIN_INFERENCE_STEPS} steps")
        self._release_scheduler()
        # A fresh TtPNDMScheduler per frame: its ets/counter/cur_sample history must not leak across frames.
        scheduler = self._sd.scheduler_class(**self._scheduler_kwargs, device=self._device)
        scheduler.set_timesteps(num_inference_steps)
        timesteps = [int(t) for t in scheduler.timesteps.tolist()]
        missing = [t for t in timesteps if t not in self._time_embeddings]
        for t, proj in precompute_time_projections(self._time_proj, missing).items():
            self._time_embeddings[t] = self._ttnn.from_torch(
                proj, dtype=self._ttnn.bfloat16, layout=self._ttnn.TILE_LAYOUT, device=self._device
            )
        self._scheduler = scheduler
        return timesteps

    def to_native(self, latents: torch.Tensor) -> Any:
        return upload_latents(self._ttnn, self._device, latents, self._latent_hw)

    def to_torch(self, latents_native: Any) -> torch.Tensor:
        return download_latents(self._ttnn, latents_native, self._latent_hw)

    def guided_noise(
        self, latents_native: Any, step_index: int, timestep: int, embeddings_native: Any, guidance_scale: float
    ) -> Any:
        ttnn = self._ttnn
        temb = self._time_embeddings.get(int(timestep))
        if temb is None:
            raise KeyError(f"timestep {timestep} has no precomputed embedding; call reset_scheduler first")
        model_input = ttnn.concat([latents_native, latents_native], dim=0)
        output = self._model(
            model_input,
            timestep=temb,
            encoder_hidden_states=embeddings_native,
            class_labels=None,
            attention_mask=None,
            cross_attention_kwargs=None,
            return_dict=True,
            config=self._config,
        )
        c, h, w = output.shape[1], output.shape[2], output.shape[3]
        uncond = ttnn.slice(output, [0, 0, 0, 0], [1, c, h, w])
        cond = ttnn.slice(output, [1, 0, 0, 0], [2, c, h, w])
        noise = uncond + guidance_scale * (cond - uncond)
        _free(ttnn, model_input, output, uncond, cond)  # keep L1 from filling up over many steps
        return noise

    def scheduler_step(self, noise_native: Any, step_index: int, timestep: int, latents_native: Any) -> Any:
        if self._scheduler is None:
            raise RuntimeError("call reset_scheduler before scheduler_step")
        # The scheduler keeps `latents_native` (cur_sample) and `noise_native` (ets): do not free them here.
        return self._scheduler.step(noise_native, int(timestep), latents_native).prev_sample

    def close(self) -> None:
        device = getattr(self, "_device", None)
        if device is None:
            return
        ttnn = self._ttnn
        self._release_scheduler()
        _free(ttnn, *self._time_embeddings.values())
        self._time_embeddings.clear()
        self._model = None
        self._device = None
        ttnn.close_device(device)

    def _release_scheduler(self) -> None:
        if self._scheduler is not None:
            _free(self._ttnn, *getattr(self._scheduler, "ets", []))
            self._scheduler = None


def build_tt_unet(sd: Any, device: Any, unet: torch.nn.Module, latent_hw: Sequence[int]) -> Any:
    """tt-metal's TTNN UNet object, its weights converted by the demo's own preprocessor. Needs a card."""
    from ttnn.model_preprocessing import preprocess_model_parameters

    parameters = preprocess_model_parameters(
        initialize_model=lambda: unet, custom_preprocessor=sd.custom_preprocessor, device=device
    )
    args: List[Any] = [device, parameters, UNET_BATCH, *latent_hw]
    # Older checkouts take a reader_patterns_cache dict after the size arguments.
    if "reader_patterns_cache" in inspect.signature(sd.unet_class.__init__).parameters:
        args.append({})
    return sd.unet_class(*args)


def upload_text_embeddings(ttnn: Any, device: Any, embeddings: torch.Tensor) -> Any:
    """(2, 77, 768) torch -> padded (2, 96, 768) bfloat16 TILE ttnn tensor (DRAM when on a device)."""
    kwargs = {"memory_config": ttnn.DRAM_MEMORY_CONFIG} if device is not None else {}
    return ttnn.from_torch(
        pad_text_embeddings(embeddings), dtype=ttnn.bfloat16, layout=ttnn.TILE_LAYOUT, device=device, **kwargs
    )


def upload_latents(ttnn: Any, device: Any, latents: torch.Tensor, latent_hw: Sequence[int]) -> Any:
    """(1, 4, h, w) torch -> bfloat16 TILE ttnn tensor, as the demo uploads its latents.
    `device=None` keeps it on the host (testable with ttnn but no chip)."""
    expected = (1, 4) + tuple(latent_hw)
    if tuple(latents.shape) != expected:
        raise ValueError(f"latents must have shape {expected}, got {tuple(latents.shape)}")
    return ttnn.from_torch(
        latents.detach().float().cpu().contiguous(), dtype=ttnn.bfloat16, layout=ttnn.TILE_LAYOUT, device=device
    )


def download_latents(ttnn: Any, tensor: Any, latent_hw: Sequence[int]) -> torch.Tensor:
    """ttnn latents (device or host) -> (1, 4, h, w) float32 CPU torch."""
    h, w = latent_hw
    out = ttnn.to_torch(tensor).to(torch.float32)
    out = out.reshape(-1, *out.shape[-3:])[:1, :4, :h, :w]  # drop any tile padding an old ttnn leaves
    if tuple(out.shape) != (1, 4, h, w):
        raise RuntimeError(f"latents came back as {tuple(out.shape)}, expected (1, 4, {h}, {w})")
    return out.contiguous()


def _free(ttnn: Any, *tensors: Any) -> None:
    for tensor in tensors:
        if hasattr(tensor, "is_allocated") and tensor.is_allocated():
            ttnn.deallocate(tensor)
