"""The AnimateDiff motion module (temporal transformer) written in ttnn ops.

It mirrors diffusers' `AnimateDiffTransformer3D` (and `temporal_module.TemporalTransformer`, same
weights) step for step; each step below names the torch line it replaces. What differs is only
what the hardware needs:

- Tensors between UNet blocks are tt-metal's layout, one per frame: [1, 1, B*H*W, C] (B = 2 for
  [uncond, cond]). The module concatenates the F frames, works on all of them, and splits again.
- Tiles are 32x32, so the frame axis (F <= 32) is padded to 32 rows and the padded *keys* are
  masked out of every softmax (-1e9 added to their scores); padded *queries* are computed and
  sliced away at the end.
- Head sizes 40 and 80 (320/8, 640/8) are not tile multiples: each head's q/k/v columns are padded
  with zeros to 64/96 and the output projection gets zero rows there, so scores and outputs are
  unchanged (tt-metal's SD code pads heads the same way). The softmax scale stays 1/sqrt(40 or 80).
- GroupNorm's statistics span all frames of one batch item, as diffusers' module computes them
  (guoyww's original normalises each frame on its own; lesson 09, Phase 3, says why we follow diffusers). That
  is [B, 1, F*H*W, C] in DRAM: ttnn's interleaved group_norm. Its rows are split over a core grid
  and each core streams its share through L1 in `num_out_blocks` passes; group_norm_plan() picks
  both per level and frame count (an 8x8 grid cannot split 4F tile rows evenly for odd F at the
  8x8 level, and one pass would need 3.5 MiB of L1 per core at 64x64 x 16 frames; a Blackhole core
  has 1.5 MiB). tests/ttnn_port/test_group_norm_on_blackhole.py checks every plan against tt-metal's
  program factory; the golden emulation cannot see grids or L1.
- Padded frames must hold finite numbers: their keys are masked, but 0 x NaN is NaN in probs @ V.
  ttnn.pad may only relabel a tile's padding rows, whose contents no op promises, so they are set to
  zero (fill_implicit_tile_padding) before they become frames.

Dtypes: every weight is bfloat16 (not bfloat8_b as tt-metal's SD UNet uses for its convolutions).
A temporal softmax has at most 32 keys, so one badly rounded score moves a whole frame's weight; the
21 modules hold 453 M parameters = 0.9 GB in bfloat16, which fits a Blackhole card's DRAM beside the
SD UNet. Try bfloat8_b with `weight_dtype=` and let validate_on_blackhole.py judge it.

`ttnn` is passed in (not imported) so that the tests can run this exact code with every op
executed by ttnn's own golden (torch) function; see tests/ttnn_port/golden_ttnn.py. The device path has
not run on a card.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Sequence

import torch

TILE = 32
MAX_FRAMES = 32  # the adapter's positional table (motion_max_seq_length) and one tile of frames
MASKED_SCORE = -1e9  # added to the scores of padded frames: exp() of it is 0 in bfloat16 too
GROUP_NORM_EPS = 1e-6  # AnimateDiffTransformer3D's GroupNorm
LAYER_NORM_EPS = 1e-5  # its BasicTransformerBlock's LayerNorms
GROUP_NORM_GRID_BOUND = 8  # group norm grids are chosen within 8x8 (tt-metal's SD norms use 8x8; every Blackhole has more)
# Tile rows one core streams through L1 per group-norm pass: 16 rows x 2 tile columns x 7 block-sized
# circular buffers x 2 KiB = 448 KiB per core, a third of a Blackhole core's 1.5 MiB L1.
GROUP_NORM_MAX_ROWS_PER_PASS = 16


def padded_head_dim(head_dim: int) -> int:
    return math.ceil(head_dim / TILE) * TILE


def _head_padded_columns(weight: torch.Tensor, heads: int, head_dim: int) -> torch.Tensor:
    """torch Linear weight (heads*head_dim out, in) -> (in, heads*padded) with zero columns per head."""
    pad = padded_head_dim(head_dim) - head_dim
    w = weight.t().reshape(weight.shape[1], heads, head_dim)
    return torch.nn.functional.pad(w, (0, pad)).reshape(weight.shape[1], -1)


def _head_padded_rows(weight: torch.Tensor, heads: int, head_dim: int) -> torch.Tensor:
    """torch Linear weight (out, heads*head_dim in) -> (heads*padded, out) with zero rows per head."""
    pad = padded_head_dim(head_dim) - head_dim
    w = weight.t().reshape(heads, head_dim, weight.shape[0])
    return torch.nn.functional.pad(w, (0, 0, 0, pad)).reshape(-1, weight.shape[0])


@dataclass(frozen=True)
class GroupNormPlan:
    """How ttnn's interleaved group_norm runs one call: on which grid, in how many passes per core."""

    grid: Any  # ttnn.CoreGrid
    num_out_blocks: int  # passes each core makes over its rows (ttnn's default with a core_grid: 1)
    virtual_columns: int  # how the channels are split over the grid; gamma/beta/mask are packed for it
    rows_per_core: int  # tile rows of one batch item each core normalises (the factory's block_h)


