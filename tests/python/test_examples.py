"""The two example scripts, run as a user runs them (subprocess, tiny models, no network)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import gif_frames

BUNDLE = Path(__file__).resolve().parents[2] / "python" / "tt-animatediff"


def run_example(script, *args, cwd):
    env = dict(os.environ, HF_HUB_OFFLINE="1")
    return subprocess.run([sys.executable, str(BUNDLE / "examples" / script), *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)


def test_baseline_example_writes_gif_and_summary(tiny_models, tmp_path):
    proc = run_example("generate_baseline.py", "--model", tiny_models["sd"], "--motion-adapter", tiny_models["motion_ckpt"],
                       "--num-frames", "4", "--steps", "2", "--width", "64", "--height", "64", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    frames, size, _ = gif_frames(tmp_path / "output" / "baseline.gif")
    assert len(frames) == 4 and size == (64, 64)
    last = proc.stdout.strip().splitlines()[-1]
    assert last.startswith("4 frames in ") and "s/frame" in last and last.endswith("baseline.gif")


def test_blackhole_example_with_torch_backend(tiny_models, tmp_path):
    # --frames: the older spelling of --num-frames still works
    proc = run_example("generate_blackhole.py", "--model", tiny_models["sd"], "--backend", "torch", "--frames", "3",
                       "--steps", "2", "--width", "64", "--height", "64", "--output", "out/bh.gif", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert len(gif_frames(tmp_path / "out" / "bh.gif")[0]) == 3
    assert "torch: asked for explicitly" in proc.stderr


@pytest.mark.parametrize("args, message", [
    (["--frames", "0"], "invalid parameter num_frames"),
    (["--width", "100"], "invalid parameter width"),
    (["--backend", "gpu"], "unknown backend 'gpu'"),
    (["--backend", "blackhole"], "backend 'blackhole' cannot run here"),
    (["--model", "/no/such/sd"], "Stable Diffusion model not found: /no/such/sd"),
])
def test_clear_errors_no_traceback(tiny_models, tmp_path, args, message):
    base = ["--model", tiny_models["sd"], "--steps", "1", "--frames", "1", "--width", "64", "--height", "64"]
    proc = run_example("generate_blackhole.py", *base, *args, cwd=tmp_path)
    assert proc.returncode != 0
    assert message in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "output").exists() or not any((tmp_path / "output").iterdir())


def test_motion_example_phase3(tiny_models, tmp_path):
    proc = run_example("generate_motion.py", "--model", tiny_models["sd"], "--motion-adapter", tiny_models["motion_adapter"],
                       "--backend", "torch", "--frames", "3", "--steps", "2", "--width", "64", "--height", "64",
                       "--motion-scale", "0.5", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert len(gif_frames(tmp_path / "output" / "motion.gif")[0]) == 3
    assert proc.stdout.strip().splitlines()[-1].endswith("motion.gif")
    assert "torch: asked for explicitly" in proc.stderr
    (tmp_path / "bad").mkdir()
    bad = run_example("generate_motion.py", "--model", tiny_models["sd"], "--motion-adapter", tiny_models["motion_adapter"],
                      "--motion-scale", "5", "--steps", "1", "--frames", "1", cwd=tmp_path / "bad")
    assert bad.returncode == 2 and "invalid parameter motion_scale" in bad.stderr


def test_baseline_example_with_the_lightning_preset_from_the_hub_cache(tiny_models, tmp_path):
    """--preset lightning resolves ByteDance/AnimateDiff-Lightning from the HF cache and runs its steps/CFG."""
    import json

    env_cache = {"HF_HUB_CACHE": tiny_models["hf_cache"]}
    proc = subprocess.run([sys.executable, str(BUNDLE / "examples" / "generate_baseline.py"), "--model", tiny_models["sd"],
                           "--preset", "lightning", "--dtype", "float32", "--frames", "2", "--width", "64",
                           "--height", "64"], cwd=tmp_path, env=dict(os.environ, HF_HUB_OFFLINE="1", **env_cache),
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    meta = json.loads((tmp_path / "output" / "baseline.json").read_text())
    assert meta["preset"]["name"] == "lightning" and meta["params"]["steps"] == 4
    assert meta["params"]["guidance_scale"] == 1.0 and meta["dtype"] == "float32"
    assert meta["scheduler"]["class"] == "EulerDiscreteScheduler" and meta["scheduler"]["timestep_spacing"] == "trailing"


def test_lightning_steps_that_match_no_checkpoint_are_refused(tiny_models, tmp_path):
    proc = run_example("generate_baseline.py", "--model", tiny_models["sd"], "--preset", "lightning", "--steps", "3",
                       cwd=tmp_path)
    assert proc.returncode == 2 and "invalid parameter steps: 3 does not match" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_the_ttnn_check_without_ttnn_says_what_to_run(tmp_path):
    """Lesson 09's bring-up check in a Python without ttnn (this one, 3.11): no traceback, the two commands."""
    proc = run_example("check_ttnn_port.py", cwd=tmp_path)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert "cannot run here" in proc.stderr and "no ttnn" in proc.stderr
    assert "python examples/make_ttnn_venv.py" in proc.stderr and ".venv-ttnn/bin/python examples/check_ttnn_port.py" in proc.stderr
