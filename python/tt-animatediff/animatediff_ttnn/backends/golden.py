"""ttnn on a CPU, without a card: every op ttnn_temporal.py calls runs as that op's own golden function
(`ttnn.get_golden_function(op)`, ttnn's torch definition of it), rounded to bfloat16 where the card would
store bfloat16. `GoldenTtnn(ttnn)` stands in for the `ttnn` module a TtTemporalTransformer is given.

It proves the op sequence, shapes, frame and head padding, masks and the positional table. It cannot prove
memory configs, sharding, program configs, grids, L1 budgets or device math (bfloat8_b, LoFi, bf16
accumulation): that is examples/validate_on_blackhole.py's job on a card.

ttnn also needs a description of "its" cluster for host-side work (TILE conversion, group-norm masks):
`use_mock_cluster()` gives it one Blackhole P150, so that work runs for real here; no kernel runs.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any, Callable, Dict, List

import torch

# Every ttnn op ttnn_temporal may call. Anything else it touches (dtypes, layouts, memory configs,
# CoreGrid, host-side weight packing helpers) is passed through from the real ttnn unchanged.
OPS = (
    "concat", "reshape", "permute", "pad", "slice", "group_norm", "layer_norm", "linear", "matmul",
    "add", "multiply", "gelu", "softmax", "typecast", "fill_implicit_tile_padding",
    "transformer.split_query_key_value_and_split_heads", "transformer.concatenate_heads",
)

MOCK_CLUSTER_ENV = "TT_METAL_MOCK_CLUSTER_DESC_PATH"
# One Blackhole P150 card in UMD's cluster-descriptor format (keys as in tt-metal's
# tests/tt_metal/tt_fabric/custom_mock_cluster_descriptors/*p150*.yaml), reduced to a single chip with MMIO.
BLACKHOLE_P150 = """\
arch:
  0: blackhole
chips:
  {}
chip_unique_ids:
  0: 4476187513037
ethernet_connections:
  []
ethernet_connections_to_remote_devices:
  []
chips_with_mmio:
  - 0: 0
harvesting:
  0:
    noc_translation: true
    harvest_mask: 0
    dram_harvesting_mask: 0
    eth_harvesting_mask: 288
    pcie_harvesting_mask: 2
    l2cpu_harvesting_mask: 0
chip_to_boardtype:
  0: p150
boards:
  -
    - board_id: 4476187513037
    - board_type: p150
    - chips:
        - 0
asic_locations:
  0: 0
"""


def use_mock_cluster() -> str:
    """Point ttnn at the one-P150 mock cluster (unless the environment names another), before ttnn is
    imported; returns the descriptor's path. Never use this on a machine with a card you mean to use."""
    if not os.environ.get(MOCK_CLUSTER_ENV):
        path = Path(tempfile.gettempdir()) / f"animatediff-blackhole-p150-mock-{os.getuid() if hasattr(os, 'getuid') else 0}.yaml"
        if not path.is_file() or path.read_text(encoding="utf-8") != BLACKHOLE_P150:
            path.write_text(BLACKHOLE_P150, encoding="utf-8")
        os.environ[MOCK_CLUSTER_ENV] = str(path)
    return os.environ[MOCK_CLUSTER_ENV]


def round_bf16(value: Any) -> Any:
    if isinstance(value, torch.Tensor) and value.is_floating_point():
        return value.to(torch.bfloat16).to(torch.float32)
    if isinstance(value, (tuple, list)):
        return type(value)(round_bf16(v) for v in value)
    return value


class _Namespace:
    def __init__(self, real: Any, ops: Dict[str, Callable]):
        self._real, self._ops = real, ops

    def __getattr__(self, name: str) -> Any:
        if name in self._ops:
            return self._ops[name]
        return getattr(self._real, name)


class GoldenTtnn(_Namespace):
    """The real `ttnn` module with OPS replaced by their golden functions; `calls` lists them in order."""

    def __init__(self, ttnn: Any):
        self.calls: List[str] = []
        top: Dict[str, Callable] = {}
        sub: Dict[str, Callable] = {}
        for name in OPS:
            parent, _, leaf = name.rpartition(".")
            op = getattr(getattr(ttnn, parent) if parent else ttnn, leaf)
            (sub if parent else top)[leaf] = self._golden(name, ttnn.get_golden_function(op))
        top["from_torch"] = self._from_torch
        # Moves between L1/DRAM and layouts change where values live, not what they are.
        top["to_memory_config"] = lambda tensor, *_, **__: tensor
        top["to_layout"] = lambda tensor, *_, **__: tensor
        top["to_torch"] = lambda tensor, *_, **__: tensor
        top["transformer"] = _Namespace(ttnn.transformer, sub)
        super().__init__(ttnn, top)

    def _golden(self, name: str, golden: Callable) -> Callable:
        def run(*args: Any, **kwargs: Any) -> Any:
            self.calls.append(name)
            return round_bf16(golden(*args, **kwargs))

        return run

    def _from_torch(self, tensor: torch.Tensor, dtype: Any = None, **_: Any) -> torch.Tensor:
        # bfloat16 and bfloat8_b both become bfloat16 here; bfloat8_b's shared exponents are not emulated.
        return round_bf16(tensor.float())
