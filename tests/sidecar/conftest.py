"""Fixtures for the sidecar tests: tiny models, sidecar processes, a scratchpad copy, a torch-less
Python. Names are prefixed `sc_` so they never shadow tests/python's fixtures."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Callable, Dict, List, Optional

import pytest

from .rpc_client import REPO, SidecarClient

BUNDLE = REPO / "python" / "tt-animatediff"
VENV_CACHE = REPO / ".cache" / "sidecar-test-venvs"
SMALL = {"width": 64, "height": 64}


@pytest.fixture(scope="session")
def sc_models(tmp_path_factory) -> Dict[str, str]:
    """The tiny random-weight models (real architectures), built once."""
    from animatediff_testing.tiny_models import build_tiny_models

    return {k: str(v) for k, v in build_tiny_models(tmp_path_factory.mktemp("sc-tiny-models")).items()}


@pytest.fixture(scope="session")
def sc_env(tmp_path_factory) -> Dict[str, str]:
    """Environment for sidecar processes: offline, an empty model cache, no TT_METAL_HOME."""
    hf_home = tmp_path_factory.mktemp("sc-hf-home")
    return {"HF_HUB_OFFLINE": "1", "HF_HOME": str(hf_home), "HF_HUB_CACHE": str(hf_home / "hub"),
            "TT_METAL_HOME": "", "ANIMATEDIFF_SCRATCHPAD": "", "ANIMATEDIFF_BUNDLE": "",
            # tiny models gain nothing from threads, and spinning OpenMP threads crawl on a busy box
            "OMP_NUM_THREADS": "1"}


@pytest.fixture(scope="session")
def sc_no_scratchpad(tmp_path_factory) -> str:
    """A scratchpad path with nothing deployed, so the bundle runs whatever $HOME holds."""
    return str(tmp_path_factory.mktemp("sc-empty") / "tt-animatediff")


@pytest.fixture(scope="module")
def sc_presets(sc_spawn, sc_no_scratchpad, sc_models):
    """One per test module: a sidecar whose Hugging Face cache holds the tiny Lightning / AnimateLCM files under the real hub ids."""
    client = sc_spawn("--scratchpad", sc_no_scratchpad, env={"HF_HUB_CACHE": sc_models["hf_cache"]})
    client.handshake()
    return client


@pytest.fixture(scope="session")
def sc_spawn(sc_env) -> Callable[..., SidecarClient]:
    """Start a sidecar; every one started is shut down at the end and must not have written
    anything but protocol frames to stdout."""
    started: List[SidecarClient] = []

    def spawn(*args: str, python: str = sys.executable, env: Optional[Dict[str, str]] = None,
              cwd: Optional[str] = None) -> SidecarClient:
        client = SidecarClient(list(args), python=python, env={**sc_env, **(env or {})}, cwd=cwd)
        started.append(client)
        return client

    yield spawn
    for client in started:
        client.close(timeout=30)
        assert not client.corruption, f"stdout carried non-protocol bytes: {client.corruption}"


@pytest.fixture(scope="session")
def sc_bundle(sc_spawn, sc_no_scratchpad) -> SidecarClient:
    """One sidecar running the bundle, shared by tests that do not change code."""
    client = sc_spawn("--scratchpad", sc_no_scratchpad)
    client.handshake()
    return client


def copy_lesson(dest: Path) -> Path:
    shutil.copytree(BUNDLE, dest, ignore=shutil.ignore_patterns("output", "*.egg-info", "__pycache__"))
    return dest


def gen_request(models: Dict[str, str], phase: int, out: Path, **params) -> dict:
    base = {"prompt": "a lighthouse at dusk", "numFrames": 3, "steps": 2, "seed": 5, **SMALL}
    base.update(params.pop("params", {}))
    request = {"phase": phase, "params": base, "outputDir": str(out), "device": "cpu",
               "models": {"sd": models["sd"]} if phase == 2 else
               {"sd": models["sd"], "motionAdapter": models["motion_adapter"]}}
    if phase == 2:
        request["backend"] = "torch"
    request.update(params)
    return request


def files_in(folder: Path) -> List[str]:
    """Everything in a folder, hidden temp files included."""
    return sorted(p.name for p in Path(folder).iterdir()) if Path(folder).exists() else []


def _find_python(version: str) -> Optional[str]:
    if f"{sys.version_info[0]}.{sys.version_info[1]}" == version:
        return sys.executable
    candidates = [shutil.which(f"python{version}")]
    pyenv = Path(os.environ.get("PYENV_ROOT") or Path.home() / ".pyenv")  # shims fail for a non-selected version
    candidates += [str(p) for p in sorted(pyenv.glob(f"versions/{version}.*/bin/python{version}"), reverse=True)]
    for exe in filter(None, candidates):
        try:
            out = subprocess.run([exe, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                                 capture_output=True, text=True, timeout=30)
        except (OSError, subprocess.TimeoutExpired):
            continue
        if out.returncode == 0 and out.stdout.strip() == version:
            return exe
    return None


def notorch_python(version: str) -> str:
    """A venv of Python `version` holding only the sidecar's own dependencies (pygls, msgpack):
    no torch, diffusers or PIL. Created once under .cache/; skips the test if it cannot be made."""
    base = _find_python(version)
    if base is None:
        pytest.skip(f"no python{version} on this machine")
    venv = VENV_CACHE / f"notorch-py{version}"
    python = venv / "bin" / "python"
    stamp = venv / ".ready"
    if not stamp.exists():
        shutil.rmtree(venv, ignore_errors=True)
        made = subprocess.run([base, "-m", "venv", str(venv)], capture_output=True, text=True, timeout=300)
        if made.returncode != 0:
            pytest.skip(f"python{version} -m venv failed: {made.stderr.strip()[-300:]}")
        pip = subprocess.run([str(python), "-m", "pip", "install", "-q", "pygls>=2.0", "msgpack>=1.0"],
                             capture_output=True, text=True, timeout=600)
        if pip.returncode != 0:
            pytest.skip(f"pip could not install pygls into a python{version} venv: {pip.stderr.strip()[-300:]}")
        stamp.write_text("ok\n")
    check = subprocess.run([str(python), "-c", "import torch"], capture_output=True)
    assert check.returncode != 0, "the torch-less venv can import torch"
    return str(python)
