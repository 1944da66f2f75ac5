"""Past runs, read from the metadata JSON files in an output folder.

A metadata file is written last, after every output, so its presence marks a finished run; a
file that does not parse or lacks the run fields is skipped (it is not a run record).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, Dict, List, Optional

from .protocol import RunSummary, params_to_wire, timings_to_wire


def read_run(path: Path) -> Optional[RunSummary]:
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(meta, dict) or not isinstance(meta.get("outputs"), dict) or "phase" not in meta:
        return None
    params: Dict[str, Any] = meta.get("params") if isinstance(meta.get("params"), dict) else {}
    return RunSummary(
        run_id=str(meta.get("run_id") or path.stem),
        phase=int(meta.get("phase", 0)),
        prompt=str(meta.get("prompt", params.get("prompt", ""))),
        created=str(meta.get("created", "")),
        outputs=_inside(path.parent, meta["outputs"]),
        metadata_path=str(path.resolve()),
        params=params_to_wire(params),
        backend=str(meta.get("backend", "")),
        device=str(meta.get("device", "")),
        timings=timings_to_wire(meta.get("timings") if isinstance(meta.get("timings"), dict) else {}),
        perturbation_strength=meta.get("perturbation_strength"),
        coherence=_coherence(meta.get("coherence")),
    )


def _inside(folder: Path, outputs: Dict[Any, Any]) -> Dict[str, str]:
    """Only outputs in the run's own folder, links resolved: a JSON file there can name any path,
    and clients show what this lists."""
    root = folder.resolve()
    kept = {}
    for fmt, value in outputs.items():
        if isinstance(value, str) and value:
            target = (folder / value).resolve()
            if target == root or root in target.parents:
                kept[str(fmt)] = value
    return kept


def _coherence(value: Any) -> Optional[Dict[str, float]]:
    """{similarity, motion_px, residual} as numbers; None for runs recorded before the figure existed."""
    if not isinstance(value, dict):
        return None
    numbers = {str(k): float(v) for k, v in value.items()
               if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)}
    return numbers or None


def list_runs(output_dir: Path, limit: Optional[int] = None) -> List[RunSummary]:
    """Newest first (by the metadata's `created`, then file time)."""
    folder = Path(output_dir)
    if not folder.is_dir():
        return []
    found = []
    for path in folder.glob("*.json"):
        if path.name.startswith("."):
            continue  # a temp file of an export in progress
        run = read_run(path)
        if run is not None:
            try:
                mtime = path.stat().st_mtime
            except OSError:
                continue
            found.append((run.created, mtime, run))
    found.sort(key=lambda item: (item[0], item[1]), reverse=True)
    runs = [run for _c, _m, run in found]
    return runs[:limit] if limit else runs
