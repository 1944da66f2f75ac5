"""The `blackhole` UNet backend: Phase 2's loop with tt-metal's TTNN Stable Diffusion 1.4 UNet on the card.

tt-metal's TTNN UNet is a hand-tuned port whose kernels are fixed to 512x512 (64x64 latents),
batch 2 ([uncond, cond]) and 77 CLIP tokens padded to 96, and it takes the timestep already
through `time_proj`. So this backend checks those limits up front and pads and precomputes on the
host (plain torch functions below, testable anywhere). The card runs the UNet call - captured once
as a trace and replayed every step (ttnn_trace.py) - and, when it was given the torch VAE, tt-metal's
TTNN VAE for every finished frame (ttnn_vae.py). Latents, PNDM and guidance stay on the host
(CardUNetLoop says why). Opening BlackholeUNetBackend needs hardware; none of it has run on a card by us.
"""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple, Union

import torch

from .torch_backend import PndmOnHost
from .tt_metal import DeviceStatus, detect_blackhole, find_sd_demo, import_sd_demo
from .ttnn_trace import CallFailed, Inputs, Run, open_calls, trace_wanted
from .ttnn_vae import TtnnVae, build_tt_vae, card_vae_wanted, vae_call, vae_scale
from .unet_backend import BackendUnavailable
from .vae_backend import TorchVae, VaeBackend

SUPPORTED_SIZE = (512, 512)  # (height, width) the TTNN UNet is built for
UNET_BATCH = 2  # [uncond, cond]; the TTNN attention configs assume exactly 2
CLIP_TOKENS = 77
TTNN_TEXT_TOKENS = 96  # 77 rounded up to whole 32-row tiles; tokens 77..95 are masked by the UNet
CLIP_WIDTH = 768

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


def validate_unet_setup(config: Any, height: int, width: int) -> None:
    """Raise ValueError unless the UNet config and image size fit the TTNN SD 1.4 UNet."""
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


def pad_text_embeddings(embeddings: torch.Tensor, tokens: int = TTNN_TEXT_TOKENS,
                        width: int = CLIP_WIDTH) -> torch.Tensor:
    """(2, 77, 768) CLIP output -> (2, 96, 768) float32, zeros appended after token 77.

    The zeros are never attended to: the TTNN cross-attention adds -1e9 to their scores."""
    expected = (UNET_BATCH, CLIP_TOKENS, width)
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


class CardUNetLoop(PndmOnHost):
    """Phase 2's `UNetBackend` around one UNet call on a card (`call`: a ttnn_trace call, traced or not).

    The latents, PNDM and guidance stay on the host in float32, as in the torch backend; only the UNet
    runs on the card. Why: a traced call's buffers are rewritten and its output overwritten at every
    replay, and PNDM reuses its earlier noise predictions at every step - device tensors made
    between replays may be overwritten by the next one (ttnn_trace.py). Each step writes the batch's
    latents (2 x 4 x 64 x 64), the step's time embedding and the text into the call's buffers and reads
    2 x 4 x 64 x 64 numbers back; tt-metal's timed traced call also copies the text and reads its output.
    No card is needed to construct it: tests/python/test_card_trace.py runs it on stand-ins."""

    vae: Optional[VaeBackend] = None  # BlackholeUNetBackend sets tt-metal's VAE here

    def __init__(self, call: Any, time_proj: torch.nn.Module, scheduler_config: Any,
                 latent_hw: Sequence[int], text_width: int = CLIP_WIDTH) -> None:
        self._call = call
        self._time_proj = time_proj
        self._latent_hw = tuple(int(s) for s in latent_hw)
        self._text_width = int(text_width)
        self._time_inputs: Dict[int, Any] = {}
        self.scheduler_config = dict(scheduler_config)
        self.device = torch.device("cpu")
        self.scheduler = None

    def prepare_text_embeddings(self, embeddings: torch.Tensor) -> Any:
        return self._call.host("text", pad_text_embeddings(embeddings, width=self._text_width))

    def reset_scheduler(self, num_inference_steps: int) -> List[int]:
        timesteps = super().reset_scheduler(num_inference_steps)
        missing = [t for t in timesteps if t not in self._time_inputs]
        for t, proj in precompute_time_projections(self._time_proj, missing).items():
            self._time_inputs[t] = self._call.host("timestep", proj)  # converted once, written every step
        return timesteps

    @torch.no_grad()
    def guided_noise(self, latents_native: torch.Tensor, step_index: int, timestep: int, embeddings_native: Any,
                     guidance_scale: float) -> torch.Tensor:
        temb = self._time_inputs.get(int(timestep))
        if temb is None:
            raise KeyError(f"timestep {timestep} has no precomputed embedding; call reset_scheduler first")
        # PNDM's scale_model_input is the identity, so the batch goes in as it is.
        sample = self._call.host("sample", torch.cat([latents_native, latents_native]))
        output = self._call(sample=sample, timestep=temb, text=embeddings_native)
        uncond, cond = unet_output(output, self._latent_hw).chunk(2)
        return uncond + guidance_scale * (cond - uncond)

    def close(self) -> None:
        pass


