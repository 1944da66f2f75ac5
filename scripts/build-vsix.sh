#!/usr/bin/env bash
# Install the extension's node dependencies (npm ci) and build + package the .vsix with the
# extension's own npm scripts (`npm run package` -> dist/animatediff-lesson-studio.vsix).
# Idempotent: npm ci is skipped while package-lock.json is unchanged, packaging while no source
# that goes into the .vsix changed. Prints the .vsix path.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
vsix="$root/dist/animatediff-lesson-studio.vsix"

lock_hash="$(sha256sum package-lock.json | cut -c1-16)"
if [ ! -f node_modules/.ci-stamp ] || [ "$(cat node_modules/.ci-stamp)" != "$lock_hash" ]; then
  echo "build-vsix: npm ci" >&2
  npm ci --no-audit --no-fund --loglevel=error >&2
  echo "$lock_hash" > node_modules/.ci-stamp
fi

# Everything tracked or not ignored that can end up in the package.
src_hash="$(git ls-files -co --exclude-standard -- package.json package-lock.json tsconfig.json .vscodeignore \
              extension media lessons python README.md LICENSE* 2>/dev/null \
            | LC_ALL=C sort | while IFS= read -r f; do [ -f "$f" ] && sha256sum "$f"; done | sha256sum | cut -c1-16)"
stamp="$root/dist/.vsix-stamp"
if [ -f "$vsix" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$src_hash" ]; then
  echo "$vsix"
  exit 0
fi
echo "build-vsix: npm run package (log: dist/package.log)" >&2
mkdir -p dist
rm -f "$vsix"
if ! npm run package >dist/package.log 2>&1 || [ ! -f "$vsix" ]; then
  cat dist/package.log >&2
  echo "build-vsix: npm run package failed or did not produce $vsix" >&2
  exit 1
fi
echo "$src_hash" > "$stamp"
echo "$vsix"
