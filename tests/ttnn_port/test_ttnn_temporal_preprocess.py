"""TtTemporalTransformer's weight preprocessing with the real ttnn, on the host, under the mock
Blackhole cluster (conftest.py): real ttnn tensors, TILE layout, dtypes and padded shapes.

Proves: what would be uploaded (layouts, dtypes, logical and tile-padded shapes, zero head padding,
the packed group-norm parameters and mask) is built by ttnn itself without error, in bfloat16 and
bfloat8_b. ttnn 0.81.1 needs a cluster for any host-side TILE conversion ("num_chips > 0"
otherwise), which is what the mock provides. Cannot prove: that the upload to a card's
DRAM or the kernels using these tensors work (no device can be opened without a card).
"""

from __future__ import annotations

import pytest
import torch
from temporal_cases import motion_module

import ttnn
from animatediff_ttnn.backends import tt_metal
from animatediff_ttnn.ttnn_temporal import MAX_FRAMES, TtTemporalTransformer

# (channels, real head size, padded head size) of SD 1.x's motion modules: 8 heads each.
LEVELS = [(320, 40, 64), (640, 80, 96), (1280, 160, 160)]


def test_mock_cluster_is_a_blackhole_with_one_chip():
    status = tt_metal.detect_blackhole()
    assert ttnn.get_arch_name() == "blackhole"
    assert status.available and status.device_count == 1, status.reason


@pytest.fixture(scope="module", params=LEVELS, ids=lambda lv: f"C{lv[0]}")
def level(request):
    channels, head, padded = request.param
    module = motion_module(channels)
    return channels, head, padded, module, TtTemporalTransformer(ttnn, module.state_dict())


def test_weights_are_tile_bfloat16_with_padded_heads(level):
    channels, head, padded, module, tt = level
    block = tt.blocks[0]
    assert (tt.head_dim, tt.scale) == (head, head**-0.5)  # the scale of the real head size
    for name, tensor, shape in [
        ("proj_in", tt.proj_in_weight, (channels, channels)),
        ("qkv", block.attn1.qkv_weight, (channels, 3 * 8 * padded)),
        ("out", block.attn2.out_weight, (8 * padded, channels)),
        ("ff value", block.ff_value_weight, (channels, 4 * channels)),
        ("ff out", block.ff_out_weight, (4 * channels, channels)),
        ("positions", block.positions, (1, 1, MAX_FRAMES, channels)),
        ("norm1 weight", block.norm1[0], (1, channels)),
    ]:
        assert tensor.layout == ttnn.TILE_LAYOUT and tensor.dtype == ttnn.bfloat16, name
        assert tuple(tensor.shape) == shape, name
        assert all(d % 32 == 0 for d in tuple(tensor.padded_shape)[-2:]), name

    qkv = ttnn.to_torch(block.attn1.qkv_weight).float().reshape(channels, 3, 8, padded)
    assert torch.count_nonzero(qkv[..., head:]) == 0  # zero columns after each head's real ones
    to_q = module.transformer_blocks[0].attn1.to_q.weight.detach()
    torch.testing.assert_close(qkv[:, 0, :, :head].reshape(channels, channels), to_q.t().bfloat16().float())
    out = ttnn.to_torch(block.attn1.out_weight).float().reshape(8, padded, channels)
    assert torch.count_nonzero(out[:, head:]) == 0


def test_group_norm_parameters_are_packed_for_dram_group_norm(level):
    """Packed per virtual column of a grid (here the 8x8 bound's; test_group_norm_on_blackhole.py checks
    that every call gets the packing of the grid it runs on)."""
    channels, _, _, module, tt = level
    columns = ttnn.operations.normalization.dram_group_norm_virtual_columns(tt.max_core_grid, channels, 32)
    weight, _, mask = tt.norm_parameters(columns)
    assert weight.layout == ttnn.ROW_MAJOR_LAYOUT and weight.dtype == ttnn.bfloat16
    packed = ttnn.to_torch(weight).float().reshape(columns, -1)[:, : channels // columns].flatten()
    torch.testing.assert_close(packed, module.norm.weight.detach().bfloat16().float())
    assert mask.layout == ttnn.TILE_LAYOUT and tuple(mask.shape)[:3] == (1, 32, 32)


def test_frame_mask_masks_exactly_the_padded_frames(level):
    tt = level[4]
    mask = ttnn.to_torch(tt.frame_mask(5)).float()
    assert tuple(mask.shape) == (1, 1, 32, 32)
    assert torch.all(mask[..., :5] == 0) and torch.all(mask[..., 5:] <= -1e8)


def test_bfloat8_b_weights_pack_under_the_mock_cluster():
    """The dtype to try first if the card runs out of DRAM or bandwidth (see ttnn_temporal's docstring)."""
    tt = TtTemporalTransformer(ttnn, motion_module(320).state_dict(), weight_dtype=ttnn.bfloat8_b)
    weight = tt.blocks[0].attn1.qkv_weight
    assert weight.dtype == ttnn.bfloat8_b and weight.layout == ttnn.TILE_LAYOUT
    assert tuple(weight.shape) == (320, 3 * 8 * 64)