class BlackholeUNetBackend(CardUNetLoop):
    """`UNetBackend` on one Blackhole chip: tt-metal's TTNN UNet (traced unless `trace=False` or
    ANIMATEDIFF_TTNN_TRACE=0) and, given the torch `vae`, tt-metal's TTNN VAE as `self.vae`
    (unless `vae_on_card=False` or ANIMATEDIFF_TTNN_VAE=0). Constructing it needs hardware (it opens
    the device). Not yet run on a card by us."""

    name = "blackhole"

    def __init__(
        self,
        unet: torch.nn.Module,
        scheduler_config: Any,
        height: int = SUPPORTED_SIZE[0],
        width: int = SUPPORTED_SIZE[1],
        device_id: int = 0,
        tt_metal_home: Optional[Union[str, Path]] = None,
        device_status: Optional[DeviceStatus] = None,
        vae: Optional[torch.nn.Module] = None,
        trace: Optional[bool] = None,
        vae_on_card: Optional[bool] = None,
    ) -> None:
        """`device_status`: what backend_choice.resolve_backend found (then the card is not looked for again)."""
        # Host-side checks first, so a wrong size or config fails the same way with or without a card,
        # and before the device is opened.
        validate_unet_setup(unet.config, height, width)
        if any(p.device.type != "cpu" for p in unet.parameters()):
            raise ValueError("pass the torch UNet on the CPU; its weights are converted and uploaded from there")
        find_sd_demo(tt_metal_home)  # clear TT_METAL_HOME error before touching ttnn
        status = device_status or detect_blackhole()
        if not status.available:
            raise BackendUnavailable(f"no Blackhole device: {status.reason}; the 'torch' backend runs without one")
        sd = import_sd_demo(tt_metal_home)
        trace = trace_wanted() if trace is None else trace
        vae_on_card = card_vae_wanted() if vae_on_card is None else vae_on_card

        import ttnn  # needs hardware from here on

        self._ttnn = ttnn
        self._calls: Dict[str, Any] = {}
        latent_hw = (height // 8, width // 8)
        self._device = open_sd_device(ttnn, sd, device_id, trace)
        try:
            tt_unet = build_tt_unet(sd, self._device, unet, latent_hw)
            tt_vae, vae_why = None, ""
            if vae is not None:
                tt_vae, vae_why = build_tt_vae(sd, self._device, vae, vae_on_card)
            self._calls, notes, vae_why = open_card_calls(ttnn, self._device, tt_unet, unet.config, latent_hw,
                                                          tt_vae, vae, trace, vae_why)
        except BaseException:
            self.close()
            raise
        super().__init__(self._calls["unet"], unet.time_proj, scheduler_config, latent_hw)
        self.unet_call = notes["unet"]
        self.vae: Optional[VaeBackend] = None
        if "vae" in self._calls:
            self.vae = TtnnVae(self._calls["vae"], vae.config.scaling_factor,
                               (latent_hw[0] * vae_scale(vae), latent_hw[1] * vae_scale(vae)), notes["vae"])
        elif vae is not None:
            self.vae = TorchVae(vae, vae_why)
        self.device_description = (
            f"Tenstorrent Blackhole #{device_id}: tt-metal TTNN SD 1.4 UNet ({self.unet_call}), "
            f"{'TTNN VAE on the card' if 'vae' in self._calls else 'VAE on the CPU'}; not yet run on a card by us"
            f" (tt-metal from {sd.demo_dir})"
        )

    def close(self) -> None:
        device = getattr(self, "_device", None)
        if device is None:
            return
        for call in getattr(self, "_calls", {}).values():
            call.release()
        self._calls = {}
        self._device = None
        self._ttnn.close_device(device)


def open_sd_device(ttnn: Any, sd: Any, device_id: int, trace: bool) -> Any:
    """The card opened as tt-metal's `device` fixture opens it for the SD demo's traced tests: its
    l1_small_size and (when tracing) trace_region_size, default dispatch, program cache on. Raises
    BackendUnavailable, the device closed again, if the chip is not a Blackhole. Needs a card."""
    sizes = {"trace_region_size": sd.trace_region_size} if trace else {}
    device = ttnn.CreateDevice(device_id=device_id, l1_small_size=sd.l1_small_size, **sizes)
    try:
        arch = getattr(getattr(ttnn, "device", None), "Arch", None)
        if arch is not None and hasattr(arch, "BLACKHOLE") and device.arch() != arch.BLACKHOLE:
            raise BackendUnavailable(f"device is {device.arch()}, not Blackhole")
        if hasattr(ttnn, "SetDefaultDevice"):
            ttnn.SetDefaultDevice(device)
        if hasattr(device, "enable_program_cache"):  # default-on in newer ttnn; older needs it
            device.enable_program_cache()
    except BaseException:
        ttnn.close_device(device)
        raise
    return device


def unet_call(tt_unet: Any, config: Any, latent_hw: Sequence[int]) -> Tuple[Run, Inputs]:
    """One call of tt-metal's UNet with the keywords its demo passes, and its inputs: the batch
    [uncond, cond] of latents, `time_proj` of the step's timestep for each row (the demo's pre-permuted
    (2, 1, 1, C)), and the text padded to 96 tokens."""
    h, w = latent_hw

    def run(sample: Any, timestep: Any, text: Any) -> Any:
        return tt_unet(sample, timestep=timestep, encoder_hidden_states=text, class_labels=None,
                       attention_mask=None, cross_attention_kwargs=None, return_dict=True, config=config)

    inputs = {
        "sample": (UNET_BATCH, int(_cfg(config, "in_channels", 4)), h, w),
        "timestep": (UNET_BATCH, 1, 1, int(_cfg(config, "block_out_channels")[0])),
        "text": (UNET_BATCH, TTNN_TEXT_TOKENS, int(_cfg(config, "cross_attention_dim", CLIP_WIDTH))),
    }
    return run, inputs


def open_card_calls(ttnn: Any, device: Any, tt_unet: Any, config: Any, latent_hw: Sequence[int], tt_vae: Any,
                    torch_vae: Any, trace: bool, vae_why: str = "") -> Tuple[Dict[str, Any], Dict[str, str], str]:
    """The UNet's call and, when `tt_vae` is given, the VAE's, opened together (ttnn_trace.open_calls:
    both compiled before either is captured). A VAE that fails its first run leaves the frames to the
    CPU VAE (the third value says why); a UNet that fails raises."""
    runs = {"unet": unet_call(tt_unet, config, latent_hw)}
    if tt_vae is not None:
        runs["vae"] = vae_call(ttnn, tt_vae, latent_hw, vae_scale(torch_vae))
    try:
        calls, notes = open_calls(ttnn, device, runs, trace)
    except CallFailed as failed:
        if failed.name != "vae":
            raise failed.error
        vae_why = f"tt-metal's TTNN VAE failed its first run on the card ({failed})"
        calls, notes = open_calls(ttnn, device, {"unet": runs["unet"]}, trace)
    return calls, notes, vae_why


def unet_output(output: torch.Tensor, latent_hw: Sequence[int]) -> torch.Tensor:
    """The UNet call's output as (2, 4, h, w) float32 (any tile padding an old ttnn leaves dropped)."""
    h, w = latent_hw
    out = output.float().reshape(-1, *output.shape[-3:])[:UNET_BATCH, :4, :h, :w]
    if tuple(out.shape) != (UNET_BATCH, 4, h, w):
        raise RuntimeError(f"the UNet returned {tuple(output.shape)}, expected ({UNET_BATCH}, 4, {h}, {w})")
    return out.contiguous()


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
