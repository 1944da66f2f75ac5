"""The pipeline package the sidecar runs: the user's deployed scratchpad copy, else the bundle.

The package (`animatediff_ttnn`) is imported from the chosen folder by putting that folder first
on `sys.path` (before an installed copy). Before each run, `refresh()` re-imports the modules
whose files changed since they were loaded, plus the package modules that imported names from
them at module level (so `from .params import GenerationParams` in pipeline.py sees the edit),
deps first. Models are not touched: they live in model_cache and survive reloads.

Exceptions raised by code in the folder are turned into `UserCodeError` naming the innermost
frame inside it (`user_code_error`).
"""

from __future__ import annotations

import ast
import hashlib
import importlib
import os
import re
import sys
import threading
import traceback
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Dict, Iterable, List, Optional, Set

from .protocol import InternalError, ScratchpadOutdated, UserCodeError

PACKAGE = "animatediff_ttnn"
SCRATCHPAD_ENV = "ANIMATEDIFF_SCRATCHPAD"
BUNDLE_ENV = "ANIMATEDIFF_BUNDLE"
DEFAULT_SCRATCHPAD = Path("~/tt-scratchpad/tt-animatediff")
CONTRACT_FILE = f"{PACKAGE}/studio_api.py"
# The studio_api.CONTRACT_VERSION this sidecar speaks; an older copy is told to redeploy.
REQUIRED_CONTRACT = 3


def default_bundle() -> Path:
    """The repository's python/tt-animatediff, found relative to this package."""
    return Path(__file__).resolve().parents[2] / "tt-animatediff"


def is_deployed(folder: Path) -> bool:
    return (Path(folder) / PACKAGE / "__init__.py").is_file()


def read_version(folder: Path) -> Optional[str]:
    """`__version__` of the package in `folder`, read from the file (no import)."""
    try:
        text = (Path(folder) / PACKAGE / "__init__.py").read_text(encoding="utf-8")
    except OSError:
        return None
    match = re.search(r"^__version__\s*=\s*['\"]([^'\"]+)['\"]", text, re.MULTILINE)
    return match.group(1) if match else None


def read_contract_version(folder: Path) -> int:
    """`CONTRACT_VERSION` of the copy's studio_api.py, read from the file (no import): 0 without the
    file, 1 for the copies from before the number existed."""
    try:
        text = (Path(folder) / CONTRACT_FILE).read_text(encoding="utf-8")
    except OSError:
        return 0
    match = re.search(r"^CONTRACT_VERSION\s*=\s*(\d+)", text, re.MULTILINE)
    return int(match.group(1)) if match else 1


@dataclass(frozen=True)
class PipelineSource:
    kind: str  # "scratchpad" | "bundle"
    path: Path
    scratchpad: Path  # where a deployed copy is looked for (reported even when absent)

    @classmethod
    def resolve(cls, scratchpad: Optional[str] = None, bundle: Optional[str] = None) -> "PipelineSource":
        pad = Path(scratchpad or os.environ.get(SCRATCHPAD_ENV) or DEFAULT_SCRATCHPAD).expanduser().resolve()
        bun = Path(bundle or os.environ.get(BUNDLE_ENV) or default_bundle()).expanduser().resolve()
        if is_deployed(pad):
            return cls("scratchpad", pad, pad)
        return cls("bundle", bun, pad)

    @property
    def package_dir(self) -> Path:
        return self.path / PACKAGE


class Contract:
    """studio_api, as the sidecar sees it. Its functions import the heavy modules lazily, so every
    call is followed by a snapshot of what it imported: the hash of a module's file is taken right
    after its import, and a later edit of it is seen by `refresh()`."""

    def __init__(self, module: ModuleType, code: "UserCode"):
        self._module = module
        self._code = code

    def __getattr__(self, name: str):
        value = getattr(self._module, name)
        if not callable(value) or isinstance(value, type):
            return value

        def call(*args, **kwargs):
            try:
                return value(*args, **kwargs)
            finally:
                self._code.snapshot()

        return call


