"""The bring-up exercise of lesson 09, as a learner does it: in a copy of the lesson package (their
scratchpad), `python examples/check_ttnn_port.py` with a ttnn Python checks *that copy's* ttnn_temporal.py;
breaking a permute or dropping the frame mask there fails it, visibly, by case. (In .venv-ttnn: its
`sys.executable` is the learner's `.venv-ttnn/bin/python`.)"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

BUNDLE = Path(__file__).resolve().parents[2] / "python" / "tt-animatediff"
MASK = "scores = ttnn.add(ttnn.multiply(scores, self.scale), mask)"
PERMUTE = "x = ttnn.permute(x, (0, 2, 1, 3), memory_config=dram)  # (B, HW, F, C)"
# Lesson 09 tells the learner to break these lines; its excerpts keep them in ttnn_temporal.py.
BREAKS = {"the frame mask dropped": (MASK, "scores = ttnn.multiply(scores, self.scale)"),
          "a permute broken": (PERMUTE, "x = ttnn.permute(x, (0, 1, 2, 3), memory_config=dram)  # (B, HW, F, C)")}


@pytest.fixture()
def scratchpad(tmp_path):
    return Path(shutil.copytree(BUNDLE, tmp_path / "tt-animatediff",
                                ignore=shutil.ignore_patterns("output", "*.egg-info", "__pycache__")))


def check(folder: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}  # nothing but the copy's own package
    return subprocess.run([sys.executable, "examples/check_ttnn_port.py"], cwd=folder, env=env, capture_output=True,
                          text=True, timeout=1800)


def test_the_copy_as_shipped_passes_and_it_is_the_copy_that_ran(scratchpad):
    proc = check(scratchpad)
    assert proc.returncode == 0, proc.stdout + proc.stderr[-3000:]
    assert f"Checking {scratchpad / 'animatediff_ttnn' / 'ttnn_temporal.py'}" in proc.stdout
    assert proc.stdout.count("PASS  ") == 4 and "FAIL" not in proc.stdout


@pytest.mark.parametrize("what", sorted(BREAKS))
def test_breaking_the_copy_fails_the_check_visibly(scratchpad, what):
    line, broken = BREAKS[what]
    source = scratchpad / "animatediff_ttnn" / "ttnn_temporal.py"
    text = source.read_text()
    assert text.count(line) == 1, f"lesson 09's exercise line moved: {line!r}"
    source.write_text(text.replace(line, broken))
    proc = check(scratchpad)
    assert proc.returncode == 2, proc.stdout + proc.stderr[-3000:]
    assert "FAIL  C=64 4x4 F=5" in proc.stdout  # the padded frames: caught by both breaks
    assert "Your ttnn_temporal.py differs from the motion module" in proc.stdout
