"""The validation script run end to end without a card: examples/validate_on_blackhole.py's main() on
stand-ins (stand_in_card) - golden-op motion modules, tt-metal's blocks as tt_metal_standins.py, Phase 2's
torch backend in place of tt-metal's UNet, and for Phase 2's speed path (trace_checks.py) the stand-ins
of ttnn's trace API and of tt-metal's UNet and VAE from tests/python/ttnn_standin.py - on a tiny
SD-shaped UNet with 21 motion modules and a tiny VAE.

Proves: the checks' plumbing (uploads, layouts, comparisons) passes a correct port and fails a broken
one; every planned check ends with a status even when checks crash (injected: six motion modules, a
stand-in of tt-metal's upsampler and one of tt-metal's VAE raise); a crash keeps its name, error,
traceback and the line of our port; crashes exit 3, failures 2; a check that does not apply is skipped
without failing the run. Cannot prove: anything about a card (the stand-ins never crash the way a
device does, and nothing here hangs).
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
import tt_metal_standins as tt
from golden_ttnn import GoldenTtnn, round_bf16
from tiny_motion_unet import BATCH, build_models, golden_motion_unet

import ttnn
from animatediff_ttnn.backends import validation, validation_run
from animatediff_ttnn.backends.blackhole_motion_backend import BlackholeMotionBackend

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "python"))
from ttnn_standin import StandinTtnn, StandinTtUNet, standin_vae_class  # noqa: E402

SCRIPT = Path(__file__).resolve().parents[2] / "python" / "tt-animatediff" / "examples" / "validate_on_blackhole.py"


@pytest.fixture(scope="module")
def script():
    spec = importlib.util.spec_from_file_location("validate_on_blackhole", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def models():
    return build_models()


class GoldenPhase3Backend(BlackholeMotionBackend):
    """BlackholeMotionBackend's own guided_noise (host conv_in/out, the frame loop, guidance) on
    stand-in blocks and golden-op motion modules; only the device plumbing is replaced."""

    def __init__(self, unet, motion_unet):  # noqa: super().__init__ opens a device
        self._ttnn, self._unet, self._device = GoldenTtnn(ttnn), unet, None
        self._latent_hw = (unet.config.sample_size,) * 2
        self.model = golden_motion_unet(unet, motion_unet)

    def time_embedding(self, timestep):
        return self._unet.time_embedding(self._unet.time_proj(torch.full((BATCH,), timestep)))

    def prepare_text_embeddings(self, text):
        return text

    def upload_rows(self, rows):
        return round_bf16(rows)

    def download_rows(self, rows):
        return rows


def tiny_vae():
    from diffusers import AutoencoderKL

    torch.manual_seed(0)
    return AutoencoderKL(block_out_channels=(32, 64), down_block_types=("DownEncoderBlock2D",) * 2,
                         up_block_types=("UpDecoderBlock2D",) * 2, latent_channels=4, norm_num_groups=32).eval()


def speed_standins(unet, vae_class=standin_vae_class) -> validation_run.SpeedParts:
    """Phase 2's speed path on stand-ins: ttnn's trace API, tt-metal's UNet (the tiny UNet) and `Vae`."""
    api = StandinTtnn()
    return validation_run.SpeedParts(ttnn=api, device=api.device, tt_unet=StandinTtUNet(api, api.device, unet),
                                     sd=SimpleNamespace(vae_class=vae_class(api), demo_dir="stand-in tt-metal"),
                                     close=lambda: None)


def stand_in_card(models, golden=None, vae_class=standin_vae_class) -> validation_run.CardParts:
    from diffusers import PNDMScheduler

    from animatediff_ttnn.backends.torch_backend import TorchUNetBackend
    from animatediff_ttnn.backends.torch_motion_backend import TorchMotionBackend

    unet, adapter, motion_unet = models
    return validation_run.CardParts(
        ttnn=golden or GoldenTtnn(ttnn), open_device=lambda: None, close_device=lambda device: None,
        adapter=adapter, unet=unet,
        phase2_backend=lambda: TorchUNetBackend(unet, PNDMScheduler().config),  # stands in for tt-metal's UNet
        phase3_backend=lambda frames: GoldenPhase3Backend(unet, motion_unet),
        torch_phase3_backend=lambda: TorchMotionBackend(unet, adapter),
        vae=tiny_vae(),
        speed_parts=lambda: speed_standins(unet, vae_class),
    )


def report_of(out: Path) -> dict:
    return json.loads((out / "report.json").read_text())


class BrokenGroupNorm(GoldenTtnn):
    """A card rejecting the group norm at F = 3 on the smallest level (as ttnn did for 8x8 grids at odd F)."""

    def __init__(self, real):
        super().__init__(real)
        golden = self._ops["group_norm"]

        def group_norm(x, **kwargs):
            if x.shape[2] == 3 * 2 * 2:  # F = 3 at the 2x2 level of the tiny UNet
                raise RuntimeError("TT_FATAL @ groupnorm.cpp: group_norm: Requested core_grid (x=8, y=8) is invalid")
            return golden(x, **kwargs)

        self._ops["group_norm"] = group_norm


