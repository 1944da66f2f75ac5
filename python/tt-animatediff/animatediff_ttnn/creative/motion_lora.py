"""Motion LoRAs: small low-rank updates to the motion modules that teach them one camera move.

AnimateDiff v2 ships eight (`v2_lora_ZoomIn.ckpt` ... in the original release; on the hub as
`guoyww/animatediff-motion-lora-zoom-in` ... with one `diffusion_pytorch_model.safetensors`). Each
holds, for the q/k/v/out projections of both attention layers of every motion module, a pair
`down` (rank x in) and `up` (out x rank); loaded with weight w, a projection W x becomes

    W x + w * up (down x)        i.e. W + w * up @ down, as AnimateDiff merges it

Several LoRAs add up. Key layouts read here (all name the same tensors):
- original:  down_blocks.0.motion_modules.0.temporal_transformer.transformer_blocks.0.attention_blocks.0
             .processor.to_q_lora.down.weight
- hub (diffusers' conversion of the original): unet.down_blocks.0.motion_modules.0.transformer_blocks.0
             .attn1.processor.to_q_lora.down.weight
- PEFT:      unet.down_blocks.0.motion_modules.0.transformer_blocks.0.attn1.to_q.lora_A.weight (lora_B = up)
The update is applied with forward hooks for the duration of a run: the shared weights are never
changed, so the next run without LoRAs is exactly the plain model.
"""

from __future__ import annotations

import contextlib
import re
from pathlib import Path
from typing import Dict, Iterator, List, Sequence, Tuple

import torch

from .lora_spec import CAMERA_MOVES, LORA_FILE, MotionLora, hub_id
from ..models.loading import ModelNotFound, _load
from ..models.sources import SINGLE_FILE_SUFFIXES, is_local
from ..params import ParamError

FIELD = "motion_loras"  # the parameter every refusal here names
WHAT = "AnimateDiff motion LoRA"
# The v2 camera LoRAs were trained on this motion module; the message for a mismatch names it.
TRAINED_FOR = "the AnimateDiff v2 motion module (guoyww/animatediff-motion-adapter-v1-5-2 / mm_sd_v15_v2.ckpt)"


# ---- reading files -------------------------------------------------------------------------------

_RENAMES = [(".temporal_transformer.", "."), (".attention_blocks.0.", ".attn1."), (".attention_blocks.1.", ".attn2.")]
_SUFFIX = re.compile(r"^(?P<module>.+?)\.(?:processor\.(?P<proj>to_q|to_k|to_v|to_out)_lora\.(?P<role>down|up)\.weight"
                     r"|(?P<proj2>to_q|to_k|to_v|to_out(?:\.0)?)\.(?:lora_(?P<ab>A|B)|lora\.(?P<role2>down|up))\.weight"
                     r"|(?P<proj3>to_q|to_k|to_v|to_out(?:\.0)?)\.alpha|processor\.(?P<proj4>to_q|to_k|to_v|to_out)_lora\.alpha)$")

LoraPairs = Dict[str, Tuple[torch.Tensor, torch.Tensor, float]]  # target Linear path -> (down, up, scale)


def lora_pairs(state: Dict[str, torch.Tensor], name: str) -> LoraPairs:
    """Any of the three layouts -> {'down_blocks.0.motion_modules.0.transformer_blocks.0.attn1.to_q': (down, up, scale)}.
    `scale` is alpha / rank where the file stores an alpha, else 1 (the v2 camera LoRAs store none)."""
    parts: Dict[str, Dict[str, object]] = {}
    for key, tensor in state.items():
        key = key[len("unet."):] if key.startswith("unet.") else key
        for old, new in _RENAMES:
            key = key.replace(old, new)
        m = _SUFFIX.match(key)
        if not m or ".motion_modules." not in key:
            raise ParamError(FIELD, f"{name}: key {key!r} is not a motion-module LoRA key (is this a motion LoRA?)")
        proj = m.group("proj") or m.group("proj2") or m.group("proj3") or m.group("proj4")
        target = f"{m.group('module')}.{'to_out.0' if proj.startswith('to_out') else proj}"
        role = m.group("role") or m.group("role2") or {"A": "down", "B": "up"}.get(m.group("ab") or "", "alpha")
        parts.setdefault(target, {})[role] = tensor
    pairs: LoraPairs = {}
    for target, p in parts.items():
        if "down" not in p or "up" not in p:
            raise ParamError(FIELD, f"{name}: {target} has only {sorted(p)} (needs both down and up)")
        down, up = p["down"], p["up"]
        if down.ndim != 2 or up.ndim != 2 or up.shape[1] != down.shape[0]:
            raise ParamError(FIELD, f"{name}: {target} has down {tuple(down.shape)} and up {tuple(up.shape)}, "
                                    "which do not multiply")
        scale = float(p["alpha"]) / down.shape[0] if "alpha" in p else 1.0
        pairs[target] = (down, up, scale)
    if not pairs:
        raise ParamError(FIELD, f"{name}: no LoRA weights in the file")
    return pairs


