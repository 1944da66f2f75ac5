"""`GoldenTtnn`: the real `ttnn` module, except that every op ttnn_temporal calls runs as that op's
own golden function (`ttnn.get_golden_function(op)`, ttnn's torch reference) on torch tensors,
and every result is rounded to bfloat16 where the device would store bfloat16.

This is the one adapter between ttnn_temporal and the CPU. It proves the op sequence, shapes,
padding and masks; it cannot prove memory configs, sharding, program configs or device math
(bfloat8_b, LoFi, bf16 accumulation) - that is validate_on_blackhole.py's job on a card.
"""

from __future__ import annotations

from typing import Any, Callable, Dict, List

import torch

# Every ttnn op ttnn_temporal may call. Anything else it touches (dtypes, layouts, memory configs,
# CoreGrid, host-side weight packing helpers) is passed through from the real ttnn unchanged.
OPS = (
    "concat", "reshape", "permute", "pad", "slice", "group_norm", "layer_norm", "linear", "matmul",
    "add", "multiply", "gelu", "softmax", "typecast", "fill_implicit_tile_padding",
    "transformer.split_query_key_value_and_split_heads", "transformer.concatenate_heads",
)


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
    def __init__(self, ttnn: Any):
        self.calls: List[str] = []  # op names in call order, for the tests to inspect
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
