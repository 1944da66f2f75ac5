"""validate_on_blackhole.py with the real ttnn wheel and no card: ttnn itself finds no chip, and the
script stops there. The mock cluster is left out of its environment: it would pretend a chip is
there (tests/python/test_validate_on_blackhole.py checks the report on Python 3.11, without ttnn)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "python" / "tt-animatediff"


def test_stops_with_ttnn_finding_no_chip(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "TT_METAL_MOCK_CLUSTER_DESC_PATH"}
    env["PYTHONPATH"] = os.pathsep.join([str(PACKAGE), env.get("PYTHONPATH", "")])  # this checkout's package
    done = subprocess.run([sys.executable, "examples/validate_on_blackhole.py", "--out", str(tmp_path)],
                          cwd=PACKAGE, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 1, done.stderr
    assert "Stopped before any check - cannot run here: no Blackhole device: ttnn found no Tenstorrent chip" in done.stderr
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["result"] == "stopped" and report["environment"]["ttnn"] == "0.81.1"
