"""Shared fixtures: the tiny random-weight models, built once per test session, and no network."""

import os
from pathlib import Path

import pytest

# Tests must never reach a model hub: a missing model has to fail fast and clearly.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")

SMALL = dict(width=64, height=64)  # 8x8 latents: the tiny models' native size


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory) -> dict:
    from animatediff_testing.tiny_models import build_tiny_models

    return {k: str(v) for k, v in build_tiny_models(tmp_path_factory.mktemp("tiny-models")).items()}


@pytest.fixture(scope="session")
def phase1(tiny_models):
    from animatediff_ttnn.pipeline import Phase1Pipeline

    # fp32: the tests that use it state fp32 tolerances; bf16 (the default on CPUs with native bf16)
    # is held to its own tolerance in test_dtype.py
    pipeline, _ = Phase1Pipeline.from_sources(tiny_models["sd"], tiny_models["motion_adapter"], device="cpu",
                                              dtype="float32")
    return pipeline


@pytest.fixture(scope="session")
def phase2(tiny_models):
    from animatediff_ttnn.ttnn_pipeline import Phase2Pipeline

    pipeline, _ = Phase2Pipeline.from_sources(tiny_models["sd"], backend="torch", device="cpu", dtype="float32")
    return pipeline


def frames_array(frames):
    """PIL frames as one int16 array, so differences between two runs can go negative."""
    import numpy as np

    return np.stack([np.asarray(f, dtype=np.int16) for f in frames])


def gif_frames(path):
    """Every frame of a GIF as RGB arrays, plus its size and per-frame durations."""
    import numpy as np
    from PIL import Image, ImageSequence

    with Image.open(path) as im:
        frames = [np.asarray(f.convert("RGB")) for f in ImageSequence.Iterator(im)]
        return frames, im.size, im.info


def leftovers(folder: Path):
    """Anything in an output folder: a failed or cancelled run must leave it empty."""
    return sorted(p.name for p in Path(folder).iterdir()) if Path(folder).exists() else []
