#!/usr/bin/env bash
# The end-to-end suite in a real VS Code (code-server) driven by headless Chromium, plus the smoke
# test of scripts/start.sh. Sets up everything it needs first (idempotent, all inside this clone):
# .venv (scripts/setup-python.sh), .tools/ (scripts/setup-vscode.sh), the suite's own interpreter
# .cache/e2e-venv (scripts/setup-studio-venv.sh), the .vsix (scripts/build-vsix.sh) and the tiny
# random-weight models in .cache/tiny-models. Screenshots and logs go to test-artifacts/e2e/.
# Arguments are passed to `node --test` (e.g. --test-name-pattern=Deploy); E2E_FILES picks files.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
t0=$SECONDS
scripts/setup-python.sh
scripts/setup-vscode.sh
py="$(scripts/setup-studio-venv.sh "$root/.cache/e2e-venv")"
vsix="$(scripts/build-vsix.sh)"
models="$root/.cache/tiny-models"
if [ ! -f "$models/sd/model_index.json" ] || [ ! -f "$models/motion-adapter/config.json" ] \
   || [ ! -d "$models/hf-cache/models--ByteDance--AnimateDiff-Lightning" ]; then
  .venv/bin/python -m animatediff_testing.tiny_models "$models" >/dev/null
fi
echo "e2e: set up in $((SECONDS - t0)) s" >&2
rm -rf test-artifacts/e2e
mkdir -p test-artifacts/e2e
export E2E_PYTHON="$py" E2E_VSIX="$vsix" E2E_TINY_MODELS="$models"
# shellcheck disable=SC2086
.tools/node24/bin/node --test --test-concurrency=1 --test-reporter=spec \
  "$@" ${E2E_FILES:-tests/e2e/extension.test.mjs tests/e2e/start-smoke.test.mjs}
echo "e2e: done in $((SECONDS - t0)) s; screenshots in test-artifacts/e2e/" >&2
