"""Where the bring-up check of your ttnn_temporal.py runs (examples/check_ttnn_port.py): a Python that has
the `ttnn` wheel. ttnn publishes wheels for CPython 3.10 and 3.12 only, so the lesson keeps one in the
scratchpad, `.venv-ttnn/`, made by examples/make_ttnn_venv.py. On a Blackhole host tt-metal's own
`python_env` has ttnn already. Plain Python, no torch: the studio's environment step reads it.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import List, Optional

TTNN_VERSION = "0.81.1"
TORCH_VERSION = "2.13.0"  # PyPI's build for Python 3.12 is a CUDA one: it runs on the CPU too (~3 GB to download)
PYTHONS = ("3.12", "3.10")  # the CPython versions ttnn publishes wheels for
VENV = ".venv-ttnn"
CHECK = "examples/check_ttnn_port.py"
MAKE = "examples/make_ttnn_venv.py"


def venv_python(folder: Path) -> Path:
    return Path(folder) / VENV / "bin" / "python"


def has_ttnn() -> bool:
    """Whether this interpreter can import ttnn (found without importing it)."""
    try:
        return importlib.util.find_spec("ttnn") is not None
    except (ImportError, ValueError):
        return False


def check_python(folder: Path) -> Optional[Path]:
    """The interpreter that runs the check for the lesson copy in `folder`: its `.venv-ttnn`, else None."""
    python = venv_python(folder)
    return python if python.is_file() else None


def check_command(folder: Path) -> str:
    """What the learner types in `folder` (the scratchpad) to check their ttnn_temporal.py."""
    return f"{VENV}/bin/python {CHECK}" if check_python(folder) else f"python {MAKE}   # then: {VENV}/bin/python {CHECK}"


def _version_of(python: str) -> Optional[str]:
    try:
        out = subprocess.run([python, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                             capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() if out.returncode == 0 else None


def base_python() -> Optional[str]:
    """A Python 3.12 or 3.10 to make the venv from: this one, pythonX.Y on PATH, or a pyenv version."""
    candidates = [sys.executable] + [shutil.which(f"python{v}") or "" for v in PYTHONS]
    pyenv = Path(os.environ.get("PYENV_ROOT") or Path.home() / ".pyenv") / "versions"  # a shim may not pick it
    for version in PYTHONS:
        candidates += [str(p) for p in sorted(pyenv.glob(f"{version}.*/bin/python{version}"), reverse=True)]
    for candidate in filter(None, candidates):
        if _version_of(candidate) in PYTHONS:
            return candidate
    return None


def make_commands(folder: Path, python: str) -> List[List[str]]:
    """The commands that make `folder`/.venv-ttnn: a venv, torch and ttnn, then this lesson package (and
    with it diffusers, the reference the check compares with)."""
    venv = str(Path(folder) / VENV)
    pip = [str(venv_python(folder)), "-m", "pip", "install", "--disable-pip-version-check"]
    return [[python, "-m", "venv", venv], pip + [f"torch=={TORCH_VERSION}", f"ttnn=={TTNN_VERSION}"],
            pip + ["-e", str(folder)]]
