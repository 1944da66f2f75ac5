#!/usr/bin/env bash
# The benchmark of issue #6: sets up .venv (idempotent, scripts/setup-python.sh), builds the
# random-weight models once into .cache/bench-models/, then runs benchmarks/run.py.
#   scripts/bench.sh                   full-size SD 1.x + v1-5-2 adapter, 8 frames, 256x256, 3 steps (~30 min, ~8 GB RAM)
#   scripts/bench.sh --quick           tiny models, under a minute (for working on the benchmark itself)
#   scripts/bench.sh --write-latest    also update benchmarks/latest.json + latest.md (the committed table)
# Any other option goes to `python -m benchmarks.run` (see --help there).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
scripts/setup-python.sh
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
export PYTHONPATH="$root:$root/python/tt-animatediff:$root/python/sidecar${PYTHONPATH:+:$PYTHONPATH}"
exec .venv/bin/python -m benchmarks.run "$@"
