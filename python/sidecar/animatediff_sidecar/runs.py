"""Past runs, read from the metadata JSON files in an output folder.

A metadata file is written last, after every output, so its presence marks a finished run. Any
JSON file in the folder is read, and it may hold anything (a hand edit, another program's file, a
hostile one): each one is either listed with every field of the documented type (the client checks
them strictly, and a NaN would break its JSON parser) or left out with the reason, so one bad file
never costs the listing of the others. Outputs count only inside the run's own folder (run_folder.py);
those that do not are left out of the run's `outputs`.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Tuple

from .protocol import PHASES, RunSummary, SkippedFile, params_to_wire, timings_to_wire
from .run_folder import run_outputs
from .wire import json_repr

MAX_DEPTH = 32  # of `params`: the lesson writes a flat object; this bounds what is echoed to the client
_NUMBER_TIMINGS = ("load_s", "encode_s", "denoise_s", "decode_s", "export_s", "total_s")


class Skip(Exception):
    """Why a JSON file in an output folder is not listed as a run."""


def read_run(path: Path, formats: Iterable[str]) -> RunSummary:
    """The run a metadata file records; Skip (with the reason) for anything else."""
    meta = _read_json(path)
    if not isinstance(meta, dict) or "phase" not in meta or "outputs" not in meta:
        raise Skip("not a run's metadata (a run's JSON has `phase` and `outputs`)")
    phase = meta["phase"]
    if isinstance(phase, bool) or phase not in PHASES:
        raise Skip(f"phase is {json_repr(phase)}, not one of {', '.join(map(str, PHASES))}")
    outputs = _field(meta, "outputs", dict, None)
    params = _field(meta, "params", dict, {})
    if not _json_safe(params, MAX_DEPTH):
        raise Skip(f"params holds a value that is not finite, or is nested more than {MAX_DEPTH} levels deep")
    kept, _refused = run_outputs(path, outputs, formats)
    return RunSummary(
        run_id=_field(meta, "run_id", str, path.stem),
        phase=int(phase),
        prompt=_field(meta, "prompt", str, params.get("prompt") if isinstance(params.get("prompt"), str) else ""),
        created=_field(meta, "created", str, ""),
        outputs=kept,
        metadata_path=str(path.resolve()),
        params=params_to_wire(params),
        backend=_field(meta, "backend", str, ""),
        device=_field(meta, "device", str, ""),
        timings=timings_to_wire(_timings(_field(meta, "timings", dict, {}))),
        perturbation_strength=_optional_number(meta, "perturbation_strength"),
        coherence=_coherence(meta.get("coherence")),
    )


def _read_json(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise Skip("not UTF-8 text") from None
    except OSError as exc:
        raise Skip(f"cannot be read ({exc.strerror or exc})") from None
    try:
        return json.loads(text)
    except RecursionError:
        raise Skip("nested too deeply to be a run's metadata") from None
    except ValueError as exc:
        raise Skip(f"not valid JSON ({exc})") from None


_KIND = {dict: "an object", str: "a string", list: "a list"}


def _field(meta: Dict[str, Any], name: str, kind: type, default: Any) -> Any:
    """meta[name] when it is of `kind`; `default` when absent (null counts as absent); else Skip."""
    value = meta.get(name)
    if value is None:
        if default is None:
            raise Skip(f"{name} is missing")
        return default
    if not isinstance(value, kind):
        raise Skip(f"{name} is {json_repr(value)}, not {_KIND[kind]}")
    return value


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _optional_number(meta: Dict[str, Any], name: str) -> Optional[float]:
    value = meta.get(name)
    if value is not None and not _finite(value):
        raise Skip(f"{name} is {json_repr(value)}, not a finite number")
    return value


def _timings(timings: Dict[str, Any]) -> Dict[str, Any]:
    """The known keys, checked (others are ignored, as they always were)."""
    for key in _NUMBER_TIMINGS:
        if key in timings and not _finite(timings[key]):
            raise Skip(f"timings.{key} is {json_repr(timings[key])}, not a finite number")
    first = timings.get("first_step_s")
    if first is not None and not _finite(first):
        raise Skip(f"timings.first_step_s is {json_repr(first)}, not a finite number")
    steps = timings.get("steps_s", [])
    if not isinstance(steps, list) or not all(_finite(s) for s in steps):
        raise Skip(f"timings.steps_s is {json_repr(steps)}, not a list of finite numbers")
    return {key: value for key, value in timings.items() if key in (*_NUMBER_TIMINGS, "first_step_s", "steps_s")}


def _json_safe(value: Any, depth: int) -> bool:
    """JSON that any client parses back: no NaN/Infinity, bounded nesting."""
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, (list, dict)):
        if depth <= 0:
            return False
        items = value.values() if isinstance(value, dict) else value
        return all(_json_safe(item, depth - 1) for item in items)
    return True


def _coherence(value: Any) -> Optional[Dict[str, float]]:
    """{similarity, motion_px, residual} as numbers; None for runs recorded before the figure existed."""
    if not isinstance(value, dict):
        return None
    numbers = {str(k): float(v) for k, v in value.items() if _finite(v)}
    return numbers or None


def list_runs(output_dir: Path, formats: Iterable[str], limit: Optional[int] = None
              ) -> Tuple[List[RunSummary], List[SkippedFile]]:
    """(runs, newest first by the metadata's `created`, then file time; the JSON files left out, and why)."""
    folder = Path(output_dir)
    formats = tuple(formats)
    if not folder.is_dir():
        return [], []
    found = []
    skipped: List[SkippedFile] = []
    for path in sorted(folder.glob("*.json")):
        if path.name.startswith("."):
            continue  # a temp file of an export in progress
        try:
            run = read_run(path, formats)
            mtime = path.stat().st_mtime
        except Skip as why:
            skipped.append(SkippedFile(str(path), str(why)))
            continue
        except OSError as exc:
            skipped.append(SkippedFile(str(path), f"cannot be read ({exc.strerror or exc})"))
            continue
        found.append((run.created, mtime, run))
    found.sort(key=lambda item: (item[0], item[1]), reverse=True)
    runs = [run for _c, _m, run in found]
    return (runs[:limit] if limit else runs), skipped