def crashing_vae_class(api):
    class Vae(standin_vae_class(api)):
        def decode(self, x):
            raise RuntimeError("TT_FATAL @ conv2d: the VAE's conv_in does not fit")

    return Vae


def test_crashes_are_recorded_and_the_run_goes_on(script, models, tmp_path, monkeypatch):
    """Six motion modules crash at F = 3 (inside ttnn_temporal), a stand-in of tt-metal's upsampler
    raises in Phase 3 and one of its VAE in Phase 2's speed checks: every other check still runs and
    gets its status, and the script exits 3."""
    def upsampler_crash(self, *args, **kwargs):
        raise RuntimeError("TT_FATAL @ conv2d: Statically allocated circular buffers grow to 1700000 B")

    monkeypatch.setattr(tt.upsample2d, "__call__", upsampler_crash)
    code = script.main(["--frames", "3", "--phase3-frames", "2", "--out", str(tmp_path)],
                       parts=stand_in_card(models, BrokenGroupNorm(ttnn), crashing_vae_class))
    report = report_of(tmp_path)
    assert code == validation_run.EXIT_CRASHED == report["exit_code"] and report["result"] == "crashed"
    statuses = {c["name"]: c["status"] for c in report["checks"]}
    assert set(statuses.values()) <= {"passed", "crashed"}, statuses  # nothing left planned, running or skipped

    # the plan: 21 modules in the order a UNet call meets them, then Phase 2, its speed path, Phase 3's blocks and step
    modules = [c["module"] for c in report["checks"] if c["stage"] == "motion module" and c["frames"] == 3]
    assert len(modules) == 21 and modules[:3] == ["down_blocks.0.motion_modules.0", "down_blocks.0.motion_modules.1",
                                                  "down_blocks.1.motion_modules.0"]
    assert [c["name"] for c in report["checks"] if c["stage"].startswith("Phase 3")] == [
        f"Phase 3 {b} F=2" for b in ["down_blocks.0", "down_blocks.1", "down_blocks.2", "down_blocks.3", "mid_block",
                                     "up_blocks.0", "up_blocks.1", "up_blocks.2", "up_blocks.3"]
    ] + ["Phase 3 full UNet step, guidance 7.5, F=2"]
    assert [c["name"] for c in report["checks"] if c["stage"] in ("Phase 2 UNet", "Phase 2 trace", "Phase 2 VAE")
            or "trace" in c["name"]] == [
        "Phase 2 TTNN UNet, one call (s per step per frame)",
        "open the device with tt-metal's trace region, build its UNet", "Phase 2 UNet call, traced vs untraced (2 inputs)",
        "TTNN VAE vs the CPU VAE, one frame (traced)", "close the trace device"]
    measured = [c for c in report["checks"] if c["status"] == "passed" and c["pcc"] is not None]
    assert len(measured) == (21 - 6) + 1 + 1 + (9 - 3)  # modules, Phase 2's call, its traced call, Phase 3's blocks
    assert all(c["pcc"] > 0.999 and c["first_call_s"] is not None and c["steady_s"] is not None
               and c["repeat_max_difference"] == 0 for c in measured)
    traced = next(c for c in report["checks"] if c["stage"] == "Phase 2 trace")
    assert traced["pcc"] == 1.0 and traced["threshold"] == 0.9999 and "tt-metal budgets a traced call" in traced["detail"]
    crashed = sorted(n for n, s in statuses.items() if s == "crashed")
    small = ["down_blocks.3.motion_modules.0", "down_blocks.3.motion_modules.1", "mid_block.motion_modules.0",
             "up_blocks.0.motion_modules.0", "up_blocks.0.motion_modules.1", "up_blocks.0.motion_modules.2"]
    assert crashed == sorted([f"motion module {m} F=3" for m in small] + [
        "Phase 3 up_blocks.0 F=2", "Phase 3 up_blocks.1 F=2", "Phase 3 up_blocks.2 F=2",  # the blocks with an upsampler
        "Phase 3 full UNet step, guidance 7.5, F=2", "TTNN VAE vs the CPU VAE, one frame (traced)"])
    assert sum(s == "passed" for s in statuses.values()) == len(statuses) - len(crashed)

    module = next(c for c in report["checks"] if c["name"] == "motion module mid_block.motion_modules.0 F=3")
    assert (module["module"], module["frames"], module["side"], module["channels"]) == ("mid_block.motion_modules.0", 3, 2, 128)
    assert module["error"].startswith("RuntimeError: TT_FATAL @ groupnorm.cpp")
    assert module["where"].startswith("animatediff_ttnn/ttnn_temporal.py:") and "x = ttnn.group_norm(" in module["where"]
    assert "Traceback (most recent call last)" in module["traceback"]
    block = next(c for c in report["checks"] if c["name"] == "Phase 3 up_blocks.1 F=2")
    assert block["where"].startswith("animatediff_ttnn/ttnn_motion_unet.py:") and "upsample_2d" in block["where"]
    assert "upsampler_crash" in block["raised_at"]
    vae = next(c for c in report["checks"] if c["stage"] == "Phase 2 VAE")  # CallFailed, from the VAE's own error
    assert vae["error"].startswith("CallFailed: vae: RuntimeError: TT_FATAL @ conv2d")
    assert vae["where"].startswith("animatediff_ttnn/backends/ttnn_vae.py:") and "tt_vae.decode(" in vae["where"]
    assert "in decode: raise RuntimeError" in vae["raised_at"]

    markdown = (tmp_path / "report.md").read_text()
    assert "# AnimateDiff TTNN validation: crashed" in markdown
    assert all(f"| {name} | {status} |" in markdown for name, status in statuses.items())
    assert "### motion module mid_block.motion_modules.0 F=3: crashed" in markdown and "```text\nTraceback" in markdown


