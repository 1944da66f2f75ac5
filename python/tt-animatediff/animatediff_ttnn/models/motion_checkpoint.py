"""Original AnimateDiff motion-module checkpoints (`mm_sd_v15_v2.ckpt`) <-> diffusers MotionAdapter.

The original release stores the motion modules under keys such as
`down_blocks.0.motion_modules.0.temporal_transformer.transformer_blocks.0.attention_blocks.0.to_q.weight`;
diffusers names the same tensor `down_blocks.0.motion_modules.0.transformer_blocks.0.attn1.to_q.weight`.
We infer the adapter's configuration from the tensor shapes, so a checkpoint file on disk loads
with no network access and no separate config. What the weights cannot tell (head count, group
count) takes AnimateDiff's published values (8 heads, 32 groups) unless `config_overrides` says otherwise.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Dict, Mapping, Optional

import torch

_TO_ORIGINAL = [  # diffusers fragment -> original fragment, applied in this order
    (".norm1.", ".norms.0."),
    (".norm2.", ".norms.1."),
    (".norm3.", ".ff_norm."),
    (".attn1.", ".attention_blocks.0."),
    (".attn2.", ".attention_blocks.1."),
]


class DiffusersLayoutCheckpoint(ValueError):
    """One file holding the motion modules in diffusers' layout (`...motion_modules.0.transformer_blocks.0
    .attn1...`), not the original's: the format of AnimateDiff-Lightning's checkpoints."""

    def __init__(self, name: str, tensors: int):
        super().__init__(f"{name} holds {tensors} motion-module tensors in diffusers' layout, not the original's")
        self.name, self.tensors = name, tensors


def diffusers_layout_tensors(state: Mapping[str, Any]) -> int:
    """How many motion-module tensors `state` holds in diffusers' layout (0: none, or the original layout)."""
    if any(".temporal_transformer." in key for key in state):
        return 0
    return sum(1 for key in state if ".motion_modules." in key and ".transformer_blocks." in key)


def read_checkpoint(path: Path) -> Dict[str, torch.Tensor]:
    if path.suffix.lower() == ".safetensors":
        from safetensors.torch import load_file

        state = load_file(str(path))
    else:
        state = torch.load(str(path), map_location="cpu", weights_only=True)
    if "state_dict" in state and isinstance(state["state_dict"], Mapping):
        state = state["state_dict"]
    # Some re-saves prefix every key with "module." (DataParallel); strip it.
    return {k[len("module."):] if k.startswith("module.") else k: v for k, v in state.items()}


def original_to_diffusers(state: Mapping[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
    from diffusers.loaders.single_file_utils import convert_animatediff_checkpoint_to_diffusers

    return convert_animatediff_checkpoint_to_diffusers(dict(state))


def diffusers_to_original(state: Mapping[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
    """The inverse mapping; used to build test checkpoints in the original layout."""
    out: Dict[str, torch.Tensor] = {}
    for key, value in state.items():
        key = re.sub(r"(motion_modules\.\d+)\.", r"\1.temporal_transformer.", key)
        if key.endswith(".pos_embed.pe"):
            # the original keeps one sinusoidal table per attention block; diffusers shares one
            base = key[: -len("pos_embed.pe")]
            out[base + "attention_blocks.0.pos_encoder.pe"] = value.clone()
            out[base + "attention_blocks.1.pos_encoder.pe"] = value.clone()
            continue
        for new, old in _TO_ORIGINAL:
            key = key.replace(new, old)
        out[key] = value
    return out


def infer_adapter_config(state: Mapping[str, torch.Tensor]) -> Dict[str, Any]:
    """MotionAdapter kwargs from an original-layout state dict."""
    blocks: Dict[int, int] = {}
    layers_per_block: Dict[int, set] = {}
    transformer_layers = set()
    max_seq = None
    for key, value in state.items():
        m = re.match(r"down_blocks\.(\d+)\.motion_modules\.(\d+)\.temporal_transformer\.(.*)", key)
        if m:
            block, module, rest = int(m.group(1)), int(m.group(2)), m.group(3)
            layers_per_block.setdefault(block, set()).add(module)
            if rest == "proj_in.weight":
                blocks.setdefault(block, value.shape[0])
            t = re.match(r"transformer_blocks\.(\d+)\.", rest)
            if t and block == 0 and module == 0:
                transformer_layers.add(int(t.group(1)))
        if key.endswith("pos_encoder.pe"):
            max_seq = value.shape[1]
    if not blocks or max_seq is None:
        raise ValueError("not an AnimateDiff motion-module checkpoint (no down_blocks.*.motion_modules.* or pos_encoder keys)")
    counts = {len(v) for v in layers_per_block.values()}
    if len(counts) != 1:
        raise ValueError(f"down blocks have different motion-module counts: {sorted(counts)}")
    return {
        "block_out_channels": tuple(blocks[i] for i in sorted(blocks)),
        "motion_layers_per_block": counts.pop(),
        "motion_transformer_layers_per_block": max(transformer_layers) + 1,
        "motion_max_seq_length": int(max_seq),
        "use_motion_mid_block": any(k.startswith("mid_block.") for k in state),
        "motion_num_attention_heads": 8,
        "motion_norm_num_groups": 32,
    }


def load_original_motion_checkpoint(path: Path, config_overrides: Optional[Dict[str, Any]] = None):
    from diffusers import MotionAdapter

    state = read_checkpoint(path)
    if diffusers_layout_tensors(state):  # read as the original layout it would be "no motion_modules keys"
        raise DiffusersLayoutCheckpoint(path.name, diffusers_layout_tensors(state))
    config = {**infer_adapter_config(state), **(config_overrides or {})}
    adapter = MotionAdapter(**config)
    converted = original_to_diffusers(state)
    # pos_embed.pe buffers are recomputed by the module (deterministic sinusoids), not loaded.
    missing, unexpected = adapter.load_state_dict(converted, strict=False)
    missing = [k for k in missing if not k.endswith("pos_embed.pe")]
    if missing or unexpected:
        raise ValueError(f"{path.name} does not match the inferred adapter: missing {missing[:3]}, unexpected {unexpected[:3]}")
    return adapter


def save_original_motion_checkpoint(adapter, path: Path) -> Path:
    state = diffusers_to_original({k: v.detach().cpu().contiguous() for k, v in adapter.state_dict().items()})
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix.lower() == ".safetensors":
        from safetensors.torch import save_file

        save_file(state, str(path))
    else:
        torch.save(state, str(path))
    return path
