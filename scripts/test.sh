#!/usr/bin/env bash
# Set up (idempotently) and run every test: Python core, lessons and sidecar (pytest), the
# extension's unit and protocol-sync tests (vitest), then the end-to-end suite in a real VS Code
# (code-server + headless Chromium). README's second command; .ci/run calls exactly this.
# Arguments go to pytest (e.g. scripts/test.sh tests/python -k phase2); without arguments the
# tests/ttnn_port suite also runs, in .venv-ttnn (first creation ~7 min and 5.5 GB, then reused).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
t0=$SECONDS
scripts/setup-python.sh
export HF_HUB_OFFLINE=1
echo "== pytest: core, lessons, sidecar" >&2
.venv/bin/python -m pytest "$@"
if [ $# -eq 0 ]; then
  # The TTNN motion module's CPU checks need the real ttnn wheel (cp310/cp312 only): own venv, own run.
  echo "== pytest: TTNN motion module (golden functions, mock cluster) in .venv-ttnn" >&2
  skip="$(scripts/setup-ttnn-venv.sh)"
  if [[ "$skip" == SKIP:* ]]; then echo "$skip" >&2; else .venv-ttnn/bin/python -m pytest tests/ttnn_port -q; fi
fi
echo "== extension: build, package, unit + protocol tests" >&2
scripts/build-vsix.sh >/dev/null
npm run --silent test
echo "== end to end: real VS Code (code-server) in headless Chromium" >&2
scripts/e2e.sh
echo "== all tests passed in $((SECONDS - t0)) s" >&2