def test_a_wrong_result_is_a_failure_with_exit_2(models, tmp_path, monkeypatch):
    """A module without its frame mask gives a wrong result, not an exception: the check fails (exit 2
    when nothing crashed), and the report tells how to locate it."""
    from animatediff_ttnn.backends.validation_report import markdown
    from animatediff_ttnn.ttnn_temporal import TtTemporalTransformer

    _, adapter, _ = models
    name, module = validation.motion_modules(adapter)[0]
    golden = GoldenTtnn(ttnn)
    runner = validation_run.Runner(validation_run.new_report({}))
    good, broken = (runner.plan(f"motion module {name} F=2 ({what})", "motion module", frames=2) for what in ("as is", "no mask"))
    tt_module = TtTemporalTransformer(golden, module.state_dict())
    runner.run(good, lambda: validation.check_motion_module(golden, None, tt_module, module, 16, 2))
    real = TtTemporalTransformer.frame_mask
    monkeypatch.setattr(TtTemporalTransformer, "frame_mask", lambda self, n: real(self, 32))  # masks nothing
    runner.run(broken, lambda: validation.check_motion_module(golden, None, tt_module, module, 16, 2))
    assert good.status == "passed" and broken.status == "failed" and broken.pcc < validation.PCC_MODULE
    assert runner.report.finish() == validation_run.EXIT_FAILED and runner.report.result == "failed"
    assert "run again with `--compare-ops`" in markdown(runner.report)


def test_a_check_that_does_not_apply_is_skipped_without_failing_the_run():
    """A checkout without tt-metal's TTNN VAE: Phase 2 decodes on the CPU there, so the VAE check is
    skipped with the reason and the run still passes (exit 0)."""
    runner = validation_run.Runner(validation_run.new_report({}))
    ran, vae = runner.plan("a check", "Phase 2 UNet"), runner.plan("TTNN VAE vs the CPU VAE", "Phase 2 VAE")
    runner.run(ran, lambda: None)

    def no_vae():
        raise validation.NotApplicable("the tt-metal checkout at x has no TTNN VAE (tt/vae/ttnn_vae.py)")

    runner.run(vae, no_vae)
    assert (vae.status, vae.detail, vae.error) == ("skipped", "the tt-metal checkout at x has no TTNN VAE (tt/vae/ttnn_vae.py)", "")
    assert runner.report.finish() == validation_run.EXIT_PASSED


def test_an_op_comparison_failure_is_a_located_failure():
    """ttnn's comparison mode raises this (decorators.compare_tensors_using_pcc in the 0.81.1 wheel)."""
    check = validation_run.Check("motion module x F=2", "motion module")
    try:
        raise RuntimeError("ttnn.group_norm: Comparing output against CPU locally failed: pcc is 0.42 but should be >=0.99")
    except RuntimeError as exc:
        validation_run.record_exception(check, exc)
    assert check.status == "failed" and check.detail == "op-by-op comparison: ttnn.group_norm has PCC 0.42"


def test_the_wheel_offers_op_by_op_comparison():
    """The settings --compare-ops turns on exist in ttnn 0.81.1, and are restored after."""
    before = (ttnn.CONFIG.enable_comparison_mode, ttnn.CONFIG.comparison_mode_should_raise_exception,
              ttnn.CONFIG.comparison_mode_pcc)
    with validation_run.op_comparison(ttnn, 0.98):
        assert ttnn.CONFIG.enable_comparison_mode and ttnn.CONFIG.comparison_mode_should_raise_exception
        assert ttnn.CONFIG.comparison_mode_pcc == pytest.approx(0.98)
    assert (ttnn.CONFIG.enable_comparison_mode, ttnn.CONFIG.comparison_mode_should_raise_exception,
            ttnn.CONFIG.comparison_mode_pcc) == before


def test_level_sides_at_512():
    assert validation.level_side("down_blocks.0.motion_modules.1") == 64
    assert validation.level_side("mid_block.motion_modules.0") == 8
    assert validation.level_side("up_blocks.3.motion_modules.2") == 64
    assert validation.level_side("up_blocks.1.motion_modules.0") == 16