def lora_file(source: str) -> Path:
    """Where a LoRA's weights are: a file, a folder holding LORA_FILE, or a hub repo (cache first)."""
    source = hub_id(source)
    path = Path(source).expanduser()
    if is_local(source):
        if path.is_dir():
            path = path / LORA_FILE
        if not path.is_file() or (path.suffix.lower() not in SINGLE_FILE_SUFFIXES):
            raise ModelNotFound(WHAT, source, str(path.resolve()), "check the path (a .safetensors/.ckpt file or a "
                                f"folder with {LORA_FILE}); camera moves: {', '.join(CAMERA_MOVES)}",
                                "no such file")
        return path
    from huggingface_hub import hf_hub_download

    return Path(_load(WHAT, source, lambda repo, **kw: hf_hub_download(repo, LORA_FILE, **kw)))


_CACHE: Dict[Tuple[str, float], LoraPairs] = {}


def load_lora_pairs(source: str) -> LoraPairs:
    from ..models.motion_checkpoint import read_checkpoint

    path = lora_file(source)
    key = (str(path.resolve()), path.stat().st_mtime)
    if key not in _CACHE:
        try:
            state = read_checkpoint(path)
        except Exception as exc:  # a truncated download, a file that is not a checkpoint at all
            raise ParamError(FIELD, f"{source}: cannot read {path.name}: {type(exc).__name__}: {exc}") from exc
        if len(_CACHE) >= len(CAMERA_MOVES):  # a few resident LoRAs, not every one ever read
            _CACHE.pop(next(iter(_CACHE)))
        _CACHE[key] = lora_pairs(state, source)
    return _CACHE[key]


# ---- applying ------------------------------------------------------------------------------------


def check_fits(pairs: LoraPairs, adapter, name: str) -> None:
    """Every target must be a linear layer of this adapter with matching sizes: otherwise the LoRA was
    trained for another motion module version, and we say so before anything runs."""
    modules = dict(adapter.named_modules())
    for target, (down, up, _) in pairs.items():
        layer = modules.get(target)
        if layer is None:
            raise ParamError(FIELD, f"{name} is for another motion module version: this adapter has no {target} "
                                    f"(the v2 camera LoRAs fit {TRAINED_FOR})")
        if not isinstance(layer, torch.nn.Linear) or down.shape[1] != layer.in_features or up.shape[0] != layer.out_features:
            raise ParamError(FIELD, f"{name} is for another motion module version: {target} is "
                                    f"{getattr(layer, 'in_features', '?')}->{getattr(layer, 'out_features', '?')} here, "
                                    f"the LoRA is {down.shape[1]}->{up.shape[0]} (the v2 camera LoRAs fit {TRAINED_FOR})")


def resolve_loras(loras: Sequence[MotionLora], adapter) -> List[Tuple[MotionLora, LoraPairs]]:
    """Load and check every LoRA of a run (before any denoising starts)."""
    resolved = []
    for lora in loras:
        pairs = load_lora_pairs(lora.source)
        check_fits(pairs, adapter, lora.source)
        resolved.append((lora, pairs))
    return resolved


def _canonical_modules(module: torch.nn.Module, prefix: str = "") -> Iterator[Tuple[str, torch.nn.Module]]:
    """named_modules() as if diffusers' split-inference wrappers were not there (they add a '.module' level)."""
    from diffusers.pipelines.free_noise_utils import SplitInferenceModule

    for name, child in module.named_children():
        while isinstance(child, SplitInferenceModule):
            child = child.module
        yield prefix + name, child
        yield from _canonical_modules(child, f"{prefix}{name}.")


@contextlib.contextmanager
def motion_loras_applied(unet: torch.nn.Module, resolved: Sequence[Tuple[MotionLora, LoraPairs]]) -> Iterator[None]:
    """Add every LoRA's update to the unet's motion-module projections while the block runs."""
    per_target: Dict[str, List[Tuple[torch.Tensor, torch.Tensor]]] = {}
    for lora, pairs in resolved:
        for target, (down, up, scale) in pairs.items():
            per_target.setdefault(target, []).append((down, up * (lora.weight * scale)))
    modules = dict(_canonical_modules(unet))
    handles = []
    try:
        for target, terms in per_target.items():
            layer = modules[target]
            w = layer.weight
            # all LoRAs of a layer in one pair of matmuls: (x @ [down_1; down_2]^T) @ [w1 up_1, w2 up_2]^T
            down = torch.cat([d for d, _ in terms]).to(w.device, w.dtype)
            up = torch.cat([u for _, u in terms], dim=1).to(w.device, w.dtype)
            handles.append(layer.register_forward_hook(_lora_hook(down, up)))
        yield
    finally:
        for handle in handles:
            handle.remove()


def _lora_hook(down: torch.Tensor, up: torch.Tensor):
    def hook(_module, args, output):
        return output + torch.nn.functional.linear(torch.nn.functional.linear(args[0], down), up)

    return hook
