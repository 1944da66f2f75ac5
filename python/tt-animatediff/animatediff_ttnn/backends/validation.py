"""The bring-up checks of the TTNN port on a Blackhole card: what each one runs and how it is compared.

Each check runs the TTNN code and its torch reference on identical inputs and compares them by PCC
(Pearson correlation) and max error; tt-metal's own SD tests accept PCC ~0.99. The TTNN call runs
twice: the first call compiles its kernels (tt-metal caches programs), the second is the steady time,
and how far the two outputs differ is recorded. validation_run.py runs the checks one by one, each in isolation, and
keeps going after a failure or a crash; examples/validate_on_blackhole.py is the command.

The checks: the environment (ttnn, a Blackhole chip, the tt-metal checkout), each of the 21 motion
modules at each frame count (FRAME_COUNTS), one call of Phase 2's TTNN UNet, Phase 2's speed path
(trace_checks.py: the traced UNet call against the untraced one, tt-metal's TTNN VAE against the CPU
VAE), each block of Phase 3's motion UNet (each fed the torch reference's input, so errors do not pile
up), one full Phase 3 UNet step with guidance. None of this has run on a card by us; without one it
stops at the environment.
"""

from __future__ import annotations

import platform
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import torch

PCC_MODULE = 0.99  # one motion module / one block / one Phase 2 UNet call (tt-metal's SD tests: ~0.99)
PCC_STEP = 0.95  # a whole guided step: guidance 7.5 multiplies the cond-uncond difference, and its error
# Odd counts: at the 8x8 level the group norm's grid depends on F's parity (4F tile rows); 24 and 16:
# the 64x64 level streams its rows in 12 and 8 passes per core.
FRAME_COUNTS = (1, 2, 3, 5, 8, 16, 24)
PHASE3_FRAMES = 16
LATENT_SIDE = 64  # SD 1.4 at 512x512 (the only size the blackhole backends run)


class StopValidation(Exception):
    """The environment cannot run the checks (no chip, no ttnn, no checkout): not a failure of the port."""


class NotApplicable(Exception):
    """This check does not apply to this checkout or card (e.g. a tt-metal checkout without a TTNN VAE,
    where Phase 2 decodes on the CPU): recorded as skipped, with the reason, not as a failure."""


@dataclass
class Measured:
    """One check's comparison and timings."""

    pcc: float
    threshold: float
    max_error: float
    first_call_s: float  # compiles the kernels of every op it meets, then runs
    steady_s: float  # the same call again, programs cached
    repeat_max_difference: float  # |first call's output - second call's|: 0 unless the device is nondeterministic
    detail: str = ""

    @property
    def passed(self) -> bool:
        return self.pcc >= self.threshold


def pcc(a: torch.Tensor, b: torch.Tensor) -> float:
    a, b = a.double().flatten(), b.double().flatten()
    a, b = a - a.mean(), b - b.mean()
    denom = a.norm() * b.norm()
    return float((a @ b) / denom) if denom > 0 else float(torch.equal(a, b))


def measure(prepare: Callable[[], Any], run: Callable[[Any], torch.Tensor], want: torch.Tensor,
            threshold: float, detail: str = "") -> Measured:
    """`prepare()` makes fresh device inputs (not timed: tt-metal's blocks may free theirs), `run(inputs)`
    returns the result as a torch tensor (reading it back waits for the device). Runs twice."""
    outputs, seconds = [], []
    for _ in range(2):
        with torch.no_grad():
            inputs = prepare()
            start = time.perf_counter()
            outputs.append(run(inputs).float())
            seconds.append(time.perf_counter() - start)
    got, again = outputs
    want = want.float()
    return Measured(
        pcc=round(pcc(got, want), 6),
        threshold=threshold,
        max_error=round(float((got - want).abs().max()), 6),
        first_call_s=round(seconds[0], 4),
        steady_s=round(seconds[1], 4),
        repeat_max_difference=round(float((got - again).abs().max()), 6),
        detail=detail,
    )


# ---- environment: everything that is checked before any device is opened ----


