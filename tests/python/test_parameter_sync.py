"""Every copy of the parameter definition (animatediff_ttnn/params.py) matches it: the extension's
generated form definition, the package.json settings, the CLI flags and the device list."""

import dataclasses
import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

from animatediff_ttnn import params
from animatediff_ttnn.params import GENERATION, PARAMETERS, SPEC, GenerationParams, ParamError

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "scripts" / "sync-parameters.py"
EXAMPLES = REPO / "python" / "tt-animatediff" / "examples"


def _load(path: Path, name: str):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_extension_copies_match_params_py():
    proc = subprocess.run([sys.executable, str(SCRIPT), "--check"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


def test_the_check_names_a_limit_changed_in_one_place(monkeypatch):
    sync = _load(SCRIPT, "sync_parameters")
    changed = tuple(dataclasses.replace(p, maximum=65) if p.name == "num_frames" else p for p in PARAMETERS)
    monkeypatch.setattr(params, "PARAMETERS", changed)
    problems = sync.differences()
    assert any("generated/parameters.ts" in line for line in problems), problems
    assert any("animatediff.numFrames" in line and '"maximum": 65' in line for line in problems), problems


@pytest.mark.parametrize("script, run_options", [
    ("generate_baseline.py", ("device", "preset", "dtype", "motion_scale")),
    ("generate_blackhole.py", ("backend", "device", "perturbation_strength", "dtype")),
])
def test_cli_flags_come_from_the_definition(script, run_options):
    from animatediff_ttnn.cli import PRESET_DEFAULTED, base_parser

    phase = 1 if "baseline" in script else 2
    ours = base_parser("x", "out.gif", run_options=run_options, phase=phase)
    actions = {a.dest: a for a in ours._actions}
    ours_ = [p for p in GENERATION if phase in p.phases]  # a script offers its own phase's parameters only
    assert all(p.name not in actions for p in GENERATION if phase not in p.phases)
    for p in ours_:
        assert p.flag in actions[p.name].option_strings
        expected = ",".join(p.initial()) if p.kind == "choices" else p.initial()
        if "preset" in run_options and p.name in PRESET_DEFAULTED:
            expected = None  # the chosen preset's (models/presets.py)
        assert actions[p.name].default == expected, p.name
    for name in run_options:
        assert actions[name].default == SPEC[name].default_for(phase)
    # the script builds exactly this parser: every flag it offers is in its --help
    help_text = subprocess.run([sys.executable, str(EXAMPLES / script), "--help"], capture_output=True, text=True,
                               cwd=EXAMPLES.parent).stdout
    for p in ours_ + [SPEC[n] for n in run_options]:
        assert p.flag in help_text, p.flag


def test_generation_params_fields_and_defaults_are_the_definition():
    fields = {f.name: f for f in dataclasses.fields(GenerationParams)}
    assert list(fields) == [p.name for p in GENERATION] + ["extra"]
    made = GenerationParams(prompt="a cat")
    for p in GENERATION:
        if not p.required:
            assert getattr(made, p.name) == p.default


def test_every_limit_is_enforced_by_the_python_check():
    for p in PARAMETERS:
        if p.kind in ("int", "float"):
            if p.minimum is not None:
                with pytest.raises(ParamError):
                    p.check(p.minimum - 1)
            if p.maximum is not None:
                with pytest.raises(ParamError):
                    p.check(p.maximum + 1)
        if p.kind == "choice":
            with pytest.raises(ParamError):
                p.check("no-such-choice")


def test_device_list_is_the_definition():
    from animatediff_ttnn.runtime.device import DEVICE_CHOICES

    assert DEVICE_CHOICES == SPEC["device"].choices
