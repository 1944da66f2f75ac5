"""examples/validate_on_blackhole.py without a card: it stops before any check, says "no Blackhole
device" and why, exits 1 and still writes its report (JSON + markdown). The checks themselves need
a card (tests/ttnn_port covers the same stop with the real ttnn wheel)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "python" / "tt-animatediff"


def run_validation(out: Path, python: str = sys.executable, **env):
    environ = {k: v for k, v in os.environ.items() if k != "TT_METAL_MOCK_CLUSTER_DESC_PATH"}
    environ.update(env)
    return subprocess.run(
        [python, "examples/validate_on_blackhole.py", "--out", str(out)],
        cwd=PACKAGE, env=environ, capture_output=True, text=True, timeout=300,
    )


def test_stops_at_device_detection_with_a_report(tmp_path):
    done = run_validation(tmp_path / "validation")
    assert done.returncode == 1, done.stderr
    assert "Stopped before any check - cannot run here: no Blackhole device:" in done.stderr
    report = json.loads((tmp_path / "validation" / "report.json").read_text())
    assert report["result"] == "stopped" and report["stopped_at"] == "environment"
    assert report["reason"].startswith("no Blackhole device: ") and report["checks"] == []
    assert report["environment"]["device"] in report["reason"]
    assert len(report["environment"]["tt_metal_commit_followed"]) == 40
    markdown = (tmp_path / "validation" / "report.md").read_text()
    assert "# AnimateDiff TTNN validation: stopped" in markdown and "no Blackhole device" in markdown
