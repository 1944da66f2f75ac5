"""The blackhole backend's host-side parts: checkout discovery, device detection, padding,
timestep precompute and config validation. Tests that need ttnn or a Blackhole chip skip with
the reason; nothing here mocks ttnn."""

from __future__ import annotations

import importlib.util
import inspect
import os
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "python" / "tt-animatediff"))

from animatediff_ttnn.backends import blackhole_backend as bb  # noqa: E402
from animatediff_ttnn.backends import tt_metal  # noqa: E402
from animatediff_ttnn.backends.unet_backend import BackendUnavailable  # noqa: E402

PY = f"{sys.version_info.major}.{sys.version_info.minor}"
# origin None = a namespace package (a plain folder named ttnn on sys.path), not the ttnn wheel
HAVE_TTNN = getattr(importlib.util.find_spec("ttnn"), "origin", None) is not None
needs_ttnn = pytest.mark.skipif(
    not HAVE_TTNN, reason=f"ttnn not importable on Python {PY}: wheels exist for 3.10 and 3.12"
)
NEW, OLD = (rel for rel, _ in tt_metal.SD_DEMO_LAYOUTS)
SD_SCHEDULER = {
    "beta_start": 0.00085,
    "beta_end": 0.012,
    "beta_schedule": "scaled_linear",
    "num_train_timesteps": 1000,
    "set_alpha_to_one": False,
    "skip_prk_steps": True,
    "steps_offset": 1,
}
# CompVis/stable-diffusion-v1-4 unet/config.json, the keys the TTNN UNet depends on (lists, as in JSON).
SD14_UNET_CONFIG = {
    "in_channels": 4,
    "out_channels": 4,
    "block_out_channels": [320, 640, 1280, 1280],
    "layers_per_block": 2,
    "cross_attention_dim": 768,
    "attention_head_dim": 8,
    "norm_num_groups": 32,
    "down_block_types": ["CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"],
    "mid_block_type": "UNetMidBlock2DCrossAttn",
    "up_block_types": ["UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"],
    "center_input_sample": False,
    "use_linear_projection": False,
    "sample_size": 64,
}


def make_demo_tree(root: Path, rel: str, skip: str = "") -> Path:
    demo = root / rel
    for marker in tt_metal.SD_DEMO_MARKERS:
        if marker != skip:
            (demo / marker).parent.mkdir(parents=True, exist_ok=True)
            (demo / marker).write_text("# placeholder\n")
    return demo


@pytest.fixture()
def no_ttnn(monkeypatch):
    """Make `import ttnn` fail here whatever is installed (None in sys.modules blocks the import)."""
    monkeypatch.setitem(sys.modules, "ttnn", None)


@pytest.fixture(scope="module")
def tiny_unet():
    from diffusers import UNet2DConditionModel

    torch.manual_seed(0)
    return UNet2DConditionModel(
        block_out_channels=(32, 64),
        down_block_types=("CrossAttnDownBlock2D", "DownBlock2D"),
        up_block_types=("UpBlock2D", "CrossAttnUpBlock2D"),
        cross_attention_dim=32,
        layers_per_block=1,
        norm_num_groups=32,
        sample_size=8,
    ).eval()


# --- device detection ---


def test_detect_without_ttnn_reports_no_device(no_ttnn):
    status = tt_metal.detect_blackhole()
    assert status.available is False
    assert status.device_count == 0
    assert "ttnn" in status.reason and f"Python {PY}" in status.reason
    assert "3.10" in status.reason and "3.12" in status.reason


@pytest.mark.skipif(HAVE_TTNN, reason="ttnn is importable here; the no-ttnn path is covered by the test above")
def test_detect_here_without_forcing_reports_ttnn_missing():
    status = tt_metal.detect_blackhole()
    assert status.available is False and status.device_count == 0
    assert "ttnn is not importable" in status.reason


# --- finding the tt-metal checkout ---


