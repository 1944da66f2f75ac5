"""A run's own folder: the one rule for which output paths of a run's metadata count.

A run's metadata JSON is a file anyone can write, yet clients show and open what `studio/runs`
lists, and `studio/export` writes beside the run's GIF and rewrites the metadata. So an output path
counts only when it names something inside the folder that holds the metadata, links resolved; a
relative path is taken relative to that folder, never to the sidecar's working directory. The
listing leaves out what fails the rule; an export refuses the run before reading or writing anything.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Dict, Iterable, Optional, Tuple


def _real(path: Path) -> Optional[Path]:
    try:
        return path.resolve()
    except (OSError, RuntimeError, ValueError):  # a link loop (RuntimeError before Python 3.13)
        return None


def output_path(folder: Path, value: Any) -> Tuple[Optional[str], str]:
    """(the absolute path `value` names inside `folder`, "") or (None, why it does not count).
    The path returned is the one checked: `folder` as given joined with `value`, `..` folded."""
    if not isinstance(value, str):
        return None, f"is {_json_name(value)}, not a path"
    if not value.strip():
        return None, "is empty"
    if "\x00" in value:
        return None, "holds a NUL byte"
    folder = Path(os.path.abspath(folder))
    candidate = Path(os.path.normpath(folder / value))  # an absolute value stays itself
    real_folder, real = _real(folder), _real(candidate)
    lexically = candidate != folder and folder in candidate.parents
    if not (lexically and real is not None and real_folder is not None and real_folder in real.parents):
        return None, f"{value!r} is outside the run's folder {folder}"
    return str(candidate), ""


def run_outputs(meta_path: Path, outputs: Dict[Any, Any],
                formats: Iterable[str]) -> Tuple[Dict[str, str], Dict[str, str]]:
    """The outputs of the run whose metadata is `meta_path`: ({format: absolute path} that count,
    {format: why} for every entry that does not)."""
    known = tuple(formats)
    kept: Dict[str, str] = {}
    refused: Dict[str, str] = {}
    for fmt, value in outputs.items():
        if fmt not in known:
            refused[str(fmt)] = f"is not an output format ({', '.join(known)})"
            continue
        path, why = output_path(Path(meta_path).parent, value)
        if path is None:
            refused[fmt] = why
        else:
            kept[fmt] = path
    return kept, refused


def _json_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return f"the number {value!r}"[:60]
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__
