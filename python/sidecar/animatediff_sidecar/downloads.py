"""Which models are on disk, and fetching the missing ones from the Hugging Face hub.

What to fetch comes from the pipeline package's `models.py` (SD_DOWNLOAD_PATTERNS,
ADAPTER_DOWNLOAD_PATTERNS, the default sources), read from its source with `ast` so that a model
status needs neither torch nor an import of user code. Downloads go through
`huggingface_hub.snapshot_download` (resumable: it continues `.incomplete` files) with a
`tqdm_class` adapter that turns its byte counters into `studio/downloadProgress` notifications
and raises when the download is cancelled.
"""

from __future__ import annotations

import ast
import fnmatch
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Tuple

from .protocol import ModelNotFound, ModelStatus, RequestCancelled
from .user_code import PACKAGE

ROLES = ("sd", "motionAdapter")
SINGLE_FILE_SUFFIXES_FALLBACK = (".ckpt", ".safetensors", ".pt", ".pth")


@dataclass
class CoreModels:
    """The model constants of the pipeline package in use."""

    default_sd: str
    default_adapter: str
    sd_patterns: List[str]
    adapter_patterns: List[str]
    single_file_suffixes: Tuple[str, ...]

    def default(self, role: str) -> str:
        """$ANIMATEDIFF_SD_MODEL / $ANIMATEDIFF_MOTION_ADAPTER (as for the lesson's CLI), else the lesson's."""
        if role == "sd":
            return os.environ.get("ANIMATEDIFF_SD_MODEL") or self.default_sd
        return os.environ.get("ANIMATEDIFF_MOTION_ADAPTER") or self.default_adapter

    def patterns(self, role: str) -> List[str]:
        return self.sd_patterns if role == "sd" else self.adapter_patterns


def core_models(source_dir: Path) -> CoreModels:
    path = Path(source_dir) / PACKAGE / "models.py"
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"))
    except (OSError, SyntaxError) as exc:
        raise RuntimeError(f"cannot read the model constants from {path}: {exc}") from exc
    found: Dict[str, Any] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            try:
                found[node.targets[0].id] = ast.literal_eval(node.value)
            except ValueError:
                continue
    try:
        return CoreModels(found["DEFAULT_SD_MODEL"], found["DEFAULT_MOTION_ADAPTER"], list(found["SD_DOWNLOAD_PATTERNS"]),
                          list(found["ADAPTER_DOWNLOAD_PATTERNS"]),
                          tuple(found.get("SINGLE_FILE_SUFFIXES", SINGLE_FILE_SUFFIXES_FALLBACK)))
    except KeyError as exc:
        raise RuntimeError(f"{path} no longer defines {exc.args[0]} as a plain literal") from exc


def is_local(source: str, suffixes: Tuple[str, ...]) -> bool:
    """Same rule as animatediff_ttnn.models.is_local: hub ids look like `owner/name`."""
    path = Path(source).expanduser()
    if path.exists() or source.startswith((".", "/", "~")) or path.suffix.lower() in suffixes:
        return True
    return source.count("/") != 1 or "\\" in source


def hub_cache_dir() -> str:
    try:
        from huggingface_hub import constants

        return str(constants.HF_HUB_CACHE)
    except ImportError:
        if os.environ.get("HF_HUB_CACHE"):
            return os.environ["HF_HUB_CACHE"]
        home = os.environ.get("HF_HOME") or os.path.join(os.environ.get("XDG_CACHE_HOME", "~/.cache"), "huggingface")
        return os.path.join(os.path.expanduser(home), "hub")


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


def model_status(role: str, source: Optional[str], core: CoreModels) -> ModelStatus:
    source = source or core.default(role)
    what = "Stable Diffusion model" if role == "sd" else "motion adapter"
    if is_local(source, core.single_file_suffixes):
        path = Path(source).expanduser()
        if path.is_file():
            return ModelStatus(role, source, "local", True, str(path.resolve()), _size([path]), None)
        marker = "model_index.json" if role == "sd" else "config.json"
        if path.is_dir() and ((path / marker).is_file() or (role == "sd" and (path / "unet").is_dir())):
            files = [path / f for f in _files_under(path)]
            return ModelStatus(role, source, "local", True, str(path.resolve()), _size(files), None)
        return ModelStatus(role, source, "local", False, None, None,
                           f"no {what} at {path}: check the path, or download the {what} and pass its folder")
    cache_dir = hub_cache_dir()
    snapshot = _snapshot_dir(source, cache_dir)
    if snapshot is not None:
        files = _files_under(snapshot)
        matched = {pattern: [f for f in files if fnmatch.fnmatch(f, pattern)] for pattern in core.patterns(role)}
        if all(matched.values()):
            chosen = sorted({f for fs in matched.values() for f in fs})
            return ModelStatus(role, source, "hub", True, str(snapshot), _size([snapshot / f for f in chosen]), None)
    return ModelStatus(role, source, "hub", False, None, None,
                       f"download it: studio/downloadModels, or `python -m animatediff_ttnn.download {source}`")


def models_status(sources: Dict[str, Optional[str]], core: CoreModels) -> List[ModelStatus]:
    return [model_status(role, sources.get(role), core) for role in ROLES]


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


def download(role: str, source: str, core: CoreModels, cancel: threading.Event, on_bytes: ProgressFn) -> str:
    """Fetch one hub model into the cache; returns its snapshot folder."""
    what = "Stable Diffusion model" if role == "sd" else "AnimateDiff motion adapter"
    try:
        from huggingface_hub import snapshot_download
    except ImportError as exc:
        raise ModelNotFound(f"cannot download {source}: huggingface_hub is not installed ({exc})", what, source,
                            hub_cache_dir(), "pip install huggingface_hub (scripts/setup-python.sh does)") from exc
    if cancel.is_set():
        raise RequestCancelled("download cancelled")
    try:
        return snapshot_download(source, allow_patterns=core.patterns(role),
                                 tqdm_class=progress_class(on_bytes, cancel))
    except DownloadCancelled as exc:
        raise RequestCancelled("download cancelled; run it again to resume") from exc
    except Exception as exc:  # noqa: BLE001 - hub errors: offline, missing repo, auth, network
        if cancel.is_set():
            raise RequestCancelled("download cancelled; run it again to resume") from exc
        raise _not_found(what, source, exc) from exc


def _not_found(what: str, source: str, exc: BaseException) -> ModelNotFound:
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
    return ModelNotFound(message, what, source, hub_cache_dir(), fix)