def test_find_sd_demo_unset(monkeypatch):
    monkeypatch.delenv("TT_METAL_HOME", raising=False)
    with pytest.raises(tt_metal.TtMetalNotFound) as err:
        tt_metal.find_sd_demo()
    msg = str(err.value)
    assert "TT_METAL_HOME is not set" in msg and NEW in msg and OLD in msg
    assert isinstance(err.value, BackendUnavailable)  # the pipeline treats it as "backend cannot run"


def test_find_sd_demo_not_a_directory(tmp_path):
    missing = tmp_path / "nowhere"
    with pytest.raises(tt_metal.TtMetalNotFound, match="is not a directory") as err:
        tt_metal.find_sd_demo(missing)
    assert str(missing) in str(err.value)


def test_find_sd_demo_empty_checkout(monkeypatch, tmp_path):
    monkeypatch.setenv("TT_METAL_HOME", str(tmp_path))
    with pytest.raises(tt_metal.TtMetalNotFound) as err:
        tt_metal.find_sd_demo()
    msg = str(err.value)
    assert "TT_METAL_HOME" in msg and str(tmp_path) in msg
    assert f"{tmp_path}/{NEW}/" in msg and f"{tmp_path}/{OLD}/" in msg
    assert "sd_pndm_scheduler.py" in msg


def test_find_sd_demo_incomplete_tree_is_rejected(tmp_path):
    make_demo_tree(tmp_path, NEW, skip="tt/ttnn_functional_unet_2d_condition_model_new_conv.py")
    with pytest.raises(tt_metal.TtMetalNotFound, match="holds no tt-metal Stable Diffusion demo"):
        tt_metal.find_sd_demo(tmp_path)


def test_find_sd_demo_old_layout_from_env(monkeypatch, tmp_path):
    demo = make_demo_tree(tmp_path, OLD)
    monkeypatch.setenv("TT_METAL_HOME", str(tmp_path))
    found = tt_metal.find_sd_demo()
    assert found == demo.resolve()
    assert tt_metal.sd_demo_package(found) == (tmp_path.resolve(), "models.demos.wormhole.stable_diffusion")


def test_find_sd_demo_new_layout_preferred(tmp_path):
    make_demo_tree(tmp_path, OLD)
    demo = make_demo_tree(tmp_path, NEW)
    found = tt_metal.find_sd_demo(tmp_path)
    assert found == demo.resolve()
    root, package = tt_metal.sd_demo_package(found)
    assert root == tmp_path.resolve() and package == "models.demos.vision.generative.stable_diffusion.wormhole"


def test_add_tt_metal_to_sys_path_once(monkeypatch, tmp_path):
    monkeypatch.setattr(sys, "path", list(sys.path))
    tt_metal.add_tt_metal_to_sys_path(tmp_path)
    tt_metal.add_tt_metal_to_sys_path(tmp_path)
    assert sys.path[0] == str(tmp_path.resolve())
    assert sys.path.count(str(tmp_path.resolve())) == 1


def test_import_sd_demo_without_ttnn_is_backend_unavailable(no_ttnn, tmp_path):
    make_demo_tree(tmp_path, NEW)
    with pytest.raises(BackendUnavailable, match="needs ttnn"):
        tt_metal.import_sd_demo(tmp_path)


# --- text embeddings 77 -> 96 ---


def test_pad_text_embeddings():
    emb = torch.randn(2, 77, 768)
    padded = bb.pad_text_embeddings(emb)
    assert padded.shape == (2, 96, 768) and padded.dtype == torch.float32
    assert torch.equal(padded[:, :77], emb)  # [uncond, cond] untouched
    assert torch.count_nonzero(padded[:, 77:]) == 0  # masked by the TTNN attention, so zeros


@pytest.mark.parametrize("shape", [(1, 77, 768), (2, 96, 768), (2, 77, 1024)])
def test_pad_text_embeddings_rejects_other_shapes(shape):
    with pytest.raises(ValueError, match=r"\(2, 77, 768\)"):
        bb.pad_text_embeddings(torch.zeros(shape))


# --- timestep precompute ---


