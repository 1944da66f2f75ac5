"""Multiply-adds of one motion module call: what ttnn_temporal.py issues, and the least the module needs.

`issued_macs` runs the module on golden ttnn (golden.py) and sums the multiply-adds of every linear and
matmul from the shapes it passed, padding included. `needed_macs` is the same module's arithmetic on
unpadded rows with the real head size, from diffusers' shapes. Elementwise ops, norms and softmax are
not counted: the products are where the work is.

Every product of the module runs once per pixel sequence, so its count is exactly proportional to
batch x height x width: the module is run at 1x1 and the count scaled (at 64x64 the golden run would
take minutes on a CPU). Counts are of the op shapes only; what a card makes of them (tile math, cores,
memory traffic) is not measured here.
"""

from __future__ import annotations

import math
from typing import Any, Iterable, Tuple

import torch

from .golden import GoldenTtnn
from .port_check import BATCH, motion_module, to_frames


def product_macs(op: str, a: Tuple[int, ...], b: Tuple[int, ...]) -> int:
    """Multiply-adds of linear(a, b) (b: (in, out) weight) or matmul(a, b) (batched, b: (..., k, n))."""
    return math.prod(a[:-1]) * a[-1] * b[-1]


def total_macs(products: Iterable[Tuple[str, Tuple[int, ...], Tuple[int, ...]]]) -> int:
    return sum(product_macs(*p) for p in products)


def run_and_count(ttnn: Any, channels: int, frames: int, height: int, width: int, module_class: Any = None) -> int:
    """Run one call of the module on golden ttnn (zero input, B = 2) and count its products' multiply-adds."""
    if module_class is None:
        from ..ttnn_temporal import TtTemporalTransformer as module_class
    golden = GoldenTtnn(ttnn)
    tt_module = module_class(golden, motion_module(channels).state_dict())
    x = torch.zeros(BATCH * frames, channels, height, width)
    tt_module(to_frames(x, BATCH, frames), batch=BATCH, height=height, width=width)
    return total_macs(golden.products)


def issued_macs(ttnn: Any, channels: int, frames: int, height: int, width: int, module_class: Any = None) -> int:
    """Multiply-adds of the linears and matmuls one call of ttnn_temporal's module issues at height x width:
    its count at 1x1, scaled (tests/ttnn_port/test_motion_macs.py checks the scaling is exact)."""
    return run_and_count(ttnn, channels, frames, 1, 1, module_class) * height * width


def needed_macs(channels: int, frames: int, height: int, width: int, blocks: int = 1) -> int:
    """The module's own multiply-adds on B*H*W*F unpadded rows (B = 2): proj_in and proj_out (C x C),
    per block two self-attentions (q, k, v and out: 4 C x C; scores and probs @ v: F keys x C each)
    and GEGLU's feed-forward (C -> 2 x 4C, 4C -> C: 12 C x C)."""
    c = channels
    per_row = 2 * c * c + blocks * (2 * (4 * c * c + 2 * frames * c) + 12 * c * c)
    return BATCH * height * width * frames * per_row