def check_environment(environment: Dict[str, str], tt_metal_home: Optional[str]) -> Path:
    """Fills `environment`; raises StopValidation naming what is missing. Returns the demo dir."""
    from .. import __version__
    from .tt_metal import detect_blackhole, find_sd_demo
    from ..ttnn_motion_unet import TT_METAL_COMMIT
    from .unet_backend import BackendUnavailable

    env = environment
    env["tt_animatediff"] = __version__
    env["tt_metal_commit_followed"] = TT_METAL_COMMIT
    env["python"] = platform.python_version()
    env["machine"] = platform.machine()
    try:
        import ttnn  # noqa: F401

        from importlib.metadata import PackageNotFoundError, version

        try:
            env["ttnn"] = version("ttnn")
        except PackageNotFoundError:
            env["ttnn"] = "built from a checkout"
    except Exception as exc:  # noqa: BLE001 - ImportError or the native library failing to load
        env["ttnn"] = f"not importable ({type(exc).__name__})"
    status = detect_blackhole()
    env["device"] = status.reason
    if not status.available:
        raise StopValidation(f"no Blackhole device: {status.reason}")
    try:
        demo = find_sd_demo(tt_metal_home)
    except BackendUnavailable as exc:
        raise StopValidation(str(exc)) from exc
    env["sd_demo"] = str(demo)
    env["tt_metal_checkout_commit"] = _git_commit(demo)
    return demo


