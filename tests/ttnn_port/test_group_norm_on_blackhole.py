"""Every ttnn.group_norm call ttnn_temporal makes on a Blackhole card, checked statically: the 21 motion
modules' levels x every frame count 1..32, at 512x512 (batch 2: [uncond, cond]).

The golden emulation (GoldenTtnn) computes what an op returns; it cannot see which cores run it, how the
rows are split over them, or how much L1 each core needs. Those are decided by tt-metal's group-norm
program factory from the op's arguments, so here the arguments ttnn_temporal passes are captured (the
forward runs on meta tensors up to the group norm: no data, no device) and fed to group_norm_l1.py, the
factory's arithmetic transcribed from the pinned source (file and commit there).

Proves: for every call we make, the pinned factory's own checks accept the grid and num_out_blocks, its
circular buffers fit CB_BUDGET_BYTES per core, the grid is the one the wheel's
determine_expected_group_norm_dram_grid_size answers, and the affine parameters and mask are packed for
the grid the call runs on. Cannot prove: what a card has free at that moment (firmware, other live L1
tensors), a factory other than the pinned one (a checkout at another commit), the ops whose program
configs ttnn picks itself (layer_norm, linear, softmax), or any device arithmetic.
"""

from __future__ import annotations

import mmap
from pathlib import Path
from typing import Any, Dict

import pytest
import torch
from golden_ttnn import GoldenTtnn
from group_norm_l1 import (
    BLACKHOLE_L1_BYTES,
    CB_BUDGET_BYTES,
    GroupNormCall,
    grid_refusals,
    group_norm_program,
)
from temporal_cases import motion_module

import ttnn
from animatediff_ttnn.backends.validation import level_side
from animatediff_ttnn.ttnn_temporal import MAX_FRAMES, TtTemporalTransformer

BATCH = 2
ALL_FRAME_COUNTS = range(1, MAX_FRAMES + 1)
GRID_FRAME_COUNTS = (1, 3, 5, 8, 16, 24, 32)
GRID_BOUND = (8, 8)  # the largest grid ttnn_temporal lets a group norm use (every Blackhole has more)


def motion_module_levels() -> Dict[str, tuple]:
    """The 21 modules of the v1-5-2 adapter: name -> (channels, latent side at 512x512)."""
    from diffusers import MotionAdapter
    from diffusers.models.unets.unet_motion_model import AnimateDiffTransformer3D

    with torch.device("meta"):
        adapter = MotionAdapter(block_out_channels=(320, 640, 1280, 1280), motion_layers_per_block=2,
                                motion_max_seq_length=32, use_motion_mid_block=True)
    return {name: (m.in_channels, level_side(name)) for name, m in adapter.named_modules()
            if isinstance(m, AnimateDiffTransformer3D)}


LEVELS = sorted(set(motion_module_levels().values()), key=lambda level: -level[1])  # (C, side)


def test_the_levels_are_the_21_modules_levels():
    modules = motion_module_levels()
    assert len(modules) == 21
    assert LEVELS == [(320, 64), (640, 32), (1280, 16), (1280, 8)]


class _Captured(Exception):
    pass


_modules: Dict[int, TtTemporalTransformer] = {}


def captured_group_norm(channels: int, side: int, frames: int) -> Dict[str, Any]:
    """The keyword arguments (and input shape) of the group norm one forward makes, on meta tensors."""
    golden = GoldenTtnn(ttnn)
    seen: Dict[str, Any] = {}

    def record(x, **kwargs):
        seen.update(kwargs, shape=tuple(x.shape))
        raise _Captured

    if channels not in _modules:
        _modules[channels] = TtTemporalTransformer(golden, motion_module(channels).state_dict())
    module = _modules[channels]
    module.ttnn = golden
    golden._ops["group_norm"] = record
    inputs = [torch.empty(1, 1, BATCH * side * side, channels, device="meta") for _ in range(frames)]
    with pytest.raises(_Captured):
        module(inputs, batch=BATCH, height=side, width=side)
    return seen


def call_of(seen: Dict[str, Any]) -> GroupNormCall:
    batch, _, rows, channels = seen["shape"]
    grid = seen["core_grid"]
    return GroupNormCall(batch, rows, channels, seen["num_groups"], grid.x, grid.y, seen.get("num_out_blocks") or 1)


@pytest.mark.parametrize("channels, side", LEVELS, ids=lambda v: str(v))
def test_every_group_norm_fits_blackhole_l1(channels, side):
    """Circular buffers per core, from the pinned mcast program factory's formulas, for F = 1..32."""
    over = []
    for frames in ALL_FRAME_COUNTS:
        seen = captured_group_norm(channels, side, frames)
        assert seen["shape"] == (BATCH, 1, frames * side * side, channels)  # statistics over all frames
        program = group_norm_program(call_of(seen))
        assert program.factory == "mcast"
        if program.refusals or program.cb_bytes > CB_BUDGET_BYTES:
            worst = max(program.cbs.items(), key=lambda kv: kv[1]) if program.cbs else ("-", 0)
            over.append(f"F={frames}: grid {seen['core_grid'].x}x{seen['core_grid'].y}, num_out_blocks "
                        f"{seen.get('num_out_blocks')}: {program.cb_bytes / 2**20:.2f} MiB of CBs per core "
                        f"(largest {worst[0]} {worst[1] // 1024} KiB){'; refused: ' if program.refusals else ''}"
                        f"{'; '.join(program.refusals)}")
    assert not over, (f"{side}x{side}, C={channels}: over the {CB_BUDGET_BYTES / 2**20:.1f} MiB CB budget "
                      f"(Blackhole L1 {BLACKHOLE_L1_BYTES / 2**20:.1f} MiB per core) or refused:\n" + "\n".join(over))


