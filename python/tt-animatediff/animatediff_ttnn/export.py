"""Writing results: GIF always, MP4 / WebP / PNG frames on request, a metadata record beside them.

Every file is written to a temporary name in the same folder and renamed into place, so a crash
or a cancel never leaves a half-written file under a name that looks finished. The metadata
JSON is written last: its presence is what marks a run as complete.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Dict, Iterator, List, Sequence

from PIL import Image


@contextmanager
def atomic_path(final: Path, suffix: str = "") -> Iterator[Path]:
    """Yield a temp path beside `final`; on success rename it over `final`, on error delete it."""
    final.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{final.name}.", suffix=suffix or final.suffix, dir=final.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.chmod(tmp_path, 0o666 & ~_UMASK)  # mkstemp makes 0600; results should be readable as usual
        os.replace(tmp_path, final)
    except BaseException:
        tmp_path.unlink(missing_ok=True)
        raise


def _read_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_UMASK = _read_umask()  # read once at import: os.umask is process-wide, so never toggle it mid-run


def write_gif(frames: Sequence[Image.Image], path: Path, fps: int) -> Path:
    # GIF stores frame delays in 1/100 s; round so 8 fps -> 12 cs rather than truncating to 10.
    duration_ms = 10 * round(100 / fps)
    with atomic_path(path) as tmp:
        frames[0].save(tmp, format="GIF", save_all=True, append_images=list(frames[1:]),
                       duration=duration_ms, loop=0, disposal=2)
    return path


def write_webp(frames: Sequence[Image.Image], path: Path, fps: int) -> Path:
    with atomic_path(path) as tmp:
        frames[0].save(tmp, format="WEBP", save_all=True, append_images=list(frames[1:]),
                       duration=round(1000 / fps), loop=0, lossless=True)
    return path


def write_mp4(frames: Sequence[Image.Image], path: Path, fps: int) -> Path:
    import imageio.v2 as imageio  # lazy: imageio-ffmpeg is only needed when MP4 is asked for
    import numpy as np

    with atomic_path(path) as tmp:
        # yuv420p needs even sizes; macro_block_size=8 pads instead of failing on odd multiples.
        with imageio.get_writer(tmp, format="FFMPEG", fps=fps, codec="libx264", pixelformat="yuv420p",
                                macro_block_size=8) as writer:
            for frame in frames:
                writer.append_data(np.asarray(frame.convert("RGB")))
    return path


def write_png_frames(frames: Sequence[Image.Image], folder: Path) -> Path:
    """A folder of frame_000.png ...; built under a temp name and renamed as a whole."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
    try:
        for index, frame in enumerate(frames):
            frame.save(tmp / f"frame_{index:03d}.png")
        os.chmod(tmp, 0o777 & ~_UMASK)
        if folder.exists():
            shutil.rmtree(folder)
        os.replace(tmp, folder)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return folder


def write_json(data: Dict[str, Any], path: Path) -> Path:
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(data, indent=2, sort_keys=True, default=str) + "\n", encoding="utf-8")
    return path


_WRITERS = {"gif": write_gif, "mp4": write_mp4, "webp": write_webp}


def export_frames(frames: Sequence[Image.Image], gif_path: Path, fps: int, formats: Sequence[str]) -> Dict[str, str]:
    """Write every asked format next to `gif_path` (same stem). Returns {format: path}."""
    if not frames:
        raise ValueError("no frames to export")
    written: Dict[str, str] = {}
    for fmt in ["gif", *[f for f in formats if f != "gif"]]:
        if fmt == "png":
            written[fmt] = str(write_png_frames(frames, gif_path.with_name(gif_path.stem + "_frames")))
        else:
            written[fmt] = str(_WRITERS[fmt](frames, gif_path.with_suffix("." + fmt), fps))
    return written


def metadata_path_for(gif_path: Path) -> Path:
    return gif_path.with_suffix(".json")


def remove_outputs(paths: List[str]) -> None:
    """Best-effort cleanup when a later step of a run fails after some files were written."""
    for p in paths:
        path = Path(p)
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