def test_time_projection_matches_unet_forward(tiny_unet):
    captured = {}
    hook = tiny_unet.time_embedding.register_forward_hook(
        lambda mod, args, out: captured.update(t_emb=args[0].detach(), emb=out.detach())
    )
    try:
        with torch.no_grad():
            tiny_unet(torch.randn(2, 4, 8, 8), 981, encoder_hidden_states=torch.randn(2, 77, 32))
    finally:
        hook.remove()
    proj = bb.time_projection(tiny_unet.time_proj, 981)
    assert proj.shape == (2, 1, 1, 32)  # the demo's (1, 1, B, C).permute(2, 0, 1, 3)
    assert torch.equal(proj.reshape(2, 32), captured["t_emb"])
    with torch.no_grad():
        emb = tiny_unet.time_embedding(proj.reshape(2, 32))
    torch.testing.assert_close(emb, captured["emb"], rtol=0, atol=0)


def test_precompute_time_projections_dedups_and_differs(tiny_unet):
    table = bb.precompute_time_projections(tiny_unet.time_proj, [981, 961, 961, 941])
    assert list(table) == [981, 961, 941]
    assert torch.equal(table[961], bb.time_projection(tiny_unet.time_proj, 961))
    assert not torch.allclose(table[981], table[941])


# --- what the TTNN UNet / scheduler accept ---


def test_validate_accepts_sd14_at_512():
    bb.validate_unet_setup(SD14_UNET_CONFIG, 512, 512)


def test_validate_rejects_other_sizes():
    with pytest.raises(ValueError, match="512x512 only"):
        bb.validate_unet_setup(SD14_UNET_CONFIG, 256, 256)


def test_validate_rejects_other_architectures(tiny_unet):
    with pytest.raises(ValueError, match="block_out_channels") as err:
        bb.validate_unet_setup(tiny_unet.config, 512, 512)
    assert "cross_attention_dim=32" in str(err.value)


def test_backend_checks_size_before_anything_else(tiny_unet):
    with pytest.raises(ValueError, match="512x512 only"):
        bb.BlackholeUNetBackend(tiny_unet, SD_SCHEDULER, height=256, width=256)


def test_backend_without_checkout_names_tt_metal_home(monkeypatch):
    monkeypatch.delenv("TT_METAL_HOME", raising=False)
    unet = SimpleNamespace(config=SD14_UNET_CONFIG, parameters=lambda: iter(()))  # a torch-side stand-in
    with pytest.raises(BackendUnavailable, match="TT_METAL_HOME"):
        bb.BlackholeUNetBackend(unet, SD_SCHEDULER)


def test_backend_without_ttnn_is_unavailable(no_ttnn, tmp_path):
    make_demo_tree(tmp_path, NEW)
    unet = SimpleNamespace(config=SD14_UNET_CONFIG, parameters=lambda: iter(()))
    with pytest.raises(BackendUnavailable, match="ttnn is not importable"):
        bb.BlackholeUNetBackend(unet, SD_SCHEDULER, tt_metal_home=tmp_path)


@pytest.mark.skipif(HAVE_TTNN and tt_metal.detect_blackhole().available, reason="a Blackhole chip is present")
def test_backend_without_chip_says_why(tmp_path):
    make_demo_tree(tmp_path, OLD)
    unet = SimpleNamespace(config=SD14_UNET_CONFIG, parameters=lambda: iter(()))
    with pytest.raises(BackendUnavailable) as err:
        bb.BlackholeUNetBackend(unet, SD_SCHEDULER, tt_metal_home=tmp_path)
    assert tt_metal.detect_blackhole().reason in str(err.value)  # "ttnn is not importable" or "no ... chip"


# --- Phase 3's blackhole backend: every refusal happens before a device is opened ---

SD14_STANDIN = SimpleNamespace(config=SD14_UNET_CONFIG)


def phase3_backend(**kwargs):
    from animatediff_ttnn.backends.blackhole_motion_backend import BlackholeMotionBackend

    return BlackholeMotionBackend(SD14_STANDIN, adapter=None, **kwargs)


def test_phase3_refuses_other_sizes(tiny_unet):
    with pytest.raises(ValueError, match="512x512 only"):
        phase3_backend(height=256, width=512)


