"""Which models a run needs: one answer for `studio/modelsStatus`, `studio/downloadModels` and
`studio/generate`, from the lesson package's contract (`needs_motion_adapter`,
`preset_uses_adapter_setting`).

The settings' motion adapter (`models.motionAdapter`) is the quality preset's and Phase 3's; Phase 2
has no motion modules, and the few-step presets bring their own. A model that is not needed is not
reported missing or downloaded, and a given field that is not used is said (never silently ignored).
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional

from .protocol import UnusedField
from .wire import shown


def adapter_unused(api: Any, phase: Optional[int], preset: Optional[str]) -> Optional[str]:
    """Why a run of `phase` (None: any phase the preset is for) with `preset` does not use the settings'
    motion adapter; None when it does."""
    if phase is not None and not api.needs_motion_adapter(phase):
        return f"phase {phase} runs Stable Diffusion's UNet frame by frame, with no motion modules"
    if preset is not None and not api.preset_uses_adapter_setting(preset):
        return (f"the {preset} preset brings its own motion module; the motion adapter setting is the quality "
                "preset's (and Phase 3's)")
    return None


def needed_sources(sources: Dict[str, Optional[str]], api: Any, preset: Optional[str]) -> Dict[str, Optional[str]]:
    """The settings' models (wire role -> source or None for the default) a Phase 1 run with `preset`
    (or, without one, any phase) needs."""
    unused = adapter_unused(api, None, preset)
    return {role: source for role, source in sources.items() if not (role == "motionAdapter" and unused)}


def unused_fields(sources: Dict[str, Optional[str]], api: Any, phase: Optional[int],
                  preset: Optional[str]) -> List[UnusedField]:
    """The model fields the client gave that this run or preset does not use, each with why."""
    reason = adapter_unused(api, phase, preset)
    given = sources.get("motionAdapter")
    return [UnusedField("models.motionAdapter", given, reason)] if reason and given else []


def describe_unused(fields: List[UnusedField]) -> str:
    """One log line for them."""
    return "; ".join(f"{f.field} ({shown(f.value)}) is not used: {f.reason}" for f in fields)
