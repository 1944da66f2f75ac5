"""Writing results: GIF always, MP4 / WebP / PNG frames on request, a metadata record beside them.

The files of one run appear together or not at all (`write_outputs`): every format is written
under a hidden temporary name first, then all are renamed into place with the metadata JSON last;
its presence is what marks a run as complete. A failure or a cancel before that point removes
every temporary file. A crash *during* the renames is covered by a journal (a hidden file naming
the run's files) that `clean_interrupted` - run by the sidecar when it starts using a folder -
reads to remove what an unfinished run left. Temporary names carry the writer's process id, so
the cleanup never touches files a live process is still writing.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence, Tuple

from PIL import Image

# `.<final name>.<pid>-<8 random chars>[.<suffix>]`: files and folders being written.
TEMP_NAME = re.compile(r"^\.(?P<final>.+)\.(?P<pid>\d+)-[a-z0-9_]{8}(\.[A-Za-z0-9]+)?$")
# `.<runId>.json.<pid>.commit`: the journal of a run whose files are being renamed into place.
JOURNAL_NAME = re.compile(r"^\.(?P<meta>.+\.json)\.(?P<pid>\d+)\.commit$")


def _temp_prefix(final: Path) -> str:
    return f".{final.name}.{os.getpid()}-"


@contextmanager
def atomic_path(final: Path, suffix: str = "") -> Iterator[Path]:
    """Yield a temp path beside `final`; on success rename it over `final`, on error delete it."""
    tmp_path = _temp_file(final, suffix)
    try:
        yield tmp_path
        os.replace(tmp_path, final)
    except BaseException:
        tmp_path.unlink(missing_ok=True)
        raise


def _temp_file(final: Path, suffix: str = "") -> Path:
    final.parent.mkdir(parents=True, exist_ok=True)
    # the suffix stays the final one: ffmpeg picks the container from it
    fd, tmp = tempfile.mkstemp(prefix=_temp_prefix(final), suffix=suffix or final.suffix, dir=final.parent)
    os.close(fd)
    os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes 0600; results should be readable as usual
    return Path(tmp)


def _temp_dir(final: Path) -> Path:
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=_temp_prefix(final), dir=final.parent))
    os.chmod(tmp, 0o777 & ~_UMASK)
    return tmp


def _read_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_UMASK = _read_umask()  # read once at import: os.umask is process-wide, so never toggle it mid-run


def _gif(frames: Sequence[Image.Image], path: Path, fps: int) -> None:
    # GIF stores frame delays in 1/100 s; round so 8 fps -> 12 cs rather than truncating to 10.
    frames[0].save(path, format="GIF", save_all=True, append_images=list(frames[1:]),
                   duration=10 * round(100 / fps), loop=0, disposal=2)


def _webp(frames: Sequence[Image.Image], path: Path, fps: int) -> None:
    frames[0].save(path, format="WEBP", save_all=True, append_images=list(frames[1:]),
                   duration=round(1000 / fps), loop=0, lossless=True)


def _mp4(frames: Sequence[Image.Image], path: Path, fps: int) -> None:
    import imageio.v2 as imageio  # lazy: imageio-ffmpeg is only needed when MP4 is asked for
    import numpy as np

    # yuv420p needs even sizes; macro_block_size=8 pads instead of failing on odd multiples.
    with imageio.get_writer(path, format="FFMPEG", fps=fps, codec="libx264", pixelformat="yuv420p",
                            macro_block_size=8) as writer:
        for frame in frames:
            writer.append_data(np.asarray(frame.convert("RGB")))


def _png_frames(frames: Sequence[Image.Image], folder: Path) -> None:
    for index, frame in enumerate(frames):
        frame.save(folder / f"frame_{index:03d}.png")


_WRITERS = {"gif": _gif, "mp4": _mp4, "webp": _webp}


def output_path(gif_path: Path, fmt: str) -> Path:
    """Where format `fmt` of the run whose GIF is `gif_path` goes (PNG frames: a folder)."""
    return gif_path.with_name(gif_path.stem + "_frames") if fmt == "png" else gif_path.with_suffix("." + fmt)


@contextmanager
def _naming(path: Path) -> Iterator[None]:
    """A failed write (a full disk, a file size limit) raises an OSError that names no file: name
    the one being written, so the error says which file failed (not only the OS's reason)."""
    try:
        yield
    except OSError as exc:
        if exc.filename is None:
            exc.filename = str(path)
        raise


def _stage(fmt: str, frames: Sequence[Image.Image], final: Path, fps: int) -> Path:
    """Write one format under a temporary name beside `final`; remove it again on failure."""
    with _naming(final):
        tmp = _temp_dir(final) if fmt == "png" else _temp_file(final)
        try:
            if fmt == "png":
                _png_frames(frames, tmp)
            else:
                _WRITERS[fmt](frames, tmp, fps)
        except BaseException:
            _remove(tmp)
            raise
    return tmp


def write_gif(frames: Sequence[Image.Image], path: Path, fps: int) -> Path:
    return write_one("gif", frames, path, fps)


def write_webp(frames: Sequence[Image.Image], path: Path, fps: int) -> Path:
    return write_one("webp", frames, path, fps)


def write_mp4(frames: Sequence[Image.Image], path: Path, fps: int) -> Path:
    return write_one("mp4", frames, path, fps)


def write_png_frames(frames: Sequence[Image.Image], folder: Path) -> Path:
    """A folder of frame_000.png ...; built under a temp name and renamed as a whole."""
    return write_one("png", frames, folder, 0)


def write_one(fmt: str, frames: Sequence[Image.Image], path: Path, fps: int) -> Path:
    """One format on its own, atomically (a run's set of files goes through write_outputs)."""
    tmp = _stage(fmt, frames, path, fps)
    _replace(tmp, path)
    return path


def write_json(data: Dict[str, Any], path: Path) -> Path:
    with atomic_path(path) as tmp:
        tmp.write_text(_json_text(data), encoding="utf-8")
    return path


def _json_text(data: Dict[str, Any]) -> str:
    return json.dumps(data, indent=2, sort_keys=True, default=str) + "\n"


def export_frames(frames: Sequence[Image.Image], gif_path: Path, fps: int, formats: Sequence[str]) -> Dict[str, str]:
    """Write every asked format next to `gif_path` (same stem), GIF always. Returns {format: path}.

    Without metadata; a run's outputs go through write_outputs so they appear together."""
    staged = stage_outputs(frames, gif_path, fps, ["gif", *formats])
    try:
        _commit(staged, None)
    except BaseException:
        discard(staged)
        raise
    return {fmt: str(final) for fmt, (_tmp, final) in staged.items()}


Staged = Dict[str, Tuple[Path, Path]]  # format -> (temporary path, final path)


def stage_outputs(frames: Sequence[Image.Image], gif_path: Path, fps: int, formats: Sequence[str],
                  check: Optional[Callable[[], None]] = None) -> Staged:
    """Every format under a temporary name. `check` runs before each one (a cancel raises there);
    on any failure every temporary file written so far is removed."""
    if not frames:
        raise ValueError("no frames to export")
    staged: Staged = {}
    try:
        for fmt in dict.fromkeys(formats):
            if check is not None:
                check()
            final = output_path(gif_path, fmt)
            staged[fmt] = (_stage(fmt, frames, final, fps), final)
    except BaseException:
        discard(staged)
        raise
    return staged


def write_outputs(frames: Sequence[Image.Image], gif_path: Path, fps: int, formats: Sequence[str],
                  metadata: Callable[[Dict[str, str]], Dict[str, Any]], meta_path: Path,
                  check: Optional[Callable[[], None]] = None,
                  commit: Optional[Callable[[], None]] = None) -> Tuple[Dict[str, str], Dict[str, Any]]:
    """A run's files, all together or none: each format, then `metadata(outputs)` as JSON at
    `meta_path`, are written under temporary names; `commit()` (the point of no return: a cancel
    raises there, and is refused after it) runs before anything is renamed into place."""
    staged = stage_outputs(frames, gif_path, fps, formats, check)
    outputs = {fmt: str(final) for fmt, (_tmp, final) in staged.items()}
    try:
        data = metadata(outputs)
        with _naming(meta_path):
            json_tmp = _temp_file(meta_path)
            staged["json"] = (json_tmp, meta_path)
            json_tmp.write_text(_json_text(data), encoding="utf-8")
        if check is not None:
            check()
        if commit is not None:
            commit()
        _commit(staged, meta_path)
    except BaseException:
        discard(staged)
        raise
    return outputs, data


def _commit(staged: Staged, meta_path: Optional[Path]) -> None:
    """Rename every staged file into place, the metadata JSON last. A journal beside them lists
    the files while this runs, so a crash in between can be cleaned up (clean_interrupted)."""
    journal = None
    renamed: List[Path] = []
    try:
        if meta_path is not None:  # inside the try: a journal that could not be written whole is removed too
            journal = meta_path.with_name(f".{meta_path.name}.{os.getpid()}.commit")
            names = [final.name for fmt, (_tmp, final) in staged.items() if fmt != "json"]
            with _naming(journal):
                journal.write_text(json.dumps({"metadata": meta_path.name, "files": names}), encoding="utf-8")
        for fmt, (tmp, final) in sorted(staged.items(), key=lambda item: item[0] == "json"):
            replaced = _replace(tmp, final)
            if fmt != "json" and not replaced:
                renamed.append(final)
    except BaseException:
        for final in renamed:  # nothing may look finished: the JSON never arrived
            _remove(final)
        raise
    finally:
        if journal is not None:
            journal.unlink(missing_ok=True)


def _replace(tmp: Path, final: Path) -> bool:
    """Rename `tmp` over `final`; True when it replaced an existing result (a re-export)."""
    existed = final.exists()
    if tmp.is_dir() and final.is_dir():
        shutil.rmtree(final)
    os.replace(tmp, final)
    return existed


def discard(staged: Staged) -> None:
    for tmp, _final in staged.values():
        _remove(tmp)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's live process
    return True


def clean_interrupted(folder: Path) -> List[str]:
    """Remove what runs interrupted by a crash left in `folder`, and nothing else: temporary files
    of this module's naming whose writer process is gone, and the files named by the journal of
    a commit that never wrote its metadata JSON. Returns the names removed."""
    folder = Path(folder)
    removed: List[str] = []
    try:
        entries = sorted(os.listdir(folder))
    except OSError:
        return removed
    for name in entries:
        journal = JOURNAL_NAME.match(name)
        temp = TEMP_NAME.match(name)
        match = journal or temp
        if match is None or _alive(int(match["pid"])):
            continue
        if journal is not None and not (folder / journal["meta"]).exists():
            try:
                files = json.loads((folder / name).read_text(encoding="utf-8")).get("files", [])
            except (OSError, ValueError, AttributeError):
                files = []
            for file in files:
                if isinstance(file, str) and file and "/" not in file and not file.startswith("."):
                    if os.path.lexists(folder / file):
                        _remove(folder / file)
                        removed.append(file)
        _remove(folder / name)
        removed.append(name)
    return removed


def metadata_path_for(gif_path: Path) -> Path:
    return gif_path.with_suffix(".json")
