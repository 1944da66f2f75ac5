"""Motion scale: how strongly the motion modules act. 0 = no temporal attention, 1 = as trained.

Each motion module (diffusers' `AnimateDiffTransformer3D`) returns its input plus what it computed
across frames: out = x + delta. Motion scale multiplies only that delta:

    out = x + motion_scale * delta

so 0 leaves every frame to the image model alone (frames no longer talk to each other), 1 is the
module exactly as trained, and values above 1 exaggerate the motion (and soon the artefacts). The
same rule is what Phase 3's frame-loop motion UNet applies (motion_unet.py: x + scale * motion(x)), and
both phases check the knob with `validate_motion_scale`, so it means the same thing everywhere.
"""

from __future__ import annotations

import contextlib
from typing import Any, Iterator

import torch

from ..params import SPEC

def validate_motion_scale(value: Any) -> float:
    """The knob's one check (its range is params.PARAMETERS'), for every phase."""
    return float(SPEC["motion_scale"].check(value))


def scale_motion_residual(module_input: torch.Tensor, module_output: torch.Tensor, scale: float) -> torch.Tensor:
    """x + scale * (module(x) - x); exactly x at 0 and exactly module(x) at 1."""
    if scale == 1.0:
        return module_output
    if scale == 0.0:
        return module_input
    return module_input + scale * (module_output - module_input)


def motion_modules(unet: torch.nn.Module):
    """Every motion module of a diffusers UNetMotionModel (21 for the SD 1.5 v2 adapter)."""
    from diffusers.models.unets.unet_motion_model import AnimateDiffTransformer3D

    return [m for m in unet.modules() if isinstance(m, AnimateDiffTransformer3D)]


@contextlib.contextmanager
def motion_scale_applied(unet: torch.nn.Module, scale: float) -> Iterator[None]:
    """Apply `scale` to every motion module for the duration of the block; weights are untouched."""
    if scale == 1.0:
        yield
        return

    def hook(_module, args, kwargs, output):
        x = args[0] if args else kwargs["hidden_states"]
        return scale_motion_residual(x, output, scale)

    handles = [m.register_forward_hook(hook, with_kwargs=True) for m in motion_modules(unet)]
    try:
        yield
    finally:
        for handle in handles:
            handle.remove()
