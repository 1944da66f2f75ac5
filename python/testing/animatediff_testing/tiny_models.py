"""Tiny random-weight models with the real architectures, written to disk for tests and demos.

    python -m animatediff_testing.tiny_models OUT_DIR

writes OUT_DIR/sd (a diffusers Stable Diffusion folder: UNet, VAE, CLIP text encoder, tokenizer,
scheduler), OUT_DIR/motion-adapter (diffusers MotionAdapter folder) and the same adapter in the
original AnimateDiff key layout as OUT_DIR/mm_tiny.ckpt and OUT_DIR/mm_tiny.safetensors.
For the few-step presets it also writes, under the real file names, tiny AnimateDiff-Lightning
checkpoints (OUT_DIR/lightning/animatediff_lightning_{1,2,4,8}step_diffusers.safetensors), a tiny
AnimateLCM adapter folder with its LoRA (OUT_DIR/animatelcm/), and the same files as a Hugging Face
cache (OUT_DIR/hf-cache: point HF_HUB_CACHE at it and the presets' hub ids resolve offline).
It also writes two motion LoRAs in the v2 camera LoRAs' layouts (OUT_DIR/v2_lora_TinyZoom.ckpt,
OUT_DIR/motion-lora-tiny/).
Everything is built offline from configs; outputs are noise-like pictures, but every code path
(loading, denoising, decoding, export) is the real one. It takes a few seconds on a CPU.
This is a test fixture, not lesson code: it lives in python/testing (package animatediff_testing),
which the repo's .venv installs and the extension never deploys to the scratchpad.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Dict, Optional

import torch

HIDDEN = 32  # CLIP width == UNet cross-attention width
MAX_FRAMES = 16  # the tiny adapter's motion_max_seq_length (the real v1-5-2 adapter has 32)
SD_SCHEDULER_CONFIG = {  # Stable Diffusion 1.4's own scheduler configuration
    "beta_start": 0.00085,
    "beta_end": 0.012,
    "beta_schedule": "scaled_linear",
    "num_train_timesteps": 1000,
    "set_alpha_to_one": False,
    "skip_prk_steps": True,
    "steps_offset": 1,
    "clip_sample": False,
}


def _bytes_to_unicode() -> Dict[int, str]:
    """GPT-2/CLIP byte-level BPE alphabet: printable stand-ins for all 256 bytes."""
    keep = list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAD)) + list(range(0xAE, 0x100))
    mapping, extra = {}, 0
    for b in range(256):
        if b in keep:
            mapping[b] = chr(b)
        else:
            mapping[b] = chr(256 + extra)
            extra += 1
    return mapping


def write_tiny_tokenizer(folder: Path) -> None:
    """A CLIP tokenizer whose vocabulary is just the byte alphabet (no merges): real, offline."""
    folder.mkdir(parents=True, exist_ok=True)
    symbols = list(_bytes_to_unicode().values())
    vocab = {s: i for i, s in enumerate(symbols + [s + "</w>" for s in symbols])}
    vocab["<|startoftext|>"] = len(vocab)
    vocab["<|endoftext|>"] = len(vocab)
    (folder / "vocab.json").write_text(json.dumps(vocab), encoding="utf-8")
    (folder / "merges.txt").write_text("#version: 0.2\n", encoding="utf-8")
    from transformers import CLIPTokenizer

    CLIPTokenizer(str(folder / "vocab.json"), str(folder / "merges.txt"), pad_token="<|endoftext|>",
                  model_max_length=77).save_pretrained(folder)


def _clip_text_encoder(tokenizer, **sizes):
    """A random-weight CLIP text encoder whose vocabulary and special tokens fit `tokenizer`."""
    from transformers import CLIPTextConfig, CLIPTextModel

    return CLIPTextModel(CLIPTextConfig(
        vocab_size=len(tokenizer), max_position_embeddings=77, bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id, **sizes))


def _save_sd_folder(folder: Path, unet, vae, text_encoder, tokenizer) -> Path:
    """Write the parts as a diffusers SD folder with SD 1.4's scheduler and no safety checker."""
    from diffusers import PNDMScheduler, StableDiffusionPipeline

    StableDiffusionPipeline(vae=vae, text_encoder=text_encoder, tokenizer=tokenizer, unet=unet,
                            scheduler=PNDMScheduler.from_config(SD_SCHEDULER_CONFIG), safety_checker=None,
                            feature_extractor=None, requires_safety_checker=False).save_pretrained(folder)
    return folder


