"""Output files: formats, atomic writes, nothing half-written left behind."""

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from animatediff_ttnn.outputs.export import atomic_path, export_frames, write_json

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


# -- a run's files appear together or not at all -------------------------------------------------

def _write_run(folder, **kwargs):
    from animatediff_ttnn.outputs.export import write_outputs

    gif = folder / "run1.gif"
    return write_outputs(frames(), gif, 4, ["gif", "webp", "png"], lambda outputs: {"outputs": outputs},
                         folder / "run1.json", **kwargs)


def test_a_format_failing_late_leaves_none_of_the_run(tmp_path, monkeypatch):
    """ENOSPC on the WebP after the GIF was written: no run1.gif (nor anything else) remains."""
    import errno

    from animatediff_ttnn.params import GenerationParams
    from animatediff_ttnn.outputs.run_record import finish_run
    from animatediff_ttnn.runtime.timings import Timings

    real_save = Image.Image.save

    def save(self, fp, format=None, **kwargs):
        if format == "WEBP":
            raise OSError(errno.ENOSPC, "No space left on device", str(fp))
        return real_save(self, fp, format=format, **kwargs)

    monkeypatch.setattr(Image.Image, "save", save)
    params = GenerationParams(prompt="x", formats=("gif", "webp", "png"), fps=4)
    with pytest.raises(OSError):
        finish_run(frames(), params, tmp_path / "run1.gif", Timings(), {})
    assert leftovers(tmp_path) == []


def test_a_run_given_a_relative_path_records_where_its_files_are(tmp_path, monkeypatch):
    """The lessons' commands pass `--output output/x.gif` from the scratchpad; the metadata JSON lives in
    output/, and readers resolve its paths there (or take them as absolute), never against the CLI's cwd."""
    from animatediff_ttnn.params import GenerationParams
    from animatediff_ttnn.outputs.run_record import finish_run
    from animatediff_ttnn.runtime.timings import Timings

    (tmp_path / "output").mkdir()
    monkeypatch.chdir(tmp_path)
    result = finish_run(frames(), GenerationParams(prompt="x", formats=("gif", "png"), fps=4),
                        Path("output/x.gif"), Timings(), {})
    monkeypatch.chdir(tmp_path / "output")  # anywhere else
    recorded = json.loads((tmp_path / "output" / "x.json").read_text())["outputs"]
    assert recorded == result.outputs == {"gif": str(tmp_path / "output" / "x.gif"),
                                          "png": str(tmp_path / "output" / "x_frames")}
    assert Path(result.metadata_path) == tmp_path / "output" / "x.json"


def test_metadata_failing_leaves_none_of_the_run(tmp_path):
    def broken(_outputs):
        raise OSError(28, "No space left on device")

    from animatediff_ttnn.outputs.export import write_outputs

    with pytest.raises(OSError):
        write_outputs(frames(), tmp_path / "run1.gif", 4, ["gif", "mp4"], broken, tmp_path / "run1.json")
    assert leftovers(tmp_path) == []


def test_cancel_during_export_stops_it_and_a_late_cancel_is_refused(tmp_path):
    from animatediff_ttnn.runtime.progress import CancelToken, Cancelled

    token = CancelToken()
    calls = []

    def check():  # the cancel arrives while the first format is being written
        calls.append(1)
        if len(calls) == 2:
            assert token.cancel() is True
        token.raise_if_cancelled()

    with pytest.raises(Cancelled):
        _write_run(tmp_path, check=check, commit=token.commit)
    assert leftovers(tmp_path) == []

    token = CancelToken()
    outputs, _meta = _write_run(tmp_path, check=token.raise_if_cancelled, commit=token.commit)
    assert token.cancel() is False and not token.cancelled  # past the point of no return: it completed
    assert leftovers(tmp_path) == ["run1.gif", "run1.json", "run1.webp", "run1_frames"]


def crash_during_commit(folder):
    """A real process dies mid-commit (outputs renamed, no metadata): what it leaves behind."""
    from animatediff_testing.crash import crash_during_commit as crash

    crash(folder / "run1.gif")
    return leftovers(folder)


def test_clean_interrupted_removes_only_what_a_crashed_run_left(tmp_path):
    from animatediff_ttnn.outputs.export import clean_interrupted, write_json

    left = crash_during_commit(tmp_path)
    assert {"run1.gif", "run1.webp", "run1_frames"} <= set(left)  # looks finished, but no run1.json
    # a killed writer's temp file, and things that are not ours or not dead
    (tmp_path / ".run2.gif.999999999-abcdefgh.gif").write_bytes(b"GIF89a half")
    mine = tmp_path / f".run3.gif.{__import__('os').getpid()}-abcdefgh.gif"  # a live writer (this process)
    mine.write_bytes(b"GIF89a in progress")
    keep = ["notes.txt", ".hidden", "other.gif", ".other.gif.tmp"]
    for name in keep:
        (tmp_path / name).write_text("user's")
    write_json({"outputs": {}}, tmp_path / "done.json")

    removed = clean_interrupted(tmp_path)
    assert "run1.gif" in removed and ".run2.gif.999999999-abcdefgh.gif" in removed
    assert leftovers(tmp_path) == sorted([*keep, mine.name, "done.json"])
    assert clean_interrupted(tmp_path) == []