def test_phase3_refuses_other_architectures(tiny_unet):
    from animatediff_ttnn.backends.blackhole_motion_backend import BlackholeMotionBackend

    with pytest.raises(ValueError, match="block_out_channels"):
        BlackholeMotionBackend(tiny_unet, adapter=None)


@pytest.mark.parametrize("frames", [0, 33, 64])
def test_phase3_refuses_frames_outside_one_tile(frames, tmp_path):
    make_demo_tree(tmp_path, NEW)
    with pytest.raises(ValueError, match="num_frames: .*1..32"):
        phase3_backend(num_frames=frames, tt_metal_home=tmp_path)


def test_phase3_without_checkout_names_tt_metal_home(monkeypatch):
    monkeypatch.delenv("TT_METAL_HOME", raising=False)
    with pytest.raises(BackendUnavailable, match="TT_METAL_HOME"):
        phase3_backend(num_frames=16)


@pytest.mark.skipif(HAVE_TTNN and tt_metal.detect_blackhole().available, reason="a Blackhole chip is present")
def test_phase3_without_chip_says_no_blackhole_device(tmp_path):
    make_demo_tree(tmp_path, NEW)
    with pytest.raises(BackendUnavailable, match="no Blackhole device") as err:
        phase3_backend(num_frames=16, tt_metal_home=tmp_path)
    assert tt_metal.detect_blackhole().reason in str(err.value)


@pytest.mark.skipif(HAVE_TTNN and tt_metal.detect_blackhole().available, reason="a Blackhole chip is present")
def test_phase3_seam_says_cannot_run_here_without_a_chip(tiny_unet):
    from animatediff_ttnn.backends.choice import resolve_backend
    from animatediff_ttnn.motion_pipeline import select_motion_backend

    choice = resolve_backend("blackhole", phase=3)  # resolving says why; building the backend refuses
    assert choice.resolved is None and tt_metal.detect_blackhole().reason in choice.reason
    with pytest.raises(BackendUnavailable, match="backend 'blackhole' cannot run here: .*'torch' to run the same frame loop"):
        select_motion_backend(choice, tiny_unet, None, 512, 512, num_frames=16)


def test_phase3_auto_stays_on_torch_and_says_why(tiny_unet):
    from animatediff_ttnn.backends.choice import resolve_backend
    from animatediff_ttnn.motion_pipeline import select_motion_backend
    from diffusers import MotionAdapter

    adapter = MotionAdapter(block_out_channels=(32, 64), motion_layers_per_block=1, motion_norm_num_groups=32,
                            motion_num_attention_heads=2)
    choice = resolve_backend("auto", phase=3)
    assert choice.device is None  # Phase 3's auto does not look for a card: it stays on torch
    backend = select_motion_backend(choice, tiny_unet, adapter, 64, 64)
    assert backend.name == "torch" and "validate_on_blackhole.py" in choice.reason


# --- real ttnn and a tt-metal checkout, no chip ---


@needs_ttnn
@pytest.mark.parametrize("with_vae", [False, True])
def test_import_sd_demo_loads_from_the_checkout(monkeypatch, tmp_path, with_vae):
    """Stand-in demo modules (ours, not tt-metal's) prove the sys.path/package plumbing with real ttnn:
    the UNet, the preprocessor, the device sizes from common.py, and the TTNN VAE only where the
    checkout has tt/vae/ttnn_vae.py (older checkouts have none: the CPU VAE decodes then)."""
    demo = make_demo_tree(tmp_path, NEW)
    (demo / "tt/ttnn_functional_unet_2d_condition_model_new_conv.py").write_text("class UNet2DConditionModel: ...\n")
    (demo / "custom_preprocessing.py").write_text("def custom_preprocessor(model, name): return {}\n")
    (demo / "common.py").write_text("SD_L1_SMALL_SIZE = 12345\nSD_TRACE_REGION_SIZE = 67890\n")
    if with_vae:
        (demo / "tt/vae").mkdir()
        (demo / "tt/vae/ttnn_vae.py").write_text("class Vae: ...\n")
    monkeypatch.setattr(sys, "path", list(sys.path))
    for name in [m for m in sys.modules if m == "models" or m.startswith("models.")]:
        monkeypatch.delitem(sys.modules, name)
    sd = tt_metal.import_sd_demo(tmp_path)
    try:
        assert sd.demo_dir == demo.resolve() and (sd.l1_small_size, sd.trace_region_size) == (12345, 67890)
        assert sd.unet_class.__name__ == "UNet2DConditionModel"
        assert Path(sys.modules[sd.unet_class.__module__].__file__).resolve().is_relative_to(demo.resolve())
        if with_vae:
            assert sd.vae_class.__name__ == "Vae"
            assert Path(sys.modules[sd.vae_class.__module__].__file__).resolve().is_relative_to(demo.resolve())
        else:
            assert sd.vae_class is None
    finally:
        for name in [m for m in sys.modules if m == "models" or m.startswith("models.")]:
            del sys.modules[name]


