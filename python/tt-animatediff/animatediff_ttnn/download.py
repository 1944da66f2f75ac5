"""Fetch the lesson's models into the Hugging Face cache (only the files the lesson uses).

    python -m animatediff_ttnn.download                      # both defaults (~6.1 GB)
    python -m animatediff_ttnn.download CompVis/stable-diffusion-v1-4
    python -m animatediff_ttnn.download --preset lightning   # what a preset needs (+ --steps 1/2/4/8)
    python -m animatediff_ttnn.download ByteDance/AnimateDiff-Lightning:animatediff_lightning_8step_diffusers.safetensors
    python -m animatediff_ttnn.download zoom-in pan-left     # motion LoRAs (camera moves), one file each

Interrupted downloads resume where they stopped when run again.
"""

from __future__ import annotations

import argparse
import sys
from typing import Optional

from .models.presets import get_preset
from .models.sources import DEFAULT_MOTION_ADAPTER, DEFAULT_SD_MODEL, hub_cache_dir, patterns_for, preset_targets


def download_model(target: str, revision: Optional[str] = None, tqdm_class=None) -> str:
    from huggingface_hub import snapshot_download

    repo_id = target.partition(":")[0]
    return snapshot_download(repo_id, revision=revision, allow_patterns=patterns_for(target), tqdm_class=tqdm_class)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Download the lesson's models into the Hugging Face cache.")
    parser.add_argument("repos", nargs="*", help="hub ids, repo:file for one file, or camera-move motion LoRAs "
                                                 "(zoom-in, pan-left, ...) "
                                                 f"(default: {DEFAULT_SD_MODEL} {DEFAULT_MOTION_ADAPTER})")
    parser.add_argument("--preset", default=None, help="fetch what a preset needs: quality, lightning, animatelcm")
    parser.add_argument("--steps", type=int, default=None, help="with --preset lightning: which checkpoint (1/2/4/8)")
    parser.add_argument("--revision", default=None)
    parser.add_argument("--dry-run", action="store_true", help="list what would be fetched, fetch nothing")
    args = parser.parse_args(argv)
    if args.preset:
        try:
            if args.steps is not None:
                get_preset(args.preset).check(_steps_only(args.steps))
            args.repos = args.repos + preset_targets(args.preset, args.steps)
        except ValueError as exc:
            parser.error(str(exc))
    args.repos = args.repos or [DEFAULT_SD_MODEL, DEFAULT_MOTION_ADAPTER]
    from .creative.lora_spec import hub_id

    args.repos = [hub_id(repo) for repo in args.repos]  # 'zoom-in' -> guoyww/animatediff-motion-lora-zoom-in
    if args.dry_run:
        for repo in args.repos:
            print(f"{repo.partition(':')[0]}: {' '.join(patterns_for(repo))} -> {hub_cache_dir()}")
        return 0
    for repo in args.repos:
        try:
            path = download_model(repo, args.revision)
        except Exception as exc:  # network, auth, missing repo: say which and where, not a traceback
            print(f"error: could not download {repo} into {hub_cache_dir()}: {type(exc).__name__}: {exc}", file=sys.stderr)
            return 1
        print(f"{repo}: {path}")
    return 0


def _steps_only(steps: int):
    from .params import GenerationParams

    return GenerationParams(prompt="-", steps=steps)


if __name__ == "__main__":
    sys.exit(main())
