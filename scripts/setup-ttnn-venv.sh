#!/usr/bin/env bash
# Create .venv-ttnn: Python 3.12 (or 3.10) with the real ttnn==0.81.1 wheel, torch and the lesson
# package, for the CPU-side checks of the TTNN motion module (tests/ttnn_port). ttnn ships wheels for
# cp310/cp312 only, so the main .venv (3.11) cannot hold it. Idempotent: a stamp of the inputs makes
# a rerun a no-op. PyPI's torch 2.13.0 for cp312 is a CUDA build (cu130; it runs on the CPU too) and
# no CPU wheel index is configured or reachable here: the first creation took 408 s and 5.5 GB
# (2-core AMD EPYC VM, PyPI over the network); later runs reuse the venv in about a second.
# Exit 0 with "SKIP: ..." on stdout when no 3.10/3.12 interpreter exists (scripts/test.sh then skips).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
venv="$root/.venv-ttnn"
ttnn_version="0.81.1"
torch_version="${TORCH_VERSION:-2.13.0}"

usable() {  # runs, and is 3.10 or 3.12 (a pyenv shim for a version not selected fails here)
  "$1" -c 'import sys; sys.exit(sys.version_info[:2] not in ((3, 10), (3, 12)))' >/dev/null 2>&1
}

find_python() {
  local cand candidates=("${TTNN_PYTHON:-}" python3.12 python3.10)
  if command -v pyenv >/dev/null 2>&1; then
    candidates+=("$(pyenv root)"/versions/3.12*/bin/python3 "$(pyenv root)"/versions/3.10*/bin/python3)
  fi
  for cand in "${candidates[@]}"; do
    [ -n "$cand" ] && usable "$cand" && { command -v "$cand"; return; }
  done
  return 0
}

if [ ! -x "$venv/bin/python" ]; then
  python="$(find_python)"
  if [ -z "$python" ]; then
    echo "SKIP: no Python 3.10 or 3.12 interpreter (python3.12, python3.10, pyenv versions, \$TTNN_PYTHON);" \
      "ttnn==$ttnn_version has wheels for cp310 and cp312 only"
    exit 0
  fi
  "$python" -m venv "$venv" >&2
fi
stamp="$venv/.setup-stamp"
want="$( (cat pyproject.toml python/tt-animatediff/pyproject.toml "$0"; echo "$torch_version") | sha256sum | cut -c1-16)"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  exit 0
fi
pip=("$venv/bin/python" -m pip install --disable-pip-version-check -q)
"${pip[@]}" "torch==$torch_version" "ttnn==$ttnn_version" >&2
"${pip[@]}" -e python/tt-animatediff "pytest>=8" >&2
echo "$want" > "$stamp"
