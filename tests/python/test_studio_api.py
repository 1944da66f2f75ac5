"""The studio's contract (animatediff_ttnn/studio_api.py): its names and signatures are pinned here,
it imports without torch, the sidecar uses nothing else of the package, and every phase runs
through it on the tiny models."""

import inspect
import re
import subprocess
import sys
from pathlib import Path

import pytest

from animatediff_ttnn import studio_api as api

from conftest import SMALL, gif_frames

REPO = Path(__file__).resolve().parents[2]
SIDECAR = REPO / "python" / "sidecar" / "animatediff_sidecar"

# name -> its parameters, as the sidecar calls them. Changing one of these breaks the studio.
SIGNATURES = {
    "needs_motion_adapter": ["phase"],
    "build_pipeline": ["phase", "sd", "adapter", "adapter_source", "device", "dtype", "backend", "preset",
                       "dtype_reason", "checkpoint_steps"],
    "resolve_backend": ["phase", "requested"],
    "backend_is_stale": ["reloaded_modules"],
    "hand_over_backend": ["new", "old"],
    "close_pipeline": ["pipeline"],
    "generate": ["pipeline", "phase", "params", "run_options", "on_step", "on_frame", "cancel", "timings"],
    "pick_device": ["requested"],
    "choose_dtype": ["device", "requested", "phase", "backend"],
    "check_preset": ["preset", "params"],
    "preset_uses_adapter_setting": ["preset"],
    "load_preset_motion_adapter": ["preset", "source", "steps", "device", "dtype"],
    "load_sd": ["source", "device", "dtype"],
    "load_motion_adapter": ["source", "device", "dtype"],
    "cancel_token": [],
    "new_timings": [],
    "finish_run": ["frames", "params", "output", "timings", "run_info", "device", "cancel"],
    "decode_frame": ["sd", "latents"],
    "export_frames": ["frames", "gif_path", "fps", "formats"],
    "write_outputs": ["frames", "gif_path", "fps", "formats", "metadata", "meta_path", "check", "commit"],
    "atomic_path": ["final", "suffix"],
    "clean_interrupted": ["folder"],
    "detect_blackhole": [],
    "find_sd_demo": [],
    "default_source": ["role"],
    "download_patterns": ["role"],
    "download_command": ["repo_id", "filename"],
    "is_local": ["source"],
    "hub_cache_dir": [],
    "estimate_run": ["phase", "params", "run_options", "output_dir", "models_loaded", "may_calibrate"],
    "ttnn_check": ["folder"],
}
VALUES = ["CONTRACT_VERSION", "BACKEND_MODULES", "PARAMETERS", "GenerationParams", "ParamError", "ROLES"]


@pytest.mark.parametrize("name", sorted(SIGNATURES))
def test_signature_is_pinned(name):
    assert list(inspect.signature(getattr(api, name)).parameters) == SIGNATURES[name]


def test_values_are_there():
    for name in VALUES:
        assert hasattr(api, name), name
    assert set(api.ROLES) == {"sd", "motion_adapter"}


def test_the_sidecar_asks_for_this_contract_version():
    """Two spellings of one number: the package's CONTRACT_VERSION and the version the sidecar requires
    (it cannot import the package to ask: the scratchpad's copy is read before anything is imported)."""
    from animatediff_sidecar.user_code import REQUIRED_CONTRACT, read_contract_version

    assert api.CONTRACT_VERSION == REQUIRED_CONTRACT
    assert read_contract_version(Path(api.__file__).parents[1]) == REQUIRED_CONTRACT  # read as the sidecar reads it


def test_backend_modules_name_real_modules_and_judge_staleness():
    package = Path(api.__file__).parent
    for name in api.BACKEND_MODULES:
        path = package.joinpath(*name.split("."))
        assert path.with_suffix(".py").is_file() or (path / "__init__.py").is_file(), name
    assert api.backend_is_stale(["animatediff_ttnn.temporal_module"])
    assert api.backend_is_stale(["animatediff_ttnn.backends.torch_motion_backend"])
    assert not api.backend_is_stale(["animatediff_ttnn.runtime.previews", "animatediff_ttnn.ttnn_pipeline"])
    assert not api.backend_is_stale(["animatediff_ttnn.backendsx"])  # a prefix of a name is not the module


