"""Bring-up checks of the TTNN port on a Blackhole card, in order, stopping at the first failure.

Each check runs the TTNN code and its torch reference on identical inputs and compares them by
PCC (Pearson correlation) and max error; tt-metal's own SD tests accept PCC ~0.99. Run it through
examples/validate_on_blackhole.py, which writes the report (JSON + markdown) to attach to a bug.

Order: environment (ttnn, a Blackhole chip, the tt-metal checkout) -> each of the 21 motion modules
at F = 2, 8, 16 -> one call of Phase 2's TTNN UNet -> each block of Phase 3's motion UNet (each fed
the torch reference's input, so errors do not pile up) -> one full Phase 3 UNet step with guidance.
None of this has run on a card by us; without one it stops at the environment.
"""

from __future__ import annotations

import platform
import subprocess
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence

import torch

PCC_MODULE = 0.99  # one motion module / one block / one Phase 2 UNet call (tt-metal's SD tests: ~0.99)
PCC_STEP = 0.95  # a whole guided step: guidance 7.5 multiplies the cond-uncond difference, and its error
FRAME_COUNTS = (2, 8, 16)
LEVEL_SIDE = {"down_blocks": (64, 32, 16, 8), "mid_block": (8,), "up_blocks": (8, 16, 32, 64)}  # latents at 512x512


class StopValidation(Exception):
    """The environment cannot run the checks (no chip, no ttnn, no checkout): not a failure of the port."""


@dataclass
class Check:
    name: str
    status: str  # "passed", "failed", "error"
    pcc: Optional[float] = None
    threshold: Optional[float] = None
    max_error: Optional[float] = None
    seconds: Optional[float] = None
    detail: str = ""


@dataclass
class Report:
    started: str
    python: str = platform.python_version()
    machine: str = platform.machine()
    environment: Dict[str, str] = field(default_factory=dict)
    checks: List[Check] = field(default_factory=list)
    result: str = "running"  # then "passed", "failed" or "stopped"
    stopped_at: str = ""
    reason: str = ""

    def to_dict(self) -> Dict[str, Any]:
        return asdict(self)


def pcc(a: torch.Tensor, b: torch.Tensor) -> float:
    a, b = a.double().flatten(), b.double().flatten()
    a, b = a - a.mean(), b - b.mean()
    denom = a.norm() * b.norm()
    return float((a @ b) / denom) if denom > 0 else float(torch.equal(a, b))


def compare(name: str, got: torch.Tensor, want: torch.Tensor, threshold: float, seconds: float) -> Check:
    p = pcc(got.float(), want.float())
    err = float((got.float() - want.float()).abs().max())
    status = "passed" if p >= threshold else "failed"
    return Check(name, status, round(p, 6), threshold, round(err, 6), round(seconds, 4))


# ---- environment: everything that is checked before any device is opened ----


def check_environment(report: Report, tt_metal_home: Optional[str]) -> Path:
    """Fills report.environment; raises StopValidation naming what is missing. Returns the demo dir."""
    from .. import __version__
    from .tt_metal import detect_blackhole, find_sd_demo
    from ..ttnn_motion_unet import TT_METAL_COMMIT
    from .unet_backend import BackendUnavailable

    env = report.environment
    env["tt_animatediff"] = __version__
    env["tt_metal_commit_followed"] = TT_METAL_COMMIT
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


def level_side(name: str) -> int:
    """Latent side of a motion module's level, from its diffusers name."""
    kind, index = name.split(".")[0], int(name.split(".")[1]) if name.startswith(("down", "up")) else 0
    return LEVEL_SIDE[kind][index]


def unet_order(name: str) -> tuple:
    """Sort key: the order a UNet call reaches its motion modules (down blocks, mid, up blocks)."""
    parts = name.split(".")
    kind = {"down_blocks": 0, "mid_block": 1, "up_blocks": 2}[parts[0]]
    return (kind, *(int(p) for p in parts if p.isdigit()))


def check_motion_modules(ttnn: Any, device: Any, adapter: Any, frame_counts: Sequence[int]) -> List[Check]:
    from ..temporal_module import motion_modules_from_adapter
    from ..ttnn_motion_unet import from_rows, to_rows
    from ..ttnn_temporal import TtTemporalTransformer

    checks = []
    for name, module in sorted(motion_modules_from_adapter(adapter).items(), key=lambda item: unet_order(item[0])):
        tt_module = TtTemporalTransformer(ttnn, module.state_dict(), device)
        side = level_side(name)
        for frames in frame_counts:
            torch.manual_seed(frames)
            x = torch.randn(2 * frames, module.norm.num_channels, side, side)  # (B*F, C, H, W), B = 2
            with torch.no_grad():
                want = module(x, frames)
            videos = x.reshape(2, frames, *x.shape[1:])
            inputs = [_upload(ttnn, device, to_rows(videos[:, f])) for f in range(frames)]
            start = time.perf_counter()
            out = tt_module(inputs, batch=2, height=side, width=side)
            got = [ttnn.to_torch(o).float() for o in out]  # to_torch waits for the device
            seconds = time.perf_counter() - start
            got = torch.stack([from_rows(g, 2, side, side) for g in got], dim=1).reshape_as(x)
            checks.append(compare(f"motion module {name} F={frames}", got - x, want - x, PCC_MODULE, seconds))
            if checks[-1].status != "passed":
                return checks
    return checks


