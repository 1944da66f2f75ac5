#!/usr/bin/env bash
# The benchmark of issue #6: sets up .venv (idempotent, scripts/setup-python.sh), builds the
# random-weight models once into .cache/bench-models/, then runs benchmarks/run.py.
#   scripts/bench.sh                   full-size SD 1.x + v1-5-2 adapter, 8 frames, 256x256, 3 steps
#                                      (~11 min on a quiet 2-core machine, ~11 GB RAM; first time +~3 min to build the models)
#   scripts/bench.sh --quick           tiny models, about a minute (for working on the benchmark itself)
#   scripts/bench.sh --experiments --wait-quiet 300   + the candidate optimisations, waiting out other load
#   scripts/bench.sh --write-latest    also update benchmarks/latest.json + latest.md (the committed table)
#   scripts/bench.sh --presets [--quick] [--write-latest]   the presets benchmark (issue 11): 8 frames at 512x512,
#                                      bare diffusers vs Quality vs Fast (Lightning), benchmarks/fast.py (~30 min quiet)
#   scripts/bench.sh --linear-ab [--write-latest]   runtime/cpu_speedups.py's oneDNN linear re-measured against bf16
#                                      (benchmarks/linear_ab.py, ~4 min quiet)
#   scripts/bench.sh --first-run [--quick] [--write-latest] [--write-reference]   the learner's first click (the run
#                                      form's defaults on this hardware, cold, through the sidecar) and how far the
#                                      estimate before each run lands from the truth (benchmarks/first_run.py, ~12 min quiet)
# Any other option goes to `python -m benchmarks.run` (see --help there).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
scripts/setup-python.sh
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
export PYTHONPATH="$root:$root/python/tt-animatediff:$root/python/sidecar${PYTHONPATH:+:$PYTHONPATH}"
if [[ "${1:-}" == "--presets" ]]; then
  shift
  exec .venv/bin/python -m benchmarks.fast "$@"
fi
if [[ "${1:-}" == "--first-run" ]]; then
  shift
  exec .venv/bin/python -m benchmarks.first_run "$@"
fi
if [[ "${1:-}" == "--linear-ab" ]]; then
  shift
  exec .venv/bin/python -m benchmarks.linear_ab "$@"
fi
exec .venv/bin/python -m benchmarks.run "$@"