def _file_hash(path: str) -> Optional[str]:
    try:
        with open(path, "rb") as handle:
            return hashlib.sha1(handle.read()).hexdigest()
    except OSError:
        return None


class UserCode:
    """Imports and hot-reloads the pipeline package from one folder. Thread-safe."""

    def __init__(self, source: PipelineSource):
        self.source = source
        self._root = os.path.realpath(str(source.path))
        self._hashes: Dict[str, Optional[str]] = {}
        self._lock = threading.RLock()
        self._activated = False
        self.generation = 0  # bumped on every reload, so cached objects built from old code can tell
        self.package = PACKAGE
        self._history: List[tuple] = []  # (generation, names reloaded to reach it)

    # -- importing ------------------------------------------------------------------------------
    def activate(self) -> None:
        """Put the source folder first on sys.path (once). Imports nothing."""
        with self._lock:
            if self._activated:
                return
            entry = str(self.source.path)
            if entry in sys.path:
                sys.path.remove(entry)
            sys.path.insert(0, entry)
            importlib.invalidate_caches()
            self._activated = True

    def api(self) -> "Contract":
        """The package's contract, `animatediff_ttnn.studio_api`: the only module the sidecar uses.
        A scratchpad deployed before this contract version gets ScratchpadOutdated (how to redeploy),
        not the ModuleNotFoundError or AttributeError a learner could not act on."""
        if self.source.kind == "scratchpad":
            version = read_contract_version(self.source.path)
            if version < REQUIRED_CONTRACT:
                missing = CONTRACT_FILE if version == 0 else f"{CONTRACT_FILE} of contract version {REQUIRED_CONTRACT} (it has version {version})"
                raise ScratchpadOutdated(str(self.source.path), missing)
        return Contract(self.module("studio_api"), self)

    def module(self, name: str) -> ModuleType:
        """`animatediff_ttnn.<name>` (or the package for name ""), imported from the source folder."""
        self.activate()
        full = f"{PACKAGE}.{name}" if name else PACKAGE
        with self._lock:
            module = importlib.import_module(full)
            self._check_origin(module)
            self._snapshot_new()
            return module

    def _check_origin(self, module: ModuleType) -> None:
        origin = os.path.realpath(getattr(module, "__file__", "") or "")
        if not self.inside(origin):
            raise InternalError(
                f"{module.__name__} was imported from {origin}, not from the pipeline source {self.source.path}; "
                f"another copy of {PACKAGE} was imported first",
                {"module": module.__name__, "file": origin, "expected": str(self.source.path)},
            )

    def inside(self, filename: str) -> bool:
        real = os.path.realpath(filename)
        return real == self._root or real.startswith(self._root + os.sep)

    def loaded_modules(self) -> Dict[str, ModuleType]:
        out = {}
        for name, module in list(sys.modules.items()):
            if module is None or not (name == PACKAGE or name.startswith(PACKAGE + ".")):
                continue
            filename = getattr(module, "__file__", None)
            if filename and self.inside(filename):
                out[name] = module
        return out

    def snapshot(self) -> None:
        with self._lock:
            self._snapshot_new()

    def _snapshot_new(self) -> None:
        for name, module in self.loaded_modules().items():
            if name not in self._hashes:
                self._hashes[name] = _file_hash(module.__file__)

    # -- reloading ------------------------------------------------------------------------------
    def changed_modules(self) -> List[str]:
        with self._lock:
            self._snapshot_new()
            loaded = self.loaded_modules()
            return sorted(name for name, module in loaded.items()
                          if _file_hash(module.__file__) != self._hashes.get(name))

    def refresh(self) -> List[str]:
        """Re-import changed modules and their module-level importers; returns their names in
        the order they were reloaded. A module that fails to re-import (a syntax error, an
        exception at import time) raises UserCodeError and is tried again next time."""
        with self._lock:
            changed = self.changed_modules()
            if not changed:
                return []
            loaded = self.loaded_modules()
            deps = {name: _module_level_imports(module) & set(loaded) for name, module in loaded.items()}
            targets = set(changed)
            grew = True
            while grew:  # everything that (transitively) imported from a changed module
                grew = False
                for name, needs in deps.items():
                    if name not in targets and needs & targets:
                        targets.add(name)
                        grew = True
            order = _topological(targets, deps)
            reloaded: List[str] = []
            try:
                for name in order:
                    module = sys.modules.get(name)
                    if module is None:
                        continue
                    new_hash = _file_hash(module.__file__)
                    try:
                        importlib.reload(module)
                    except BaseException as exc:
                        self._hashes[name] = None  # possibly half re-executed: reload next time whatever the file
                        error = self.user_code_error(exc)
                        if error is not None:
                            raise error from exc
                        raise
                    self._hashes[name] = new_hash
                    reloaded.append(name)
            finally:
                if reloaded:
                    self.generation += 1
                    self._history.append((self.generation, set(reloaded)))
                self._snapshot_new()
            return reloaded

    def reloaded_since(self, generation: int) -> Set[str]:
        """Every module reloaded after `generation`."""
        with self._lock:
            out: Set[str] = set()
            for gen, names in self._history:
                if gen > generation:
                    out |= names
            return out

    # -- errors ---------------------------------------------------------------------------------
    def user_code_error(self, exc: BaseException) -> Optional[UserCodeError]:
        """A UserCodeError for an exception raised in the source folder, else None."""
        location = None
        if isinstance(exc, SyntaxError) and exc.filename and self.inside(exc.filename):
            location = (exc.filename, exc.lineno or 0)
        else:
            for frame, lineno in traceback.walk_tb(exc.__traceback__):
                if self.inside(frame.f_code.co_filename):
                    location = (frame.f_code.co_filename, lineno)  # keep walking: innermost wins
        if location is None:
            return None
        filename, line = location
        path = os.path.realpath(filename)
        rel = os.path.relpath(path, self._root)
        text = exc.msg if isinstance(exc, SyntaxError) and exc.msg else str(exc)
        summary = f"{type(exc).__name__} in {rel} line {line}: {text}"
        trace = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        return UserCodeError(summary, path, int(line), text, type(exc).__name__, trace)