def _git_commit(path: Path) -> str:
    try:
        out = subprocess.run(["git", "-C", str(path), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=10)
        return out.stdout.strip() or "unknown (not a git checkout)"
    except (OSError, subprocess.TimeoutExpired):
        return "unknown (git not available)"


# ---- the checks on the card (never run by us) ----


def level_side(name: str, latent_side: int = LATENT_SIDE, levels: int = 4) -> int:
    """Latent side of a motion module's level, from its diffusers name (64, 32, 16, 8 at 512x512)."""
    kind = name.split(".")[0]
    index = int(name.split(".")[1]) if kind != "mid_block" else levels - 1
    return latent_side >> (index if kind != "up_blocks" else levels - 1 - index)


def unet_order(name: str) -> tuple:
    """Sort key: the order a UNet call reaches its motion modules (down blocks, mid, up blocks)."""
    parts = name.split(".")
    kind = {"down_blocks": 0, "mid_block": 1, "up_blocks": 2}[parts[0]]
    return (kind, *(int(p) for p in parts if p.isdigit()))


def motion_modules(adapter: Any) -> List[Tuple[str, torch.nn.Module]]:
    """The adapter's motion modules (temporal_module.TemporalTransformer), in the order a UNet call meets them."""
    from ..temporal_module import motion_modules_from_adapter

    return sorted(motion_modules_from_adapter(adapter).items(), key=lambda item: unet_order(item[0]))


def check_motion_module(ttnn: Any, device: Any, tt_module: Any, module: torch.nn.Module, side: int,
                        frames: int) -> Measured:
    """One TtTemporalTransformer against temporal_module.py at its level's size, batch 2 ([uncond, cond])."""
    from ..ttnn_motion_unet import from_rows, to_rows

    torch.manual_seed(frames)
    x = torch.randn(2 * frames, module.norm.num_channels, side, side)  # (B*F, C, H, W), B = 2
    with torch.no_grad():
        want = module(x, frames)
    videos = x.reshape(2, frames, *x.shape[1:])
    prepare = lambda: [_upload(ttnn, device, to_rows(videos[:, f])) for f in range(frames)]  # noqa: E731

    def run(inputs):
        out = tt_module(inputs, batch=2, height=side, width=side)
        got = [ttnn.to_torch(o).float() for o in out]  # to_torch waits for the device
        return torch.stack([from_rows(g, 2, side, side) for g in got], dim=1).reshape_as(x)

    plan = tt_module.group_norm_plan(frames, side, side) if hasattr(tt_module, "group_norm_plan") else None
    detail = (f"group norm on a {plan.grid.x}x{plan.grid.y} grid, {plan.num_out_blocks} pass(es) per core"
              if plan is not None else "")
    return measure(prepare, lambda inputs: run(inputs) - x, want - x, PCC_MODULE, detail)  # the branch alone


def _upload(ttnn: Any, device: Any, tensor: torch.Tensor) -> Any:
    kwargs = {"memory_config": ttnn.DRAM_MEMORY_CONFIG} if device is not None else {}
    return ttnn.from_torch(tensor.contiguous(), dtype=ttnn.bfloat16, layout=ttnn.TILE_LAYOUT, device=device, **kwargs)


def check_phase2_unet(make_backend: Callable[[], Any], unet: Any) -> Measured:
    """One call of tt-metal's TTNN UNet (Phase 2's backend) against diffusers' UNet, cond prediction."""
    backend = make_backend()
    try:
        timestep = backend.reset_scheduler(25)[0]
        torch.manual_seed(0)
        side = unet.config.sample_size
        latents, text = torch.randn(1, 4, side, side), torch.randn(2, 77, unet.config.cross_attention_dim)
        native_text = backend.prepare_text_embeddings(text)
        with torch.no_grad():
            want = unet(torch.cat([latents, latents]), timestep, encoder_hidden_states=text).sample[1:]
        return measure(lambda: backend.to_native(latents),
                       lambda native: backend.to_torch(backend.guided_noise(native, 0, timestep, native_text, 1.0)),
                       want, PCC_MODULE, "s per step per frame")
    finally:
        backend.close()


@dataclass
class Phase3Blocks:
    """The torch reference's pass through Phase 3's blocks, kept so that each block's check feeds the
    TTNN block exactly the reference's input (one block's error does not hide or blame the next)."""

    backend: Any
    frames: int
    # block -> (upload its inputs, run the TTNN block on them, the reference's output frames)
    calls: Dict[str, Tuple[Callable[[], Any], Callable[[Any], Any], List[torch.Tensor]]]

    @property
    def names(self) -> List[str]:
        return list(self.calls)


def block_names(unet: Any) -> List[str]:
    """diffusers' names of a UNet's blocks, in the order a call runs them."""
    return ([f"down_blocks.{i}" for i in range(len(unet.down_blocks))] + ["mid_block"]
            + [f"up_blocks.{i}" for i in range(len(unet.up_blocks))])


def prepare_phase3_blocks(backend: Any, reference: Any, frames: int) -> Phase3Blocks:
    """Runs the reference (motion_unet.FrameLoopMotionUNet) once and prepares one TTNN call per block of
    the backend's TtMotionUNet. Uses only the backend's methods (time_embedding, prepare_text_embeddings,
    upload_rows, download_rows) and its `model`."""
    from ..ttnn_motion_unet import to_rows

    model, config = backend.model, reference.unet.config
    torch.manual_seed(1)
    text = torch.randn(2, 77, config.cross_attention_dim)
    emb, tt_emb = reference.time_embedding(500, 2, "cpu"), backend.time_embedding(500)
    tt_text = backend.prepare_text_embeddings(text)
    ref_text = [text] * frames  # the reference's blocks take one text embedding per frame (prompt travel)
    up = lambda xs: [backend.upload_rows(to_rows(x)) for x in xs]  # noqa: E731
    calls: Dict[str, Tuple[Callable[[], Any], Callable[[Any], Any], List[torch.Tensor]]] = {}
    with torch.no_grad():
        side = config.sample_size
        x = [torch.randn(2, config.block_out_channels[0], side, side) for _ in range(frames)]
        skips, hw = [x], (side, side)
        for i in range(len(reference.unet.down_blocks)):
            out, block_skips = reference.down_block(i, x, emb, ref_text)
            calls[f"down_blocks.{i}"] = (lambda x=x: up(x),
                                         lambda xs, i=i, hw=hw: model.down_block(i, xs, tt_emb, tt_text, hw)[0], out)
            x, skips, hw = out, skips + block_skips, tuple(out[0].shape[2:])
        out = reference.mid_block(x, emb, ref_text)
        calls["mid_block"] = (lambda x=x: up(x), lambda xs, hw=hw: model.mid_block(xs, tt_emb, tt_text, hw), out)
        x = out
        for i, block in enumerate(reference.unet.up_blocks):
            block_skips, skips = skips[-len(block.resnets):], skips[: -len(block.resnets)]
            out = reference.up_block(i, x, block_skips, emb, ref_text, None)
            calls[f"up_blocks.{i}"] = (
                lambda x=x, s=block_skips: (up(x), [up(k) for k in s]),
                lambda a, i=i, hw=hw: model.up_block(i, a[0], a[1], tt_emb, tt_text, hw)[0],
                out,
            )
            x, hw = out, tuple(out[0].shape[2:])
    return Phase3Blocks(backend, frames, calls)


def check_phase3_block(blocks: Phase3Blocks, name: str) -> Measured:
    from ..ttnn_motion_unet import from_rows

    prepare, call, want = blocks.calls[name]
    b, _, h, w = want[0].shape

    def run(inputs):
        got = [blocks.backend.download_rows(x) for x in call(inputs)]
        return torch.stack([from_rows(g, b, h, w) for g in got])

    return measure(prepare, run, torch.stack(want), PCC_MODULE)


def check_phase3_step(backend: Any, torch_backend: Any, frames: int, side: int, text_dim: int) -> Measured:
    torch.manual_seed(2)
    latents, text = torch.randn(1, 4, frames, side, side), torch.randn(2, 77, text_dim)
    native = backend.prepare_text_embeddings(text)
    want = torch_backend.guided_noise(latents, 500, torch_backend.prepare_text_embeddings(text), 7.5)
    measured = measure(lambda: None, lambda _: backend.guided_noise(latents, 500, native, 7.5), want, PCC_STEP)
    measured.detail = f"{measured.steady_s / frames:.3f} s per frame (steady)"
    return measured

