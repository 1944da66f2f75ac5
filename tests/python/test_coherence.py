"""The temporal-coherence figure on constructed clips whose answer is known."""

import numpy as np
import pytest
from PIL import Image

from animatediff_ttnn.outputs.coherence import temporal_coherence

SIZE, FRAMES, PAN_PX = 128, 8, 3


def texture(seed: int, size: int) -> np.ndarray:
    """A smooth random picture: noise at 1/8 resolution, upscaled bicubically (like image content)."""
    coarse = np.random.default_rng(seed).integers(0, 256, (size // 8, size // 8, 3), dtype=np.uint8)
    return np.asarray(Image.fromarray(coarse).resize((size, size), Image.BICUBIC))


def clip(kind: str):
    scene = texture(0, SIZE + PAN_PX * FRAMES)
    noise = np.random.default_rng(1)
    frames = []
    for t in range(FRAMES):
        if kind == "static":
            frame = scene[:SIZE, :SIZE]
        elif kind == "wobble":  # Phase 2's look: the same picture, slightly different each frame
            frame = np.clip(scene[:SIZE, :SIZE] + noise.normal(0, 3, (SIZE, SIZE, 3)), 0, 255)
        elif kind == "panning":  # the camera moves PAN_PX to the right per frame
            frame = scene[:SIZE, t * PAN_PX: t * PAN_PX + SIZE]
        else:  # flicker: unrelated pictures
            frame = texture(10 + t, SIZE)
        frames.append(Image.fromarray(np.asarray(frame, dtype=np.uint8)))
    return frames


@pytest.fixture(scope="module")
def figures():
    return {kind: temporal_coherence(clip(kind)) for kind in ("static", "wobble", "panning", "flicker")}


def test_similarity_orders_static_wobble_panning_flicker(figures):
    s = {k: v["similarity"] for k, v in figures.items()}
    assert s["static"] == pytest.approx(1.0)
    assert s["static"] > s["wobble"] > s["panning"] > s["flicker"], s


def test_motion_is_the_pan_and_nothing_else(figures):
    m = {k: v["motion_px"] for k, v in figures.items()}
    assert m["static"] == 0.0
    assert m["wobble"] < 0.3, m
    assert m["panning"] == pytest.approx(PAN_PX, abs=0.3), m


def test_residual_tells_flicker_from_motion(figures):
    r = {k: v["residual"] for k, v in figures.items()}
    assert r["static"] == 0.0
    assert r["panning"] < 1.0 and r["wobble"] < 5.0, r
    assert r["flicker"] > 5 * max(r["panning"], r["wobble"]), r


def test_a_single_frame_is_still():
    assert temporal_coherence(clip("static")[:1]) == {"similarity": 1.0, "motion_px": 0.0, "residual": 0.0}
