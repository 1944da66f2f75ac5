#!/usr/bin/env bash
# A Python environment of its own for running the lesson studio from VS Code: the sidecar's and the
# lesson's dependencies, CPU torch. Usage: scripts/setup-studio-venv.sh [DIR] (default .cache/studio-venv);
# prints the interpreter's path.
#
# Why not the repo's .venv: the extension's Deploy runs `pip install -e <scratchpad>` into the
# interpreter it is set to use, which would re-point .venv's `animatediff_ttnn` from python/tt-animatediff
# to the scratchpad copy, and the Python tests import the bundled package from .venv.
# Idempotent: a stamp records what was installed. torch is the CPU build, pinned, so pip takes it
# from local disk instead of pulling CUDA wheels (TORCH_VERSION overrides).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
venv="${1:-$root/.cache/studio-venv}"
python="${PYTHON:-python3}"
torch_version="${TORCH_VERSION:-2.13.0}"
pkgs=(diffusers transformers pygls msgpack Pillow accelerate safetensors huggingface_hub numpy tqdm
      imageio imageio-ffmpeg setuptools)
want="torch==$torch_version ${pkgs[*]}"
stamp="$venv/.studio-stamp"

if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -x "$venv/bin/python" ]; then
  echo "$venv/bin/python"
  exit 0
fi
mkdir -p "$(dirname "$venv")"
[ -x "$venv/bin/python" ] || "$python" -m venv "$venv"
pip=("$venv/bin/python" -m pip install --disable-pip-version-check -q)
log="$venv.install.log"
if ! { "${pip[@]}" "torch==$torch_version" && "${pip[@]}" "${pkgs[@]}"; } >"$log" 2>&1; then
  cat "$log" >&2
  echo "setup-studio-venv: pip install into $venv failed (log above)" >&2
  exit 1
fi
echo "$want" > "$stamp"
echo "$venv/bin/python"
