"""Small base64 PNGs for preview and frame-done notifications (PIL is imported lazily)."""

from __future__ import annotations

import base64
import io
from typing import Any, Tuple


def fit(image: Any, max_side: int) -> Any:
    """The image scaled down (never up) so its longer side is at most `max_side`."""
    longer = max(image.width, image.height)
    if longer <= max_side:
        return image
    scale = max_side / longer
    size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    from PIL import Image

    return image.resize(size, Image.BILINEAR)


def png_base64(image: Any, max_side: int) -> Tuple[str, int, int]:
    """(base64 PNG, width, height) of the image fitted into max_side."""
    small = fit(image.convert("RGB") if image.mode not in ("RGB", "L") else image, max_side)
    buffer = io.BytesIO()
    small.save(buffer, format="PNG", optimize=False, compress_level=6)
    return base64.b64encode(buffer.getvalue()).decode("ascii"), small.width, small.height
