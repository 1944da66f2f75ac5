#!/usr/bin/env bash
# README's first command. Until the VS Code extension lands, it sets up the Python side and runs
# Phase 1 and Phase 2 on tiny random-weight models, printing where the GIFs are.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
scripts/setup-python.sh
models="$root/.cache/tiny-models"
[ -f "$models/sd/model_index.json" ] || .venv/bin/python -m animatediff_ttnn.tiny_models "$models"
cd python/tt-animatediff
../../.venv/bin/python examples/generate_baseline.py --model "$models/sd" --motion-adapter "$models/motion-adapter" --frames 4 --steps 2 --width 64 --height 64
../../.venv/bin/python examples/generate_blackhole.py --model "$models/sd" --backend torch --frames 4 --steps 2 --width 64 --height 64
