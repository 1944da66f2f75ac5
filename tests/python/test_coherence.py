"""The temporal-coherence figure on constructed clips whose answer is known."""

from pathlib import Path

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


def panning(size: int, pan: int, frames: int = 4):
    scene = texture(0, size + pan * frames)
    return [Image.fromarray(np.asarray(scene[:size, t * pan: t * pan + size], dtype=np.uint8)) for t in range(frames)]


def test_a_fast_pan_beyond_the_first_search_is_measured_not_cut_off():
    """24 px per frame at 512x512 is 6 analysis pixels: past the first +-4 search, within the widened +-8.
    Before the search widened, this read as about 14 px with a flicker-sized residual."""
    fast = temporal_coherence(panning(512, 24))
    assert fast["motion_px"] == pytest.approx(24, abs=1.0), fast
    assert fast["residual"] < 5.0, fast


def test_the_range_is_what_the_lessons_say():
    """Beyond 8 analysis pixels per frame (32 px at 512x512) the figure stays near its range: lesson 09 says so."""
    from animatediff_ttnn.outputs.coherence import ANALYSIS_SIDE, MAX_SEARCH

    assert MAX_SEARCH * 512 // ANALYSIS_SIDE == 32 and MAX_SEARCH * 256 // ANALYSIS_SIDE == 16
    lesson = " ".join((Path(__file__).resolve().parents[2] / "lessons" / "09-phase3.md").read_text().split())
    assert "up to 32 px per frame at 512x512 (16 at 256x256)" in lesson


def test_lesson_09_quotes_these_clips_figures(figures):
    """Lesson 09's table of typical figures is these clips' (rounded as written)."""
    lesson = " ".join((Path(__file__).resolve().parents[2] / "lessons" / "09-phase3.md").read_text().split())
    rows = {"still": "static", "wobble (what Phase 2 aims for)": "wobble", "a pan of 3 px per frame": "panning"}
    for label, kind in rows.items():
        f = figures[kind]
        assert f"| {label} | {round(f['similarity'], 2)} | {f['motion_px']:.1f} | {f['residual']:.1f} |" in lesson, (label, f)
    f = figures["flicker"]
    assert f"draws them with `MOTION_SCALE = 0.0`) | {round(f['similarity'], 2)} | {f['motion_px']:.1f} | {f['residual']:.1f} |" in lesson, f
