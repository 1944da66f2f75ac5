"""Which models are on disk, and fetching the missing ones from the Hugging Face hub.

What to fetch, the default sources and the cache come from the lesson package's contract
(`studio_api`: `default_source`, `download_patterns`, `is_local`, `hub_cache_dir`; torch-free, so a
model status needs no torch). Downloads go through
`huggingface_hub.snapshot_download` (resumable: it continues `.incomplete` files) with a
`tqdm_class` adapter that turns its byte counters into `studio/downloadProgress` notifications
and raises when the download is cancelled.
"""

from __future__ import annotations

import fnmatch
import logging
import os
import threading
import time
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional

from .model_needs import needed_sources
from .protocol import DownloadProgress, DownloadResult, ModelNotFound, ModelStatus, Notify, RequestCancelled

log = logging.getLogger(__name__)

ROLES = ("sd", "motionAdapter")  # wire names; the package's roles are "sd" and "motion_adapter"
PACKAGE_ROLE = {"sd": "sd", "motionAdapter": "motion_adapter"}


def _snapshot_dir(repo_id: str, cache_dir: str) -> Optional[Path]:
    repo = Path(cache_dir) / ("models--" + repo_id.replace("/", "--"))
    ref = repo / "refs" / "main"
    try:
        commit = ref.read_text(encoding="utf-8").strip()
    except OSError:
        snapshots = sorted((repo / "snapshots").glob("*")) if (repo / "snapshots").is_dir() else []
        return snapshots[-1] if snapshots else None
    folder = repo / "snapshots" / commit
    return folder if folder.is_dir() else None


def _files_under(folder: Path) -> List[str]:
    out = []
    for root, _dirs, files in os.walk(folder):
        for name in files:
            out.append(os.path.relpath(os.path.join(root, name), folder).replace(os.sep, "/"))
    return out


def _size(paths: List[Path]) -> int:
    total = 0
    for p in paths:
        try:
            total += os.path.getsize(os.path.realpath(p))
        except OSError:
            pass
    return total


def model_status(role: str, source: Optional[str], api: Any) -> ModelStatus:
    """`api` is the package's studio_api module."""
    source = source or api.default_source(PACKAGE_ROLE[role])
    what = "Stable Diffusion model" if role == "sd" else "motion adapter"
    if api.is_local(source):
        path = Path(source).expanduser()
        if path.is_file():
            return ModelStatus(role, source, "local", True, str(path.resolve()), _size([path]), None)
        marker = "model_index.json" if role == "sd" else "config.json"
        if path.is_dir() and ((path / marker).is_file() or (role == "sd" and (path / "unet").is_dir())):
            files = [path / f for f in _files_under(path)]
            return ModelStatus(role, source, "local", True, str(path.resolve()), _size(files), None)
        return ModelStatus(role, source, "local", False, None, None,
                           f"no {what} at {path}: check the path, or download the {what} and pass its folder")
    return hub_status(role, source, api.download_patterns(PACKAGE_ROLE[role]), api)


def hub_status(role: str, source: str, patterns: List[str], api: Any) -> ModelStatus:
    """A hub model (`owner/name`, or `owner/name:file` for one file of it) is available when the
    cache's snapshot holds a file for every pattern."""
    cache_dir = api.hub_cache_dir()
    snapshot = _snapshot_dir(source.partition(":")[0], cache_dir)
    if snapshot is not None:
        files = _files_under(snapshot)
        matched = {pattern: [f for f in files if fnmatch.fnmatch(f, pattern)] for pattern in patterns}
        if all(matched.values()):
            chosen = sorted({f for fs in matched.values() for f in fs})
            return ModelStatus(role, source, "hub", True, str(snapshot), _size([snapshot / f for f in chosen]), None)
    return ModelStatus(role, source, "hub", False, None, None,
                       f"download it: studio/downloadModels, or `{api.download_command(source)}`")


def models_status(sources: Dict[str, Optional[str]], api: Any, preset: Optional[str] = None) -> List[ModelStatus]:
    """The settings' models the preset runs (model_needs.py), then the motion modules a few-step
    `preset` brings (hub only)."""
    needed = needed_sources({role: sources.get(role) for role in ROLES}, api, preset)
    return [model_status(role, source, api) for role, source in needed.items()] + [
        hub_status("motionAdapter", source, patterns, api) for source, patterns in _preset_files(preset, api)]


def _preset_files(preset: Optional[str], api: Any) -> List[Any]:
    return api.preset_downloads(preset) if preset else []


def download_request(sources: Dict[str, Optional[str]], api: Any, download_id: str, cancel: threading.Event,
                     notify: Callable[[str, Any], None], preset: Optional[str] = None) -> DownloadResult:
    """`studio/downloadModels`, on a worker thread: every byte count becomes a studio/downloadProgress."""
    def on_bytes(source: str, done: int, total: int) -> None:
        notify(Notify.DOWNLOAD_PROGRESS, DownloadProgress(download_id, source, "", done, total))

    return DownloadResult(download_models(sources, api, cancel, on_bytes, preset))


