"""What tt-metal's interleaved (DRAM) group norm asks of a Blackhole card for one call: which program
factory runs, which of its checks would refuse the call, and how many bytes of circular buffers (CBs)
each core allocates in L1. Pure arithmetic on the op's arguments - no device, no ttnn.

Transcribed (read, not copied) from tenstorrent/tt-metal:
- CB sizes, the per-core split and its TT_FATALs: ttnn/cpp/ttnn/operations/normalization/groupnorm/device/
  groupnorm_mcast_program_factory.cpp at MCAST_FACTORY_COMMIT (= ttnn_motion_unet.TT_METAL_COMMIT, the
  commit this package follows);
- which factory runs (batch >= virtual rows: no-mcast, else mcast): .../device/groupnorm_device_operation.cpp,
  select_program_factory, at DEVICE_OPERATION_COMMIT;
- the grid checks made before any program is built (validate_dram_grid) and the stats CB format (bfloat16
  for a bfloat16 input): .../groupnorm/groupnorm.cpp at GROUPNORM_COMMIT;
- find_max_tile_span (block_wt): .../device/groupnorm_program_utils.cpp (same function at every stored commit).
The index holds the last two files only at those (later) commits; the ttnn 0.81.1 wheel carries the
error strings of both (test_group_norm_on_blackhole.py checks that it still does).

Only the path ttnn_temporal uses is modelled: bfloat16 TILE input and output in DRAM, gamma/beta
ROW_MAJOR bfloat16, an input mask, use_welford False, no reciprocals. Anything else raises.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, List

MCAST_FACTORY_COMMIT = "4233363c06f710a7e93c1f168b88c02558943ca1"
DEVICE_OPERATION_COMMIT = "050f24fa811f4f26798a78feaac8a319912f5f10"
GROUPNORM_COMMIT = "0062748f7262da32c100420a52d4501d4f585d53"

TILE = 32
BF16_TILE_BYTES = TILE * TILE * 2  # tt::tile_size(Float16_b)
# tt_metal/hw/inc/internal/tt-1xx/blackhole/dev_mem_map.h: MEM_L1_SIZE (1536 * 1024) per Tensix core.
BLACKHOLE_L1_BYTES = 1536 * 1024
# What this port allows one op's CBs: the core's L1 less the firmware map (MEM_MAP_END, about 33 KiB
# per dev_mem_map.h), the kernel-config ring, the SD demo's l1_small_size (21760 B) and room for the
# L1 tensors other ops keep alive. A budget, not a device figure: only a card says what is free.
CB_BUDGET_BYTES = 1024 * 1024


@dataclass
class GroupNormCall:
    """The arguments of one ttnn.group_norm call that decide its program."""

    batch: int  # N of the [N, 1, rows, C] input
    rows: int  # rows per batch item (H*W of the op's view; F*H*W for us)
    channels: int
    groups: int
    grid_x: int
    grid_y: int
    num_out_blocks: int = 1  # ttnn's default when core_grid is given (groupnorm.cpp)


@dataclass
class GroupNormProgram:
    factory: str  # "mcast" or "no-mcast"
    virtual_columns: int
    virtual_rows: int
    block_h: int  # tile rows per core per batch item (block_ht_group_1)
    block_w: int  # tiles one group spans (block_wt)
    refusals: List[str] = field(default_factory=list)  # the checks that would stop the call
    cbs: Dict[str, int] = field(default_factory=dict)  # CB index name -> bytes per core

    @property
    def cb_bytes(self) -> int:
        return sum(self.cbs.values())


def num_virtual_cols(grid_x: int, groups: int, channels: int) -> int:
    """compute_num_virtual_cols / the factory's while loop: 0 when none fits."""
    columns = min(grid_x, groups)
    while columns > 0 and ((channels // columns) % TILE != 0 or groups % columns != 0 or channels % columns):
        columns -= 1
    return columns


def max_tile_span(width: int, group_size: int) -> int:
    """find_max_tile_span(W, group_size).first: the most tiles one group touches."""
    position, span = 0, 0
    while position < width:
        end = position + group_size
        span = max(span, (end - 1) // TILE - position // TILE + 1)
        position = end
    return span


def grid_refusals(call: GroupNormCall) -> List[str]:
    """groupnorm.cpp validate_dram_grid: the grid must split the rows evenly, batch by batch."""
    height_tiles = call.batch * call.rows // TILE
    columns = num_virtual_cols(call.grid_x, call.groups, call.channels)
    if columns == 0:
        return [f"no virtual column count fits grid x={call.grid_x}, C={call.channels}, groups={call.groups}"]
    rows = (call.grid_x // columns) * call.grid_y
    problems = []
    if height_tiles < rows:
        problems.append(f"Ht={height_tiles} < num_virtual_rows={rows}")
    elif height_tiles % rows:
        problems.append(f"Ht={height_tiles} is not divisible by num_virtual_rows={rows}")
    if not (rows < call.batch or rows % call.batch == 0):
        problems.append(f"num_virtual_rows={rows} is not divisible by num_batches={call.batch}")
    return problems


def group_norm_program(call: GroupNormCall) -> GroupNormProgram:
    if call.rows % TILE or call.channels % TILE or call.channels % call.groups:
        raise ValueError(f"not the tile-aligned path this model covers: {call}")
    height_tiles = call.batch * call.rows // TILE
    columns = num_virtual_cols(call.grid_x, call.groups, call.channels)
    virtual_rows = (call.grid_x // columns) * call.grid_y
    factory = "no-mcast" if call.batch >= virtual_rows else "mcast"
    refusals = grid_refusals(call)
    per_core_mt = height_tiles // virtual_rows
    per_core_n = call.channels // columns
    per_core_nt = -(-per_core_n // TILE)
    channels_per_group = call.channels // call.groups
    shards_r = height_tiles // per_core_mt if per_core_mt else 0
    batches_per_core = call.batch // shards_r if shards_r and call.batch > shards_r else 1
    block_h = per_core_mt // batches_per_core
    block_w = max_tile_span(per_core_n, channels_per_group)
    program = GroupNormProgram(factory, columns, virtual_rows, block_h, block_w, refusals)
    if factory != "mcast":
        raise NotImplementedError(f"the no-mcast factory is not modelled (batch {call.batch} >= {virtual_rows} rows)")
    if not 0 < call.num_out_blocks <= block_h:
        refusals.append(f"num_out_blocks ({call.num_out_blocks}) must be in [1, block_h ({block_h})]")
    if per_core_n % channels_per_group:
        refusals.append(f"per_core_N ({per_core_n}) must be divisible by num_channels_per_group ({channels_per_group})")
    if refusals:
        return program

    tile = BF16_TILE_BYTES  # input, output, stats (im_data_format bfloat16), gamma/beta and mask all bfloat16
    block_tiles = block_h // call.num_out_blocks * block_w  # in0_block_tiles_group_1
    groups_per_core = call.groups // columns if call.groups > columns else 1
    cbs = {
        # one block each: the input (c_0, and its copy c_29), the output (c_16), x and the three
        # x-minus-mean intermediates (c_24, c_25, c_23, c_22)
        "c_0 in0": block_tiles * tile, "c_29 in": block_tiles * tile, "c_16 out": block_tiles * tile,
        "c_24 x": block_tiles * tile, "c_25 xmm": block_tiles * tile,
        "c_23 xmm2": block_tiles * tile, "c_22 xmm3": block_tiles * tile,
        "c_2 scaler": tile, "c_3 eps": tile, "c_4 scaler_c": tile,
        "c_5 gamma": per_core_nt * tile, "c_6 beta": per_core_nt * tile,
        "c_28 input_mask": block_w * tile * 2,
        "c_8 ex_partial": tile, "c_21 ex2_partial": tile,
        "c_15+c_9 ex_global": tile, "c_14+c_13 ex2_global": tile, "c_27 ex2pe": tile,
    }
    if per_core_n % TILE:
        cbs["c_26+c_31 repack"] = per_core_nt * tile * 2
    # c_10 holds 16 bytes per core of the mcast group per out block (num_out_blocks_padded)
    padded_blocks = call.num_out_blocks
    normal = block_h // call.num_out_blocks
    if block_h % call.num_out_blocks:
        padded_blocks += (block_h - call.num_out_blocks * normal) // normal + 1
    cores_per_mcast_group = _first_mcast_group_size(call.batch, virtual_rows, columns, groups_per_core, call.groups)
    cbs["c_10 ex_external"] = -(-padded_blocks * cores_per_mcast_group * 16 // tile) * tile
    program.cbs = cbs
    return program


def _first_mcast_group_size(batch: int, virtual_rows: int, columns: int, groups_per_core: int, groups: int) -> int:
    """mcast_groups[0].size(): cores from the first sender up to the next one, in the factory's core order."""
    cores = virtual_rows * columns
    shards_r = virtual_rows
    cores_per_batch = 1 if batch > shards_r else shards_r // batch
    batches_per_core = batch // shards_r if batch > shards_r else 1
    equal = not (batch >= shards_r and batch % shards_r)
    sender_groups = batch // batches_per_core if equal else virtual_rows
    senders = set()
    offset = 0
    for _ in range(sender_groups):
        index = offset
        for _ in range(groups // groups_per_core):
            senders.add(index)
            index += virtual_rows
        offset += cores_per_batch
    first = min(senders)
    later = sorted(s for s in senders if s > first)
    return (later[0] if later else cores) - first
