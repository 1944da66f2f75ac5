#!/usr/bin/env bash
# Create .venv with everything the Python side needs. Idempotent: re-running is a no-op when
# nothing changed. torch is pinned to the CPU build that these machines install from local disk;
# on another machine install the torch you want into .venv first and this script keeps it.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
python="${PYTHON:-python3}"
venv="$root/.venv"
stamp="$venv/.setup-stamp"
want="$(cat pyproject.toml python/tt-animatediff/pyproject.toml python/testing/pyproject.toml | sha256sum | cut -c1-16)"

if [ ! -x "$venv/bin/python" ]; then
  "$python" -m venv "$venv"
fi
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  exit 0
fi
pip=("$venv/bin/python" -m pip install --disable-pip-version-check -q)
if ! "$venv/bin/python" -c "import torch" 2>/dev/null; then
  "${pip[@]}" "torch==${TORCH_VERSION:-2.13.0}"
fi
# python/testing: the tiny-model fixtures (animatediff_testing), kept out of the deployed lesson package.
"${pip[@]}" -e "python/tt-animatediff[mp4]" -e python/testing -e ".[dev]"
echo "$want" > "$stamp"
