"""Output files: formats, atomic writes, nothing half-written left behind."""

import json

import numpy as np
import pytest
from PIL import Image

from animatediff_ttnn.export import atomic_path, export_frames, write_json

from conftest import gif_frames, leftovers


def frames(n=3, size=(32, 24)):
    rng = np.random.default_rng(0)
    return [Image.fromarray(rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8)) for _ in range(n)]


def test_all_formats(tmp_path):
    written = export_frames(frames(), tmp_path / "clip.gif", fps=4, formats=("mp4", "webp", "png"))
    assert set(written) == {"gif", "mp4", "webp", "png"}
    got, size, info = gif_frames(written["gif"])
    assert len(got) == 3 and size == (32, 24) and info["duration"] == 250 and info["loop"] == 0
    with Image.open(written["webp"]) as webp:
        assert webp.n_frames == 3
    assert sorted(p.name for p in (tmp_path / "clip_frames").iterdir()) == ["frame_000.png", "frame_001.png", "frame_002.png"]
    import imageio_ffmpeg

    assert imageio_ffmpeg.count_frames_and_secs(written["mp4"])[0] == 3
    assert leftovers(tmp_path) == ["clip.gif", "clip.mp4", "clip.webp", "clip_frames"]


def test_failed_write_leaves_neither_temp_nor_final(tmp_path):
    target = tmp_path / "result.gif"
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_bytes(b"GIF89a half")
            raise RuntimeError("crash mid-write")
    assert leftovers(tmp_path) == []


def test_rewrite_replaces_whole_file(tmp_path):
    path = write_json({"a": 1}, tmp_path / "m.json")
    write_json({"b": 2}, path)
    assert json.loads(path.read_text()) == {"b": 2}
    assert leftovers(tmp_path) == ["m.json"]
