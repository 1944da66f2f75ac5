#!/usr/bin/env bash
# Set up (idempotently) and run every test: Python core, lessons and sidecar (pytest), the
# extension's unit and protocol-sync tests (vitest), then the end-to-end suite in a real VS Code
# (code-server + headless Chromium). README's second command; .ci/run calls exactly this.
# Arguments go to pytest (e.g. scripts/test.sh tests/python -k phase2).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
t0=$SECONDS
scripts/setup-python.sh
export HF_HUB_OFFLINE=1
echo "== pytest: core, lessons, sidecar" >&2
.venv/bin/python -m pytest "$@"
echo "== extension: build, package, unit + protocol tests" >&2
scripts/build-vsix.sh >/dev/null
npm run --silent test
echo "== end to end: real VS Code (code-server) in headless Chromium" >&2
scripts/e2e.sh
echo "== all tests passed in $((SECONDS - t0)) s" >&2