def _module_level_imports(module: ModuleType) -> Set[str]:
    """Package modules this module imports at module level (imports inside functions run at call
    time and always see the current module, so they do not force a reload)."""
    try:
        tree = ast.parse(Path(module.__file__).read_text(encoding="utf-8"))
    except (OSError, SyntaxError, ValueError):
        return set()
    is_package = Path(module.__file__).name == "__init__.py"
    base = module.__name__.split(".") if is_package else module.__name__.split(".")[:-1]
    found: Set[str] = set()
    for node in _top_level(tree.body):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                parent = base[: len(base) - (node.level - 1)] if node.level > 1 else base
                prefix = ".".join(parent + ([node.module] if node.module else []))
            else:
                prefix = node.module or ""
            if not (prefix == PACKAGE or prefix.startswith(PACKAGE + ".")):
                continue
            found.add(prefix)
            for alias in node.names:  # `from . import x` imports the submodule x
                found.add(f"{prefix}.{alias.name}")
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name == PACKAGE or alias.name.startswith(PACKAGE + "."):
                    found.add(alias.name)
    found.discard(module.__name__)
    return found


def _top_level(body: Iterable[ast.stmt]) -> Iterable[ast.stmt]:
    for node in body:
        yield node
        if isinstance(node, ast.If):
            yield from _top_level(node.body)
            yield from _top_level(node.orelse)
        elif isinstance(node, ast.Try):
            for block in (node.body, node.orelse, node.finalbody, *[h.body for h in node.handlers]):
                yield from _top_level(block)


def _topological(targets: Set[str], deps: Dict[str, Set[str]]) -> List[str]:
    """Targets ordered so every module comes after the targets it imports from."""
    order: List[str] = []
    visiting: Set[str] = set()

    def visit(name: str) -> None:
        if name in order or name in visiting:
            return
        visiting.add(name)
        for dep in sorted(deps.get(name, set()) & targets):
            visit(dep)
        visiting.discard(name)
        order.append(name)

    for name in sorted(targets):
        visit(name)
    return order