def build_tiny_sd(folder: Path, seed: int = 0) -> Path:
    from diffusers import AutoencoderKL, UNet2DConditionModel
    from transformers import CLIPTokenizer

    torch.manual_seed(seed)
    write_tiny_tokenizer(folder / "tokenizer")
    tokenizer = CLIPTokenizer.from_pretrained(folder / "tokenizer")
    unet = UNet2DConditionModel(
        sample_size=8,
        in_channels=4,
        out_channels=4,
        block_out_channels=(32, 64),
        layers_per_block=1,
        down_block_types=("CrossAttnDownBlock2D", "DownBlock2D"),
        up_block_types=("UpBlock2D", "CrossAttnUpBlock2D"),
        cross_attention_dim=HIDDEN,
        attention_head_dim=8,
        norm_num_groups=32,
    )
    # four levels, like SD's VAE, so latents are 1/8 of the image size as in the real model
    vae = AutoencoderKL(
        in_channels=3,
        out_channels=3,
        block_out_channels=(32, 32, 32, 32),
        down_block_types=("DownEncoderBlock2D",) * 4,
        up_block_types=("UpDecoderBlock2D",) * 4,
        latent_channels=4,
        layers_per_block=1,
        norm_num_groups=32,
        sample_size=64,
    )
    text_encoder = _clip_text_encoder(tokenizer, hidden_size=HIDDEN, intermediate_size=64, num_hidden_layers=2,
                                      num_attention_heads=4)
    return _save_sd_folder(folder, unet, vae, text_encoder, tokenizer)


TINY_ADAPTER = dict(block_out_channels=(32, 64), motion_layers_per_block=1, motion_max_seq_length=MAX_FRAMES,
                    motion_num_attention_heads=8, motion_norm_num_groups=32, use_motion_mid_block=True)


def _randomise_proj_out(adapter) -> None:
    # Zero-initialised proj_out (AnimateDiff's init) would make the motion modules a no-op;
    # randomise it so tests notice if the motion weights are dropped or mangled.
    with torch.no_grad():
        for name, param in adapter.named_parameters():
            if "proj_out" in name:
                param.normal_(0, 0.02)


def build_tiny_motion_adapter(folder: Path, seed: int = 1):
    from diffusers import MotionAdapter

    torch.manual_seed(seed)
    adapter = MotionAdapter(**TINY_ADAPTER)
    _randomise_proj_out(adapter)
    adapter.save_pretrained(folder)
    return adapter


def write_lightning_checkpoints(folder: Path, adapter_kwargs: Dict, step_counts=None) -> Dict[int, Path]:
    """AnimateDiff-Lightning-shaped files: a diffusers MotionAdapter state dict per step count, in one
    safetensors file each, named as ByteDance names them (different random weights per file)."""
    from diffusers import MotionAdapter
    from safetensors.torch import save_file

    from animatediff_ttnn.models.presets import LIGHTNING_STEPS, lightning_file

    folder.mkdir(parents=True, exist_ok=True)
    paths = {}
    for steps in step_counts or LIGHTNING_STEPS:
        torch.manual_seed(100 + steps)
        adapter = MotionAdapter(**adapter_kwargs)
        _randomise_proj_out(adapter)
        paths[steps] = folder / lightning_file(steps)
        save_file({k: v.contiguous() for k, v in adapter.state_dict().items()}, str(paths[steps]))
    return paths


