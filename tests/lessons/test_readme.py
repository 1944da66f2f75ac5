"""README's commands stay true: the quick start is what CI runs, the terminal examples run as written."""

import os
import subprocess
import sys
from pathlib import Path

from lesson_blocks import FENCE

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")
BLOCKS = [(m.group(1).split(), m.group(2)) for m in FENCE.finditer(README)]


def bash_blocks(kind=""):
    return [body for info, body in BLOCKS if info[:1] == ["bash"] and " ".join(info[1:]) == kind]


def run(script: str):
    env = dict(os.environ, HF_HUB_OFFLINE="1", PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    return subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=900)


def test_quick_start_is_two_commands_and_ci_runs_the_second():
    quick = bash_blocks()[0]
    commands = [line.split("#")[0].strip() for line in quick.strip().splitlines()]
    assert commands == ["scripts/start.sh", "scripts/test.sh"]
    assert all(os.access(ROOT / c, os.X_OK) for c in commands)
    ci = [line.strip() for line in (ROOT / ".ci" / "run").read_text().splitlines() if line.strip() and not line.startswith("#")]
    assert "scripts/test.sh" in ci


def test_terminal_examples_run_as_written():
    block = next(b for b in bash_blocks() if "generate_baseline.py" in b)
    proc = run(block)
    assert proc.returncode == 0, proc.stderr[-2000:]
    summaries = [line for line in proc.stdout.splitlines() if line.startswith("4 frames in ")]
    assert len(summaries) == 3  # Phase 1, Phase 2 (torch), Phase 3 (torch)
    for name in ("baseline", "blackhole", "motion"):
        assert (ROOT / "python" / "tt-animatediff" / "output" / f"{name}.gif").is_file()
        assert (ROOT / "python" / "tt-animatediff" / "output" / f"{name}.json").is_file()


def test_download_commands_check_out():
    (block,) = bash_blocks("network")
    script = "\n".join(line.split("#")[0].rstrip() + (" --dry-run" if "--dry-run" not in line else "")
                       for line in block.strip().splitlines())
    proc = run(script)
    assert proc.returncode == 0, proc.stderr
    assert "CompVis/stable-diffusion-v1-4: " in proc.stdout and "animatediff-motion-adapter-v1-5-2: " in proc.stdout


def test_quick_benchmark_command_runs():
    assert "scripts/bench.sh --quick" in README
    proc = run("scripts/bench.sh --quick")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "### Goals" in proc.stdout and "Machine: " in proc.stdout