def download_models(sources: Dict[str, Optional[str]], api: Any, cancel: threading.Event,
                    on_bytes: Callable[[str, int, int], None], preset: Optional[str] = None) -> List[ModelStatus]:
    """Fetch every hub model of `sources` (and of `preset`) that is not in the cache; (source,
    bytes, total) progress. A local source that is not there cannot be downloaded: ModelNotFound
    names it."""
    results = []
    for role, source in needed_sources(sources, api, preset).items():
        status = model_status(role, source, api)
        if not status.available and status.kind == "local":
            what = "Stable Diffusion model" if role == "sd" else "motion adapter"
            raise ModelNotFound(f"{what} not found: {status.source}", what, status.source,
                                str(Path(status.source).expanduser()), status.fix or "")
        if not status.available:
            log.info("downloading %s", status.source)
            download(role, status.source, api, cancel, lambda done, total, src=status.source: on_bytes(src, done, total))
            status = model_status(role, source, api)
        results.append(status)
    for source, patterns in _preset_files(preset, api):
        status = hub_status("motionAdapter", source, patterns, api)
        if not status.available:
            log.info("downloading %s", source)
            download("motionAdapter", source, api, cancel, lambda done, total, src=source: on_bytes(src, done, total),
                     patterns)
            status = hub_status("motionAdapter", source, patterns, api)
        results.append(status)
    return results


# ---------------------------------------------------------------------------------------------
# Downloading
# ---------------------------------------------------------------------------------------------


class DownloadCancelled(Exception):
    pass


class _NullFile:
    def write(self, _text: str) -> None:
        pass

    def flush(self) -> None:
        pass


ProgressFn = Callable[[int, int], None]  # (bytes, total bytes)


def progress_class(on_bytes: ProgressFn, cancel: threading.Event, min_interval: float = 0.1):
    """A tqdm class for `snapshot_download(tqdm_class=...)`: byte bars report through `on_bytes`
    (at most every `min_interval` seconds, and always at the end); every bar raises
    DownloadCancelled once `cancel` is set, which aborts the download threads."""
    from tqdm.std import tqdm as std_tqdm

    class ByteProgress(std_tqdm):
        def __init__(self, *args, **kwargs):
            kwargs.pop("name", None)
            kwargs["file"] = _NullFile()
            kwargs["disable"] = False
            desc = str(kwargs.get("desc") or "")
            # huggingface_hub >= 1.0 keeps two byte bars: "Downloading bytes" (network) and the bytes
            # written to disk; report the latter, which is what "resumable" and totals refer to.
            self._reports = kwargs.get("unit") == "B" and not desc.startswith("Downloading bytes")
            self._last_emit = 0.0
            super().__init__(*args, **kwargs)

        def update(self, n=1):
            if cancel.is_set():
                raise DownloadCancelled("download cancelled")
            result = super().update(n)
            if self._reports:
                now = time.monotonic()
                if now - self._last_emit >= min_interval or (self.total and self.n >= self.total):
                    self._last_emit = now
                    on_bytes(int(self.n), int(self.total or 0))
            return result

        def __iter__(self):
            for item in super().__iter__():
                if cancel.is_set():
                    raise DownloadCancelled("download cancelled")
                yield item

        def close(self):
            if self._reports and not getattr(self, "_closed_once", False):
                self._closed_once = True
                try:
                    on_bytes(int(self.n), int(self.total or 0))
                except Exception:  # noqa: BLE001
                    pass
            super().close()

    return ByteProgress


def download(role: str, source: str, api: Any, cancel: threading.Event, on_bytes: ProgressFn,
             patterns: Optional[List[str]] = None) -> str:
    """Fetch one hub model (`owner/name`, or `owner/name:file`) into the cache; returns its snapshot folder."""
    what = "Stable Diffusion model" if role == "sd" else "AnimateDiff motion adapter"
    try:
        from huggingface_hub import snapshot_download
    except ImportError as exc:
        raise ModelNotFound(f"cannot download {source}: huggingface_hub is not installed ({exc})", what, source,
                            api.hub_cache_dir(), "pip install huggingface_hub (scripts/setup-python.sh does)") from exc
    if cancel.is_set():
        raise RequestCancelled("download cancelled")
    try:
        return snapshot_download(source.partition(":")[0],
                                 allow_patterns=patterns or api.download_patterns(PACKAGE_ROLE[role]),
                                 tqdm_class=progress_class(on_bytes, cancel))
    except DownloadCancelled as exc:
        raise RequestCancelled("download cancelled; run it again to resume") from exc
    except Exception as exc:  # noqa: BLE001 - hub errors: offline, missing repo, auth, network
        if cancel.is_set():
            raise RequestCancelled("download cancelled; run it again to resume") from exc
        raise _not_found(what, source, exc, api.hub_cache_dir()) from exc


def _not_found(what: str, source: str, exc: BaseException, cache_dir: str) -> ModelNotFound:
    name = type(exc).__name__
    first = (str(exc).strip().splitlines() or [""])[0]
    offline = os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes", "on")
    if offline or name in ("OfflineModeIsEnabled", "LocalEntryNotFoundError"):
        fix = ("connect to the internet and unset HF_HUB_OFFLINE, then download again; or copy the model folder "
               "to this machine and use its path")
        reason = "offline: the Hugging Face hub cannot be reached" + (" (HF_HUB_OFFLINE is set)" if offline else "")
    elif name in ("RepositoryNotFoundError", "RevisionNotFoundError"):
        fix = "check the model id (owner/name) on huggingface.co"
        reason = "no such repository on the hub"
    elif name == "GatedRepoError":
        fix = "accept the model's license on huggingface.co, then log in with `hf auth login`"
        reason = "the repository is gated"
    else:
        fix = "check the network connection and try again (interrupted downloads resume)"
        reason = "the download failed"
    message = f"{what} {source} could not be downloaded: {reason} ({name}: {first})"
    return ModelNotFound(message, what, source, cache_dir, fix)