def write_kohya_lora(unet, path: Path, rank: int = 4, seed: int = 3) -> Path:
    """A random LoRA for `unet` in the kohya/A1111 layout that LCM-style LoRAs ship in:
    `lora_unet_<module path with _>.lora_down.weight` / `.lora_up.weight` / `.alpha`, covering the
    attention projections, feed-forwards, proj_in/out and the resnets' convolutions."""
    from safetensors.torch import save_file

    generator = torch.Generator().manual_seed(seed)
    state: Dict[str, torch.Tensor] = {}
    for name, module in unet.named_modules():
        if not name.startswith(("down_blocks", "mid_block", "up_blocks")) or "motion_modules" in name:
            continue
        if isinstance(module, torch.nn.Linear):
            down = (rank, module.in_features)
            up = (module.out_features, rank)
        elif isinstance(module, torch.nn.Conv2d) and name.rsplit(".", 1)[-1] in ("conv1", "conv2", "proj_in", "proj_out"):
            down = (rank, module.in_channels, *module.kernel_size)
            up = (module.out_channels, rank, 1, 1)
        else:
            continue
        key = "lora_unet_" + name.replace(".", "_")
        state[key + ".lora_down.weight"] = torch.randn(down, generator=generator) * 0.1
        state[key + ".lora_up.weight"] = torch.randn(up, generator=generator) * 0.1
        state[key + ".alpha"] = torch.tensor(float(rank))
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file(state, str(path))
    return path


def write_hub_cache(cache: Path, repo_id: str, files: Dict[str, Path]) -> Path:
    """Files laid out as huggingface_hub's cache holds a downloaded repo (refs/main -> snapshot)."""
    import shutil

    repo = cache / ("models--" + repo_id.replace("/", "--"))
    commit = "0" * 40  # a made-up revision; the cache only needs refs/main to name the snapshot
    (repo / "refs").mkdir(parents=True, exist_ok=True)
    (repo / "refs" / "main").write_text(commit, encoding="utf-8")
    snapshot = repo / "snapshots" / commit
    for name, source in files.items():
        (snapshot / name).parent.mkdir(parents=True, exist_ok=True)
        if (snapshot / name).exists():
            (snapshot / name).unlink()
        try:
            os.link(source, snapshot / name)  # no second copy of a large file
        except OSError:
            shutil.copyfile(source, snapshot / name)
    return snapshot


def build_tiny_preset_models(out: Path, sd_folder: Path, adapter_kwargs: Optional[Dict] = None,
                             step_counts=None, lora_rank: int = 4) -> Dict[str, Path]:
    """Lightning and AnimateLCM models in the real file names and key layouts, also as an HF cache.
    Tiny by default; `adapter_kwargs={}` gives the full-size (v1-5-2) architecture for benchmarks."""
    from diffusers import MotionAdapter, UNet2DConditionModel

    from animatediff_ttnn.models.presets import ANIMATELCM_LORA_FILE, ANIMATELCM_REPO, LIGHTNING_REPO

    adapter_kwargs = TINY_ADAPTER if adapter_kwargs is None else adapter_kwargs
    lightning = write_lightning_checkpoints(out / "lightning", adapter_kwargs, step_counts)
    lcm = out / "animatelcm"
    torch.manual_seed(7)
    adapter = MotionAdapter(**adapter_kwargs)
    _randomise_proj_out(adapter)
    adapter.save_pretrained(lcm)
    write_kohya_lora(UNet2DConditionModel.from_pretrained(sd_folder, subfolder="unet"), lcm / ANIMATELCM_LORA_FILE,
                     rank=lora_rank)
    cache = out / "hf-cache"
    write_hub_cache(cache, LIGHTNING_REPO, {p.name: p for p in lightning.values()})
    write_hub_cache(cache, ANIMATELCM_REPO, {name: lcm / name for name in
                                             ("config.json", "diffusion_pytorch_model.safetensors", ANIMATELCM_LORA_FILE)})
    return {"lightning": out / "lightning", "animatelcm": lcm, "hf_cache": cache}