class _GridBound:
    """What determine_expected_group_norm_dram_grid_size reads of a device: the largest grid to use."""

    def __init__(self, grid: Any) -> None:
        self._grid = grid

    def compute_with_storage_grid_size(self) -> Any:
        return self._grid


def group_norm_plan(ttnn: Any, bound: Any, channels: int, groups: int, batch: int, rows: int) -> GroupNormPlan:
    """The grid (ttnn's own helper, within `bound`) and the fewest passes that keep each pass at most
    GROUP_NORM_MAX_ROWS_PER_PASS tile rows, for a [batch, 1, rows, channels] DRAM group norm. The split
    follows tt-metal's group-norm program factory (rows over (grid.x / virtual columns) * grid.y cores)."""
    rows = math.ceil(rows / TILE) * TILE  # the TILE tensor's padded rows, which the op splits (tiny test sizes)
    grid = ttnn.determine_expected_group_norm_dram_grid_size(
        device=_GridBound(bound), num_channels=channels, num_groups=groups, input_nhw=batch * rows, num_batches=batch
    )
    columns = ttnn.operations.normalization.dram_group_norm_virtual_columns(grid, channels, groups)
    virtual_rows = (grid.x // columns) * grid.y
    per_core = batch * rows // TILE // virtual_rows
    rows_per_core = per_core // (batch // virtual_rows) if batch > virtual_rows else per_core
    passes = next(
        n for n in range(1, rows_per_core + 1) if rows_per_core % n == 0 and rows_per_core // n <= GROUP_NORM_MAX_ROWS_PER_PASS
    )
    return GroupNormPlan(grid, passes, columns, rows_per_core)


@dataclass
class _Attention:
    qkv_weight: Any  # (D, 3*heads*padded): [q | k | v], each head zero-padded
    out_weight: Any  # (heads*padded, D), zero rows at the padding
    out_bias: Any  # (1, D)


@dataclass
class _Block:
    positions: Any  # (1, 1, 32, D) sinusoidal table, added after norm1 and norm2
    norm1: tuple
    attn1: _Attention
    norm2: tuple
    attn2: _Attention
    norm3: tuple
    ff_value_weight: Any  # GEGLU's proj split in two: the half that is multiplied...
    ff_value_bias: Any
    ff_gate_weight: Any  # ...and the half that goes through gelu
    ff_gate_bias: Any
    ff_out_weight: Any
    ff_out_bias: Any


class TtTemporalTransformer:
    """One motion module on ttnn. Construct once (weights are converted and uploaded here),
    call once per UNet evaluation with the F frames of one point in the UNet."""

    def __init__(
        self,
        ttnn: Any,
        state_dict: Dict[str, torch.Tensor],
        device: Any = None,
        *,
        heads: int = 8,
        norm_groups: int = 32,
        max_core_grid: Any = None,
        weight_dtype: Any = None,
    ) -> None:
        """`state_dict`: one motion module's, with diffusers' AnimateDiffTransformer3D keys (the
        keys of temporal_module.TemporalTransformer too). `device=None` keeps everything on the host.
        `max_core_grid`: the largest grid a group norm may use (default: 8x8, or the device's if smaller)."""
        self.ttnn = ttnn
        self.device = device
        sd = {k: v.detach().float().cpu() for k, v in state_dict.items()}
        self.channels = sd["norm.weight"].shape[0]
        self.groups = norm_groups
        self.norm_eps = GROUP_NORM_EPS
        self.heads = heads
        self.inner_dim = sd["proj_in.weight"].shape[0]
        self.head_dim = self.inner_dim // heads
        self.scale = self.head_dim**-0.5  # of the real head size, not the padded one
        self.layer_norm_eps = LAYER_NORM_EPS
        num_blocks = len({k.split(".")[1] for k in sd if k.startswith("transformer_blocks.")})
        table = sd["transformer_blocks.0.pos_embed.pe"]
        self.max_frames = min(MAX_FRAMES, table.shape[1])
        self._dtype = weight_dtype if weight_dtype is not None else ttnn.bfloat16
        # DRAM group norm: its affine parameters and channel mask are packed per virtual column of the
        # grid a call runs on (group_norm_plan); packed here for the bound's, later for any other.
        self.max_core_grid = max_core_grid if max_core_grid is not None else _default_core_grid(ttnn, device)
        self._norm_affine = (sd["norm.weight"], sd["norm.bias"])
        self._norm_packed: Dict[int, tuple] = {}
        self._plans: Dict[tuple, GroupNormPlan] = {}
        self.norm_parameters(
            ttnn.operations.normalization.dram_group_norm_virtual_columns(self.max_core_grid, self.channels, self.groups)
        )

        self.proj_in_weight = self._tile(sd["proj_in.weight"].t())
        self.proj_in_bias = self._tile(sd["proj_in.bias"].reshape(1, -1))
        self.blocks = [self._block(sd, f"transformer_blocks.{i}.") for i in range(num_blocks)]
        self.proj_out_weight = self._tile(sd["proj_out.weight"].t())
        self.proj_out_bias = self._tile(sd["proj_out.bias"].reshape(1, -1))
        self._masks: Dict[int, Any] = {}

    # --- preprocessing (once) ---

    def _tile(self, tensor: torch.Tensor, dtype: Any = None) -> Any:
        ttnn = self.ttnn
        kwargs = {"memory_config": ttnn.DRAM_MEMORY_CONFIG} if self.device is not None else {}
        return ttnn.from_torch(
            tensor.contiguous(), dtype=dtype or self._dtype, layout=ttnn.TILE_LAYOUT, device=self.device, **kwargs
        )

    def _rm(self, tensor: torch.Tensor) -> Any:
        ttnn = self.ttnn
        kwargs = {"memory_config": ttnn.DRAM_MEMORY_CONFIG} if self.device is not None else {}
        return ttnn.from_torch(tensor, dtype=ttnn.bfloat16, layout=ttnn.ROW_MAJOR_LAYOUT, device=self.device, **kwargs)

    def norm_parameters(self, columns: int) -> tuple:
        """(weight, bias, input mask) packed for `columns` virtual columns, uploaded once."""
        if columns not in self._norm_packed:
            ttnn, c = self.ttnn, self.channels
            weight, bias = (self._rm(ttnn.create_group_norm_weight_bias_rm(p, c, columns)) for p in self._norm_affine)
            mask = ttnn.create_group_norm_input_mask(c, self.groups, columns, ttnn.bfloat16)
            mask = ttnn.to_device(mask, self.device) if self.device is not None else mask
            self._norm_packed[columns] = (weight, bias, mask)
        return self._norm_packed[columns]

    def group_norm_plan(self, num_frames: int, height: int, width: int, batch: int = 2) -> GroupNormPlan:
        key = (num_frames, height, width, batch)
        if key not in self._plans:
            self._plans[key] = group_norm_plan(
                self.ttnn, self.max_core_grid, self.channels, self.groups, batch, num_frames * height * width
            )
        return self._plans[key]

    def prepare(self, num_frames: int, height: int, width: int, batch: int = 2) -> GroupNormPlan:
        """Everything a call of this size uploads (the frame mask, group-norm parameters for its grid),
        done now: a call after it only runs ops (what a captured trace needs)."""
        plan = self.group_norm_plan(num_frames, height, width, batch)
        self.norm_parameters(plan.virtual_columns)
        self.frame_mask(num_frames)
        return plan

    def _norm(self, sd: Dict[str, torch.Tensor], name: str) -> tuple:
        return self._tile(sd[name + ".weight"].reshape(1, -1)), self._tile(sd[name + ".bias"].reshape(1, -1))

    def _attention(self, sd: Dict[str, torch.Tensor], prefix: str) -> _Attention:
        h, d = self.heads, self.head_dim
        qkv = torch.cat([_head_padded_columns(sd[f"{prefix}.to_{n}.weight"], h, d) for n in "qkv"], dim=1)
        return _Attention(
            qkv_weight=self._tile(qkv),
            out_weight=self._tile(_head_padded_rows(sd[f"{prefix}.to_out.0.weight"], h, d)),
            out_bias=self._tile(sd[f"{prefix}.to_out.0.bias"].reshape(1, -1)),
        )

    def _block(self, sd: Dict[str, torch.Tensor], p: str) -> _Block:
        for unsupported in ("attn1.to_q.bias", "attn1.to_k.bias", "attn1.to_v.bias"):
            if p + unsupported in sd:
                raise ValueError(f"{p}{unsupported}: motion modules with q/k/v biases are not supported")
        proj_w, proj_b = sd[p + "ff.net.0.proj.weight"], sd[p + "ff.net.0.proj.bias"]
        inner = proj_w.shape[0] // 2
        return _Block(
            positions=self._tile(self._positions(sd[p + "pos_embed.pe"])),
            norm1=self._norm(sd, p + "norm1"),
            attn1=self._attention(sd, p + "attn1"),
            norm2=self._norm(sd, p + "norm2"),
            attn2=self._attention(sd, p + "attn2"),
            norm3=self._norm(sd, p + "norm3"),
            ff_value_weight=self._tile(proj_w[:inner].t()),
            ff_value_bias=self._tile(proj_b[:inner].reshape(1, -1)),
            ff_gate_weight=self._tile(proj_w[inner:].t()),
            ff_gate_bias=self._tile(proj_b[inner:].reshape(1, -1)),
            ff_out_weight=self._tile(sd[p + "ff.net.2.weight"].t()),
            ff_out_bias=self._tile(sd[p + "ff.net.2.bias"].reshape(1, -1)),
        )

    def _positions(self, table: torch.Tensor) -> torch.Tensor:
        """(1, L, D) sinusoidal table -> (1, 1, 32, D): rows past L (never real frames) are zero."""
        table = table[0, : self.max_frames]
        return torch.nn.functional.pad(table, (0, 0, 0, MAX_FRAMES - table.shape[0])).reshape(1, 1, MAX_FRAMES, -1)

    def frame_mask(self, num_frames: int) -> Any:
        """(1, 1, 32, 32) additive mask: 0 for real key frames, MASKED_SCORE for the padding."""
        if num_frames not in self._masks:
            mask = torch.zeros(1, 1, MAX_FRAMES, MAX_FRAMES)
            mask[..., num_frames:] = MASKED_SCORE
            self._masks[num_frames] = self._tile(mask, self.ttnn.bfloat16)
        return self._masks[num_frames]

    # --- forward ---

    def __call__(
        self, frames: Sequence[Any], *, batch: int, height: int, width: int, motion_scale: float = 1.0
    ) -> List[Any]:
        """frames: F tensors [1, 1, batch*height*width, C] (TILE, bfloat16). Returns F new ones:
        input + motion_scale * (what the module computes), as motion_unet.FrameLoopMotionUNet."""
        ttnn = self.ttnn
        num_frames, hw, c = len(frames), height * width, self.channels
        if not 1 <= num_frames <= self.max_frames:
            raise ValueError(f"frames: 1..{self.max_frames} (the positional table's length), got {num_frames}")
        dram = ttnn.DRAM_MEMORY_CONFIG
        plan = self.prepare(num_frames, height, width, batch)
        norm_weight, norm_bias, norm_mask = self.norm_parameters(plan.virtual_columns)
        residual = ttnn.concat(list(frames), dim=0, memory_config=dram)  # (F, 1, B*HW, C)

        # torch: x.reshape(B, F, C, H, W).permute(0, 2, 1, 3, 4); norm(x)  -- statistics over F, H, W
        x = ttnn.reshape(residual, (num_frames, batch, hw, c))
        x = ttnn.permute(x, (1, 0, 2, 3), memory_config=dram)  # (B, F, HW, C)
        x = ttnn.reshape(x, (batch, 1, num_frames * hw, c))
        # No memory_config: DRAM interleaved is the op's default (and with one, ttnn 0.81.1's golden
        # unpacks gamma/beta by core count instead of virtual columns, breaking op-by-op comparison).
        x = ttnn.group_norm(
            x,
            num_groups=self.groups,
            epsilon=self.norm_eps,
            input_mask=norm_mask,
            weight=norm_weight,
            bias=norm_bias,
            core_grid=plan.grid,
            num_out_blocks=plan.num_out_blocks,
            inplace=False,
        )

        # torch: x.permute(0, 3, 4, 2, 1).reshape(B*H*W, F, C)  -- one sequence of frames per pixel
        x = ttnn.reshape(x, (batch, num_frames, hw, c))
        x = ttnn.permute(x, (0, 2, 1, 3), memory_config=dram)  # (B, HW, F, C)
        x = ttnn.reshape(x, (1, batch * hw, num_frames, c))
        x = ttnn.fill_implicit_tile_padding(x, 0.0)  # rows F..31 of each tile: zeros, not whatever was there
        x = ttnn.pad(x, [(0, 0), (0, 0), (0, MAX_FRAMES - num_frames), (0, 0)], value=0.0)  # F -> 32 rows

        # torch: proj_in(x)
        x = ttnn.linear(x, self.proj_in_weight, bias=self.proj_in_bias, memory_config=dram)
        mask = self.frame_mask(num_frames)
        for block in self.blocks:
            x = self._transformer_block(x, block, mask)
        # torch: proj_out(x)
        x = ttnn.linear(x, self.proj_out_weight, bias=self.proj_out_bias, memory_config=dram)

        # torch: x.reshape(B, H, W, F, C).permute(0, 3, 4, 1, 2).reshape(B*F, C, H, W); x + residual
        x = ttnn.slice(x, [0, 0, 0, 0], [1, batch * hw, num_frames, c])  # drop the padded frames
        x = ttnn.reshape(x, (batch, hw, num_frames, c))
        x = ttnn.permute(x, (2, 0, 1, 3), memory_config=dram)  # (F, B, HW, C)
        x = ttnn.reshape(x, (num_frames, 1, batch * hw, c))
        if motion_scale != 1.0:
            x = ttnn.multiply(x, motion_scale)
        x = ttnn.add(x, residual, memory_config=dram)
        n = batch * hw
        return [ttnn.slice(x, [f, 0, 0, 0], [f + 1, 1, n, c]) for f in range(num_frames)]

    def _transformer_block(self, x: Any, block: _Block, mask: Any) -> Any:
        """diffusers' BasicTransformerBlock with double_self_attention and sinusoidal positions."""
        ttnn = self.ttnn
        # torch: n = pos_embed(norm1(x)); x = attn1(n) + x
        n = ttnn.layer_norm(x, epsilon=self.layer_norm_eps, weight=block.norm1[0], bias=block.norm1[1])
        n = ttnn.add(n, block.positions)
        x = ttnn.add(self._self_attention(n, block.attn1, mask), x)
        # torch: n = pos_embed(norm2(x)); x = attn2(n) + x   (attn2 is a second self-attention)
        n = ttnn.layer_norm(x, epsilon=self.layer_norm_eps, weight=block.norm2[0], bias=block.norm2[1])
        n = ttnn.add(n, block.positions)
        x = ttnn.add(self._self_attention(n, block.attn2, mask), x)
        # torch: x = ff(norm3(x)) + x   with GEGLU: value * gelu(gate)
        n = ttnn.layer_norm(x, epsilon=self.layer_norm_eps, weight=block.norm3[0], bias=block.norm3[1])
        value = ttnn.linear(n, block.ff_value_weight, bias=block.ff_value_bias)
        gate = ttnn.gelu(ttnn.linear(n, block.ff_gate_weight, bias=block.ff_gate_bias))
        ff = ttnn.linear(ttnn.multiply(value, gate), block.ff_out_weight, bias=block.ff_out_bias)
        return ttnn.add(ff, x)

    def _self_attention(self, x: Any, attn: _Attention, mask: Any) -> Any:
        """Attention over the (padded) frame axis of each pixel's sequence."""
        ttnn = self.ttnn
        sequences = x.shape[1]
        qkv = ttnn.linear(x, attn.qkv_weight)  # (1, S, 32, 3*heads*padded)
        qkv = ttnn.reshape(qkv, (sequences, MAX_FRAMES, qkv.shape[-1]))
        q, k_t, v = ttnn.transformer.split_query_key_value_and_split_heads(qkv, num_heads=self.heads)
        scores = ttnn.matmul(q, k_t)  # (S, heads, 32, 32)
        scores = ttnn.add(ttnn.multiply(scores, self.scale), mask)
        probs = ttnn.softmax(scores, dim=-1)
        out = ttnn.transformer.concatenate_heads(ttnn.matmul(probs, v))  # (S, 32, heads*padded)
        out = ttnn.reshape(out, (1, sequences, MAX_FRAMES, out.shape[-1]))
        return ttnn.linear(out, attn.out_weight, bias=attn.out_bias)


def _default_core_grid(ttnn: Any, device: Any) -> Any:
    """The bound for group-norm grids: 8x8 (or smaller, as the device allows)."""
    bound = GROUP_NORM_GRID_BOUND
    if device is None:
        return ttnn.CoreGrid(y=bound, x=bound)
    grid = device.compute_with_storage_grid_size()
    return ttnn.CoreGrid(y=min(bound, grid.y), x=min(bound, grid.x))
