"""Fetch the lesson's models into the Hugging Face cache (only the files the lesson uses).

    python -m animatediff_ttnn.download                      # both defaults (~6.1 GB)
    python -m animatediff_ttnn.download CompVis/stable-diffusion-v1-4

Interrupted downloads resume where they stopped when run again.
"""

from __future__ import annotations

import argparse
import sys
from typing import List, Optional

from .sources import (ADAPTER_DOWNLOAD_PATTERNS, DEFAULT_MOTION_ADAPTER, DEFAULT_SD_MODEL, SD_DOWNLOAD_PATTERNS,
                      hub_cache_dir)


def patterns_for(repo_id: str) -> List[str]:
    """Motion adapters are single-folder repos; everything else is treated as an SD pipeline repo."""
    return ADAPTER_DOWNLOAD_PATTERNS if "motion-adapter" in repo_id or "animatediff" in repo_id.lower() else SD_DOWNLOAD_PATTERNS


def download_model(repo_id: str, revision: Optional[str] = None, tqdm_class=None) -> str:
    from huggingface_hub import snapshot_download

    return snapshot_download(repo_id, revision=revision, allow_patterns=patterns_for(repo_id), tqdm_class=tqdm_class)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Download the lesson's models into the Hugging Face cache.")
    parser.add_argument("repos", nargs="*", default=[DEFAULT_SD_MODEL, DEFAULT_MOTION_ADAPTER])
    parser.add_argument("--revision", default=None)
    parser.add_argument("--dry-run", action="store_true", help="list what would be fetched, fetch nothing")
    args = parser.parse_args(argv)
    if args.dry_run:
        for repo in args.repos:
            print(f"{repo}: {' '.join(patterns_for(repo))} -> {hub_cache_dir()}")
        return 0
    for repo in args.repos:
        try:
            path = download_model(repo, args.revision)
        except Exception as exc:  # network, auth, missing repo: say which and where, not a traceback
            print(f"error: could not download {repo} into {hub_cache_dir()}: {type(exc).__name__}: {exc}", file=sys.stderr)
            return 1
        print(f"{repo}: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