def _tt_metal_home_or_skip() -> Path:
    try:
        demo = tt_metal.find_sd_demo()
    except tt_metal.TtMetalNotFound as exc:
        pytest.skip(f"no tt-metal checkout: {exc}".splitlines()[0])
    return tt_metal.sd_demo_package(demo)[0]


# --- Blackhole chip (skipped unless one is present) ---


def pcc(a: torch.Tensor, b: torch.Tensor) -> float:
    return float(torch.corrcoef(torch.stack([a.flatten().float(), b.flatten().float()]))[0, 1])


def _blackhole_or_skip() -> None:
    status = tt_metal.detect_blackhole()
    if not status.available:
        pytest.skip(f"no Blackhole chip: {status.reason}")


@pytest.fixture()
def blackhole_device():
    """ttnn 0.81 tilizes even host tensors through the cluster, so TILE conversions need a chip too."""
    _blackhole_or_skip()
    import ttnn

    device = ttnn.CreateDevice(
        device_id=int(os.environ.get("TT_DEVICE_ID", "0")), l1_small_size=tt_metal.BLACKHOLE_SD_L1_SMALL_SIZE
    )
    yield ttnn, device
    ttnn.close_device(device)


@needs_ttnn
def test_text_embeddings_on_device(blackhole_device):
    ttnn, device = blackhole_device
    emb = torch.randn(2, 77, 768)
    back = ttnn.to_torch(bb.upload_text_embeddings(ttnn, device, emb)).float()
    assert tuple(back.shape) == (2, 96, 768)
    torch.testing.assert_close(back[:, :77], emb, rtol=1e-2, atol=1e-2)
    assert torch.count_nonzero(back[:, 77:]) == 0


@needs_ttnn
@pytest.mark.parametrize("trace", [True, False])
def test_one_guided_step_matches_torch_on_blackhole(trace):
    """Random-weight SD 1.4-shaped UNet (no download): TTNN CFG noise vs torch, by correlation, with the
    UNet call traced and untraced. Never run by us (no card here)."""
    _blackhole_or_skip()
    home = _tt_metal_home_or_skip()
    from diffusers import UNet2DConditionModel

    torch.manual_seed(0)
    unet = UNet2DConditionModel(**SD14_UNET_CONFIG).eval()
    backend = bb.BlackholeUNetBackend(unet, SD_SCHEDULER, tt_metal_home=home, trace=trace)
    try:
        assert backend.unet_call == "traced" if trace else backend.unet_call.startswith("untraced")
        timesteps = backend.reset_scheduler(10)
        latents, text = torch.randn(1, 4, 64, 64), torch.randn(2, 77, 768)
        noise = backend.guided_noise(
            backend.to_native(latents), 0, timesteps[0], backend.prepare_text_embeddings(text), 7.5
        )
        got = backend.to_torch(noise)
        with torch.no_grad():
            out = unet(torch.cat([latents, latents]), timesteps[0], encoder_hidden_states=text).sample
        want = out[:1] + 7.5 * (out[1:] - out[:1])
        assert pcc(got, want) > 0.95  # bfloat8 weights; CFG at 7.5 magnifies the cond-uncond error
    finally:
        backend.close()