def build_tiny_motion_lora(adapter, path: Path, hub_layout: bool = False, rank: int = 2, seed: int = 2) -> Path:
    """A random motion LoRA for `adapter` in the v2 camera LoRAs' key layout: the original
    `v2_lora_*.ckpt` one, or (hub_layout) the hub repos' folder with diffusion_pytorch_model.safetensors."""
    import re

    generator = torch.Generator().manual_seed(seed)
    state = {}
    for name, module in adapter.named_modules():
        m = re.fullmatch(r"(.+\.motion_modules\.\d+)\.(transformer_blocks\.\d+)\.attn([12])\.(to_q|to_k|to_v|to_out)(\.0)?", name)
        if not m or not isinstance(module, torch.nn.Linear):
            continue
        mm, block, attn, proj = m.group(1), m.group(2), int(m.group(3)), m.group(4)
        if hub_layout:
            base = f"unet.{mm}.{block}.attn{attn}.processor.{proj}_lora"
        else:
            base = f"{mm}.temporal_transformer.{block}.attention_blocks.{attn - 1}.processor.{proj}_lora"
        state[f"{base}.down.weight"] = torch.randn(rank, module.in_features, generator=generator) * 0.3
        state[f"{base}.up.weight"] = torch.randn(module.out_features, rank, generator=generator) * 0.3
    path = Path(path)
    if hub_layout:
        from safetensors.torch import save_file

        path.mkdir(parents=True, exist_ok=True)
        save_file(state, str(path / "diffusion_pytorch_model.safetensors"))
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
        torch.save(state, str(path))
    return path


def build_full_size_models(out: Path, seed: int = 0) -> Dict[str, Path]:
    """Random weights in SD 1.4's and the v1-5-2 adapter's exact architectures: the real FLOPs and
    memory, for benchmarks on machines that cannot download the real weights (~6 GB in fp32)."""
    from diffusers import AutoencoderKL, MotionAdapter, UNet2DConditionModel
    from transformers import CLIPTokenizer

    out = Path(out)
    torch.manual_seed(seed)
    write_tiny_tokenizer(out / "sd" / "tokenizer")  # vocabulary size does not change the cost
    tokenizer = CLIPTokenizer.from_pretrained(out / "sd" / "tokenizer")
    unet = UNet2DConditionModel(sample_size=64, cross_attention_dim=768, attention_head_dim=8)  # SD 1.x defaults
    vae = AutoencoderKL(
        block_out_channels=(128, 256, 512, 512),
        down_block_types=("DownEncoderBlock2D",) * 4,
        up_block_types=("UpDecoderBlock2D",) * 4,
        layers_per_block=2,
        latent_channels=4,
        sample_size=512,
    )
    text_encoder = _clip_text_encoder(tokenizer, hidden_size=768, intermediate_size=3072, num_hidden_layers=12,
                                      num_attention_heads=12, hidden_act="quick_gelu")
    _save_sd_folder(out / "sd", unet, vae, text_encoder, tokenizer)
    MotionAdapter().save_pretrained(out / "motion-adapter")  # diffusers' defaults are the v1-5-2 layout
    return {"sd": out / "sd", "motion_adapter": out / "motion-adapter"}


def build_tiny_models(out: Path) -> Dict[str, Path]:
    """Write every tiny model under `out`; returns the paths by role. Safe to call again."""
    from animatediff_ttnn.models.motion_checkpoint import save_original_motion_checkpoint

    out = Path(out)
    paths = {
        "sd": out / "sd",
        "motion_adapter": out / "motion-adapter",
        "motion_ckpt": out / "mm_tiny.ckpt",
        "motion_safetensors": out / "mm_tiny.safetensors",
        "motion_lora_ckpt": out / "v2_lora_TinyZoom.ckpt",
        "motion_lora": out / "motion-lora-tiny",
    }
    build_tiny_sd(paths["sd"])
    adapter = build_tiny_motion_adapter(paths["motion_adapter"])
    save_original_motion_checkpoint(adapter, paths["motion_ckpt"])
    save_original_motion_checkpoint(adapter, paths["motion_safetensors"])
    build_tiny_motion_lora(adapter, paths["motion_lora_ckpt"])
    build_tiny_motion_lora(adapter, paths["motion_lora"], hub_layout=True, seed=3)
    paths.update(build_tiny_preset_models(out, paths["sd"]))
    return paths


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path, help="folder to write the tiny models into")
    parser.add_argument("--full-size", action="store_true",
                        help="random weights at the real SD 1.4 / v1-5-2 sizes instead (benchmarks; ~6 GB)")
    args = parser.parse_args(argv)
    build = build_full_size_models if args.full_size else build_tiny_models
    for role, path in build(args.out).items():
        print(f"{role}: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