def _upload(ttnn: Any, device: Any, tensor: torch.Tensor) -> Any:
    return ttnn.from_torch(tensor.contiguous(), dtype=ttnn.bfloat16, layout=ttnn.TILE_LAYOUT, device=device,
                           memory_config=ttnn.DRAM_MEMORY_CONFIG)


def check_phase2_unet(unet: Any, scheduler_config: Any, tt_metal_home: Optional[str]) -> Check:
    """One call of tt-metal's TTNN UNet (Phase 2's backend) against diffusers' UNet, cond prediction."""
    from .blackhole_backend import BlackholeUNetBackend

    backend = BlackholeUNetBackend(unet, scheduler_config, tt_metal_home=tt_metal_home)
    try:
        timestep = backend.reset_scheduler(25)[0]
        torch.manual_seed(0)
        latents, text = torch.randn(1, 4, 64, 64), torch.randn(2, 77, 768)
        native_text = backend.prepare_text_embeddings(text)
        start = time.perf_counter()
        noise = backend.to_torch(backend.guided_noise(backend.to_native(latents), 0, timestep, native_text, 1.0))
        seconds = time.perf_counter() - start
        with torch.no_grad():
            want = unet(torch.cat([latents, latents]), timestep, encoder_hidden_states=text).sample[1:]
        return compare("Phase 2 TTNN UNet, one call (s per step per frame)", noise, want, PCC_MODULE, seconds)
    finally:
        backend.close()


def check_phase3_blocks(backend: Any, reference: Any, frames: int) -> List[Check]:
    """Each block of the backend's TtMotionUNet against motion_unet.FrameLoopMotionUNet, both fed the
    reference's input of that block, so one block's error does not hide or blame the next. Uses only
    the backend's methods (time_embedding, prepare_text_embeddings, upload_rows, download_rows)."""
    from ..ttnn_motion_unet import from_rows, to_rows

    model, config = backend.model, reference.unet.config
    torch.manual_seed(1)
    text = torch.randn(2, 77, config.cross_attention_dim)
    emb, tt_emb = reference.time_embedding(500, 2, "cpu"), backend.time_embedding(500)
    tt_text = backend.prepare_text_embeddings(text)
    ref_text = [text] * frames  # the reference's blocks take one text embedding per frame (prompt travel)
    up = lambda xs: [backend.upload_rows(to_rows(x)) for x in xs]  # noqa: E731
    checks: List[Check] = []

    def run(name: str, tt_call: Callable, ref_frames: List[torch.Tensor]) -> bool:
        start = time.perf_counter()
        got = [backend.download_rows(x) for x in tt_call()]
        seconds = time.perf_counter() - start
        b, c, h, w = ref_frames[0].shape
        got_t = torch.stack([from_rows(g, b, h, w) for g in got])
        checks.append(compare(f"Phase 3 {name} F={frames}", got_t, torch.stack(ref_frames), PCC_MODULE, seconds))
        return checks[-1].status == "passed"

    with torch.no_grad():
        side = config.sample_size
        x = [torch.randn(2, config.block_out_channels[0], side, side) for _ in range(frames)]
        skips, hw = [x], (side, side)
        for i in range(len(reference.unet.down_blocks)):
            out, block_skips = reference.down_block(i, x, emb, ref_text)
            if not run(f"down_blocks.{i}", lambda: model.down_block(i, up(x), tt_emb, tt_text, hw)[0], out):
                return checks
            x, skips, hw = out, skips + block_skips, tuple(out[0].shape[2:])
        out = reference.mid_block(x, emb, ref_text)
        if not run("mid_block", lambda: model.mid_block(up(x), tt_emb, tt_text, hw), out):
            return checks
        x = out
        for i, block in enumerate(reference.unet.up_blocks):
            block_skips, skips = skips[-len(block.resnets):], skips[: -len(block.resnets)]
            out = reference.up_block(i, x, block_skips, emb, ref_text, None)
            tt_skips = [up(s) for s in block_skips]
            if not run(f"up_blocks.{i}", lambda: model.up_block(i, up(x), tt_skips, tt_emb, tt_text, hw)[0], out):
                return checks
            x, hw = out, tuple(out[0].shape[2:])
    return checks


def check_phase3_step(backend: Any, torch_backend: Any, frames: int) -> Check:
    torch.manual_seed(2)
    latents, text = torch.randn(1, 4, frames, 64, 64), torch.randn(2, 77, 768)
    start = time.perf_counter()
    got = backend.guided_noise(latents, 500, backend.prepare_text_embeddings(text), 7.5)
    seconds = time.perf_counter() - start
    want = torch_backend.guided_noise(latents, 500, torch_backend.prepare_text_embeddings(text), 7.5)
    check = compare(f"Phase 3 full UNet step, guidance 7.5, F={frames}", got, want, PCC_STEP, seconds)
    check.detail = f"{seconds / frames:.3f} s per frame"
    return check
