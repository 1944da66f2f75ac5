"""Which motion LoRAs a run asks for, and how strongly: parsed and checked without torch.

Written `zoom-in:0.8,pan-left` (a weight of 1 when none is given) or as a list of
{"source": ..., "weight": ...}. A source is one of the eight v2 camera moves, a hub id, a folder
or a .safetensors/.ckpt file. Loading and applying them is motion_lora.py.

Errors are ValueError saying what to change; params.py checks the field with this parser and names the
field (ParamError), so this module needs nothing from the rest of the package.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import List

CAMERA_MOVES = ("zoom-in", "zoom-out", "pan-left", "pan-right", "tilt-up", "tilt-down",
                "rolling-clockwise", "rolling-anticlockwise")
HUB_PREFIX = "guoyww/animatediff-motion-lora-"
LORA_FILE = "diffusion_pytorch_model.safetensors"
LORA_DOWNLOAD_PATTERNS = [LORA_FILE]
MAX_WEIGHT = 3.0


@dataclass(frozen=True)
class MotionLora:
    """One LoRA to apply: where it comes from and how strongly (0 = not at all, 1 = as trained)."""

    source: str
    weight: float = 1.0

    def to_dict(self) -> dict:
        return {"source": self.source, "weight": self.weight}


def hub_id(source: str) -> str:
    """A camera-move name ('zoom-in') -> its hub repo; anything else is returned as given."""
    return HUB_PREFIX + source if source in CAMERA_MOVES else source


def parse_motion_loras(value) -> List[MotionLora]:
    """'zoom-in:0.8,pan-left' or [{'source': 'zoom-in', 'weight': 0.8}, ...] -> MotionLora list."""
    if value is None or value == "" or value == []:
        return []
    items = [v.strip() for v in value.split(",") if v.strip()] if isinstance(value, str) else value
    if not isinstance(items, (list, tuple)):
        raise ValueError("must be a list of {source, weight} or 'name:weight,name:weight'")
    loras = []
    for item in items:
        if isinstance(item, MotionLora):
            lora = item
        elif isinstance(item, str):
            source, sep, weight = item.rpartition(":")
            if not sep or not _is_number(weight):
                source, weight = item, "1"
            lora = MotionLora(source.strip(), float(weight))
        elif isinstance(item, dict) and set(item) <= {"source", "weight"} and "source" in item:
            lora = MotionLora(item["source"], item.get("weight", 1.0))
        else:
            raise ValueError(f"entry {item!r} is not 'name:weight' or {{source, weight}}")
        loras.append(validate_lora(lora))
    return loras


def validate_lora(lora: MotionLora) -> MotionLora:
    if not isinstance(lora.source, str) or not lora.source.strip():
        raise ValueError("a LoRA source is empty; use one of "
                                f"{list(CAMERA_MOVES)}, a hub id, a folder or a .safetensors/.ckpt file")
    weight = lora.weight
    if isinstance(weight, bool) or not isinstance(weight, (int, float)) or weight != weight:
        raise ValueError(f"weight of {lora.source!r} must be a number, got {weight!r}")
    if not -MAX_WEIGHT <= float(weight) <= MAX_WEIGHT:
        raise ValueError(f"weight {weight} of {lora.source!r} is outside -{MAX_WEIGHT}..{MAX_WEIGHT}")
    return MotionLora(lora.source.strip(), float(weight))


def _is_number(text: str) -> bool:
    try:
        float(text)
        return True
    except ValueError:
        return False