def test_imports_without_torch():
    code = "import sys, animatediff_ttnn.studio_api; print(sorted({'torch', 'diffusers', 'PIL'} & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_the_sidecar_uses_nothing_else_of_the_package():
    offenders = []
    for path in SIDECAR.glob("*.py"):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if re.search(r'module\("(?!studio_api")', line) or re.search(r"\banimatediff_ttnn\.(?!studio_api\b)\w", line):
                offenders.append(f"{path.name}:{number}: {line.strip()}")
    assert offenders == []


def test_sources_honour_the_environment(monkeypatch):
    monkeypatch.setenv("ANIMATEDIFF_SD_MODEL", "/models/sd")
    monkeypatch.delenv("ANIMATEDIFF_MOTION_ADAPTER", raising=False)
    assert api.default_source("sd") == "/models/sd"
    assert api.default_source("motion_adapter") == "guoyww/animatediff-motion-adapter-v1-5-2"
    assert api.is_local("/models/sd") and not api.is_local("CompVis/stable-diffusion-v1-4")
    assert "unet/diffusion_pytorch_model.safetensors" in api.download_patterns("sd")


@pytest.fixture(scope="module")
def loaded(tiny_models):
    device, dtype = api.pick_device("cpu")
    sd = api.load_sd(tiny_models["sd"], device, dtype)
    adapter = api.load_motion_adapter(tiny_models["motion_adapter"], device, dtype)
    return dict(sd=sd, adapter=adapter, device=device, dtype=dtype, adapter_source=tiny_models["motion_adapter"])


@pytest.mark.parametrize("phase, run_options", [
    (1, {"backend": "auto", "device": "cpu"}),
    (2, {"backend": "torch", "device": "cpu", "perturbation_strength": 0.2}),
    (3, {"backend": "torch", "device": "cpu"}),
])
def test_every_phase_runs_through_the_contract(loaded, tmp_path, phase, run_options):
    adapter = loaded["adapter"] if api.needs_motion_adapter(phase) else None
    pipeline = api.build_pipeline(phase, loaded["sd"], adapter, loaded["adapter_source"], loaded["device"],
                                  loaded["dtype"], run_options["backend"], dtype_reason="why this dtype")
    assert pipeline.describe()["dtype_reason"] == "why this dtype"  # every phase's run record says why
    params = api.GenerationParams(prompt="a tiny test", num_frames=2, steps=2, **SMALL).validate()
    steps, frames_done, timings = [], [], api.new_timings()
    frames = api.generate(pipeline, phase, params, run_options, on_step=steps.append, on_frame=frames_done.append,
                          cancel=api.cancel_token(), timings=timings)
    assert len(frames) == 2 and frames[0].size == (64, 64)
    assert steps and steps[-1].step == steps[-1].total_steps >= 2  # PNDM (phase 2) makes steps + 1 calls
    assert len(frames_done) == (0 if phase == 1 else 2)
    if phase == 2:
        assert pipeline.describe()["perturbation_strength"] == 0.2
    result = api.finish_run(frames, params, tmp_path / "run.gif", timings, pipeline.describe(), loaded["device"])
    assert len(gif_frames(result.outputs["gif"])[0]) == 2 and Path(result.metadata_path).is_file()
    api.close_pipeline(pipeline)


def test_a_cancelled_token_stops_the_run(loaded):
    pipeline = api.build_pipeline(2, loaded["sd"], None, None, loaded["device"], loaded["dtype"], "torch")
    token = api.cancel_token()
    token.cancel()
    params = api.GenerationParams(prompt="x", num_frames=1, steps=2, **SMALL)
    with pytest.raises(Exception) as err:
        api.generate(pipeline, 2, params, {}, cancel=token)
    assert type(err.value).__name__ == "Cancelled"


def test_decode_and_export_more_formats(loaded, tmp_path):
    import torch

    frames = [api.decode_frame(loaded["sd"], torch.zeros(1, 4, 8, 8)) for _ in range(2)]
    written = api.export_frames(frames, tmp_path / "x.gif", 8, ["webp", "png"])
    assert {"gif", "webp", "png"} <= set(written) and all(Path(p).exists() for p in written.values())


def test_hand_over_backend_moves_the_built_unet(loaded):
    old = api.build_pipeline(2, loaded["sd"], None, None, loaded["device"], loaded["dtype"], "torch")
    api.generate(old, 2, api.GenerationParams(prompt="x", num_frames=1, steps=1, **SMALL), {})
    built = old._backend
    new = api.build_pipeline(2, loaded["sd"], None, None, loaded["device"], loaded["dtype"], "torch")
    api.hand_over_backend(new, old)
    assert new._backend is built and old._backend is None
