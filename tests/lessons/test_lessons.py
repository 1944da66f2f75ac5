"""The lesson text is part of the product: its commands run, its links resolve, its figures say where."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from lesson_blocks import blocks, command_links, unlabelled_figures

ROOT = Path(__file__).resolve().parents[2]
LESSONS = ROOT / "lessons"
BUNDLE = ROOT / "python" / "tt-animatediff"
ALL_BLOCKS = blocks(LESSONS)
# VS Code's own commands that lessons may link to (they resolve in every VS Code).
BUILTIN_COMMANDS = {"workbench.action.openSettings"}


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory):
    """A fresh HOME with the package deployed where the lesson says, and the tiny models as defaults.
    No lesson builds models: they come from the test fixtures (animatediff_testing, python/testing),
    which are not part of the deployed package."""
    from animatediff_ttnn.creative.motion_lora import hub_id
    from animatediff_testing.tiny_models import build_tiny_models, write_hub_cache

    home = tmp_path_factory.mktemp("home")
    models = build_tiny_models(home / "tiny-models")
    hub_cache = models["hf_cache"]  # the presets' tiny files are there already
    for move in ("zoom-in", "pan-left"):  # the lesson's camera LoRAs, "downloaded": tiny ones in the real layout
        write_hub_cache(hub_cache, hub_id(move), {"diffusion_pytorch_model.safetensors":
                                                 models["motion_lora"] / "diffusion_pytorch_model.safetensors"})
    shutil.copytree(BUNDLE, home / "tt-scratchpad" / "tt-animatediff",
                    ignore=shutil.ignore_patterns("__pycache__", "output", "*.egg-info"))
    env = dict(os.environ)
    env.update(
        HOME=str(home),
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",  # `python` = this interpreter
        HF_HUB_OFFLINE="1",
        ANIMATEDIFF_SD_MODEL=str(models["sd"]),
        ANIMATEDIFF_MOTION_ADAPTER=str(models["motion_adapter"]),
        HF_HUB_CACHE=str(models["hf_cache"]),  # the presets' hub ids (Lightning, AnimateLCM) resolve to tiny files
    )
    env.pop("TT_METAL_HOME", None)
    return home, env


def run_bash(script: str, sandbox):
    home, env = sandbox
    return subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=home, env=env, capture_output=True,
                          text=True, timeout=600)


def with_dry_run(block) -> str:
    lines = block.body.rstrip().splitlines()
    if block.kind == "dry-run":
        lines[-1] += " --dry-run"
    else:
        lines = [line + " --dry-run" if line.lstrip().startswith("python") else line for line in lines]
    return "\n".join(lines)


def test_there_are_runnable_blocks():
    kinds = {(b.lang, b.kind) for b in ALL_BLOCKS}
    assert ("bash", "") in kinds and ("bash", "hardware") in kinds
    assert all(b.lang in ("bash", "python", "text") for b in ALL_BLOCKS), "unknown block language"
    known = {"", "dry-run", "network", "hardware", "ttnn"}
    assert all(b.kind in known or b.kind.startswith("excerpt=") for b in ALL_BLOCKS), "unknown block kind"


@pytest.mark.parametrize("block", [b for b in ALL_BLOCKS if b.lang == "bash" and b.kind == ""], ids=lambda b: b.id)
def test_bash_block_runs_as_written(block, sandbox):
    proc = run_bash(block.body, sandbox)
    assert proc.returncode == 0, proc.stderr[-2000:]
    scratchpad = sandbox[0] / "tt-scratchpad" / "tt-animatediff"
    for word in block.body.split():
        if word.startswith("output/") and word.endswith(".gif"):
            assert (scratchpad / word).is_file(), word
            assert gallery_gif(scratchpad / word) == scratchpad / word, f"the outputs gallery cannot show {word}"


def gallery_gif(gif: Path):
    """The GIF the outputs gallery shows for the run that wrote `gif`: its metadata JSON read by the
    sidecar's `studio/runs` reader (run paths resolve against the JSON's folder, not the CLI's)."""
    from animatediff_sidecar.protocol import OUTPUT_FORMATS
    from animatediff_sidecar.runs import read_run

    shown = read_run(gif.with_suffix(".json"), OUTPUT_FORMATS).outputs.get("gif")
    return Path(shown) if shown and Path(shown).is_file() else None


