#!/usr/bin/env bash
# Set up (idempotently) and run every test. README's second command; .ci/run calls exactly this.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
scripts/setup-python.sh
export HF_HUB_OFFLINE=1
.venv/bin/python -m pytest "$@"