class _Bound:
    """What determine_expected_group_norm_dram_grid_size reads of a device: its compute grid."""

    def __init__(self, x: int, y: int):
        self.grid = ttnn.CoreGrid(x=x, y=y)

    def compute_with_storage_grid_size(self):
        return self.grid


@pytest.mark.parametrize("channels, side", LEVELS, ids=lambda v: str(v))
def test_group_norm_grid_is_the_wheels_answer(channels, side):
    """The grid each level x frame count uses is valid (groupnorm.cpp validate_dram_grid) and is what
    ttnn 0.81.1's own helper picks within the 8x8 bound."""
    wrong = []
    for frames in GRID_FRAME_COUNTS:
        seen = captured_group_norm(channels, side, frames)
        grid = seen["core_grid"]
        helper = ttnn.determine_expected_group_norm_dram_grid_size(
            device=_Bound(*GRID_BOUND), num_channels=channels, num_groups=32,
            input_nhw=BATCH * frames * side * side, num_batches=BATCH)
        refusals = grid_refusals(call_of(seen))
        if (grid.x, grid.y) != (helper.x, helper.y) or refusals:
            wrong.append(f"F={frames}: uses {grid.x}x{grid.y}, the wheel's helper answers {helper.x}x{helper.y}"
                         f"{'; refused: ' + '; '.join(refusals) if refusals else ''}")
    assert not wrong, f"{side}x{side}, C={channels}:\n" + "\n".join(wrong)


@pytest.mark.parametrize("channels, side", LEVELS, ids=lambda v: str(v))
def test_affine_parameters_and_mask_are_packed_for_the_grid_used(channels, side):
    """gamma/beta and the mask are packed per virtual column of the grid: a call on another grid than
    the packing's would normalise with the wrong channels' parameters (the golden cannot tell)."""
    module = motion_module(channels)
    for frames in GRID_FRAME_COUNTS:
        seen = captured_group_norm(channels, side, frames)
        program = group_norm_program(call_of(seen))
        columns = ttnn.operations.normalization.dram_group_norm_virtual_columns(seen["core_grid"], channels, 32)
        assert columns == program.virtual_columns
        want = ttnn.create_group_norm_weight_bias_rm(module.norm.weight.detach(), channels, columns)
        torch.testing.assert_close(seen["weight"].reshape(want.shape), want.bfloat16().float())
        mask = ttnn.to_torch(ttnn.create_group_norm_input_mask(channels, 32, columns, ttnn.bfloat16)).float()
        used = seen["input_mask"]  # built by the real ttnn on the host (no golden stands in for it)
        used = (ttnn.to_torch(used) if isinstance(used, ttnn.Tensor) else used).float()
        assert used.shape[-1] == program.block_w * 32  # the factory's TT_FATAL on the mask width
        torch.testing.assert_close(used, mask)


def test_the_wheel_carries_the_modelled_factorys_checks():
    """The model follows the pinned source; the wheel must still be built from a factory with the same
    checks (their error strings in libttnn), or the model may describe another program."""
    lib = Path(ttnn.__file__).parent / "build" / "lib" / "_ttnncpp.so"
    with open(lib, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as data:
        for text in (
            b"num_out_blocks ({}) must be in [1, block_h ({})]. Reduce num_out_blocks",
            b"Height in tiles (Ht={}) must be >= num_virtual_rows ({})",
            b"group_norm: Requested core_grid (x={}, y={}) is invalid for the input dimensions",
            b"num_out_blocks cannot be specified when core_grid is auto-selected",
        ):
            assert data.find(text) >= 0, text


def test_the_model_reproduces_the_issues_figures():
    """Issue 22's review: ~3.5 MiB per core at 64x64, F = 16, and ~1.8 MiB at 64x64 F = 8 or 32x32 F = 16,
    with the 8x8 grid and no chunking; and the 8x8 grid refused for odd F at the 8x8 level."""
    mib = lambda c, s, f: group_norm_program(GroupNormCall(BATCH, f * s * s, c, 32, 8, 8)).cb_bytes / 2**20  # noqa: E731
    assert round(mib(320, 64, 16), 1) == 3.5 and round(mib(320, 64, 8), 1) == round(mib(640, 32, 16), 1) == 1.8
    assert grid_refusals(GroupNormCall(BATCH, 3 * 64, 1280, 32, 8, 8)) == ["Ht=12 is not divisible by num_virtual_rows=8"]
    assert grid_refusals(GroupNormCall(BATCH, 2 * 64, 1280, 32, 8, 8)) == []