@pytest.mark.parametrize("block", [b for b in ALL_BLOCKS if b.kind in ("dry-run", "network")], ids=lambda b: b.id)
def test_install_and_download_blocks_check_out(block, sandbox):
    proc = run_bash(with_dry_run(block), sandbox)
    assert proc.returncode == 0, proc.stderr[-2000:]


@pytest.mark.parametrize("block", [b for b in ALL_BLOCKS if b.kind == "hardware"], ids=lambda b: b.id)
def test_hardware_blocks_fail_cleanly_without_a_card(block, sandbox):
    proc = run_bash(block.body, sandbox)
    assert proc.returncode == 1
    assert "cannot run here" in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.parametrize("block", [b for b in ALL_BLOCKS if b.kind == "ttnn"], ids=lambda b: b.id)
def test_ttnn_blocks_run_with_the_ttnn_venv(block, sandbox):
    """The bring-up check as the learner runs it, in the scratchpad whose .venv-ttnn they made."""
    venv = ROOT / ".venv-ttnn"
    if not (venv / "bin" / "python").exists():
        pytest.skip("no .venv-ttnn here: scripts/setup-ttnn-venv.sh makes it (Python 3.10/3.12)")
    link = sandbox[0] / "tt-scratchpad" / "tt-animatediff" / ".venv-ttnn"
    if not link.exists():
        link.symlink_to(venv.resolve() if venv.is_symlink() else venv, target_is_directory=True)
    proc = run_bash(block.body, sandbox)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert "All cases passed" in proc.stdout


@pytest.mark.parametrize("block", [b for b in ALL_BLOCKS if b.kind.startswith("excerpt=")], ids=lambda b: b.id)
def test_python_excerpts_are_in_the_code(block):
    source = (BUNDLE / block.kind.split("=", 1)[1]).read_text(encoding="utf-8")
    for line in block.body.strip().splitlines():
        assert line in source, f"{line!r} is not in {block.kind}"


@pytest.mark.parametrize("block", [b for b in ALL_BLOCKS if b.lang == "text"], ids=lambda b: b.id)
def test_file_trees_name_real_files(block):
    names = [w for w in block.body.split() if w.endswith((".py", ".toml"))]
    assert names
    present = {p.name for p in BUNDLE.rglob("*") if p.is_file()}
    assert [n for n in names if n not in present] == []


def test_every_command_link_is_contributed():
    manifest = ROOT / "package.json"
    if not manifest.exists():
        pytest.skip("package.json (the VS Code extension manifest) is not in this checkout yet")
    contributed = {c["command"] for c in json.loads(manifest.read_text())["contributes"]["commands"]}
    links = command_links(LESSONS)
    assert links, "the lessons link no commands"
    unknown = {c: where for c, where in links.items() if c not in contributed | BUILTIN_COMMANDS}
    assert unknown == {}


def test_walkthrough_steps_show_lesson_files():
    manifest = ROOT / "package.json"
    if not manifest.exists():
        pytest.skip("package.json (the VS Code extension manifest) is not in this checkout yet")
    walkthroughs = json.loads(manifest.read_text())["contributes"]["walkthroughs"]
    shown = [step["media"]["markdown"] for w in walkthroughs for step in w["steps"] if "markdown" in step.get("media", {})]
    assert shown and all((ROOT / path).is_file() for path in shown)
    assert {Path(p).name for p in shown} == {p.name for p in LESSONS.glob("*.md")}


def test_every_performance_figure_names_its_hardware():
    assert unlabelled_figures(LESSONS) == []
