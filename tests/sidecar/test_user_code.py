"""The user's scratchpad copy: edits picked up between runs without reloading models, prints kept
off the protocol stream, and exceptions reported with the user's file and line."""

from __future__ import annotations

import base64
import io
import json
import os
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from .conftest import copy_lesson, files_in, gen_request
from .rpc_client import RpcError

PKG = "animatediff_ttnn"


@pytest.fixture(scope="module")
def pad(tmp_path_factory) -> Path:
    return copy_lesson(tmp_path_factory.mktemp("scratchpad") / "tt-animatediff")


@pytest.fixture(scope="module")
def client(sc_spawn, pad):
    client = sc_spawn("--scratchpad", str(pad))
    assert client.handshake()["pipelineSource"] == {"kind": "scratchpad", "path": str(pad)}
    return client


@contextmanager
def edited(path: Path, old: str, new: str):
    """Replace `old` (which must be there once) by `new` in a file; put the file back afterwards."""
    original = path.read_text(encoding="utf-8")
    assert original.count(old) == 1, f"{old!r} not found exactly once in {path}"
    path.write_text(original.replace(old, new), encoding="utf-8")
    try:
        yield
    finally:
        path.write_text(original, encoding="utf-8")


def line_of(path: Path, text: str) -> int:
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if text in line:
            return number
    raise AssertionError(f"{text!r} not in {path}")


def run(client, models, out, phase=2, timeout=180, **params):
    return client.request("studio/generate", gen_request(models, phase, out, **params), timeout=timeout)


def test_scratchpad_edit_is_used_and_models_stay_loaded(client, sc_models, pad, tmp_path):
    out = tmp_path / "out"
    first = run(client, sc_models, out)
    meta = json.loads(Path(first["metadataPath"]).read_text())
    assert meta["perturbation_strength"] == 0.05 and meta["pipeline_source"]["path"] == str(pad)
    ttnn_pipeline = pad / PKG / "ttnn_pipeline.py"
    with edited(ttnn_pipeline, "PERTURBATION_STRENGTH = 0.05", "PERTURBATION_STRENGTH = 0.2"):
        second = run(client, sc_models, out)
    meta = json.loads(Path(second["metadataPath"]).read_text())
    assert meta["perturbation_strength"] == 0.2  # the edit was used ...
    assert f"{PKG}.ttnn_pipeline" in second["reloadedModules"]
    assert second["modelsReloaded"] is False and meta["models_reloaded"] is False  # ... the models were not reloaded
    assert meta["timings"]["load_s"] < 0.05 and second["timings"]["loadS"] < 0.05
    third = run(client, sc_models, out)  # the file is back as it was: reloaded once more, then stable
    assert json.loads(Path(third["metadataPath"]).read_text())["perturbation_strength"] == 0.05
    assert run(client, sc_models, out)["reloadedModules"] == []


def decode(b64: str) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(b64))).convert("RGB"))


def test_editing_a_module_reloads_the_modules_that_import_from_it(client, sc_models, pad, tmp_path):
    """ttnn_pipeline does `from .runtime.previews import latents_to_previews`: editing previews.py must
    reach it, so both are re-imported, deps first."""
    out = tmp_path / "out"
    before = run(client, sc_models, out)
    assert max(decode(p["frames"][0]).max() for p in client.of("studio/preview", before["runId"])) > 0
    with edited(pad / PKG / "runtime" / "previews.py", "pixels = ((rgb + 1.0) * 127.5)", "pixels = (rgb * 0.0)"):
        after = run(client, sc_models, out)
    order = after["reloadedModules"]
    assert f"{PKG}.runtime.previews" in order and f"{PKG}.ttnn_pipeline" in order
    assert order.index(f"{PKG}.runtime.previews") < order.index(f"{PKG}.ttnn_pipeline")
    previews = client.of("studio/preview", after["runId"])
    assert previews and all(decode(f).max() == 0 for p in previews for f in p["frames"])  # black: the edit ran
    assert after["modelsReloaded"] is False


def test_an_edited_motion_module_is_used_by_the_next_phase3_run(client, sc_models, pad, tmp_path):
    """Phase 3's UNet backend is built once and handed from run to run (a TTNN UNet takes minutes to
    build); an edit to the code it is made of (temporal_module.py) must make the next run build it anew."""
    out = tmp_path / "out"
    assert run(client, sc_models, out, phase=3)["status"] == "completed"  # the backend is built
    target = pad / PKG / "temporal_module.py"
    anchor = "        x = self.proj_in(x)\n"
    assert anchor in target.read_text(encoding="utf-8")
    with edited(target, anchor, '        raise RuntimeError("edited motion module ran")\n' + anchor):
        with pytest.raises(RpcError) as err:
            run(client, sc_models, out, phase=3)
    assert err.value.code == -32003 and err.value.data["message"] == "edited motion module ran"
    assert err.value.data["file"] == os.path.realpath(target)
    assert run(client, sc_models, out, phase=3)["status"] == "completed"  # the file is back: runs again


NOISY = '''
    import subprocess as _sp, sys as _sys, warnings as _warnings
    from tqdm import tqdm as _tqdm
    print("USER PRINT " * 20)
    _sys.stdout.write("partial line without newline ")
    _sys.stdout.buffer.write(b"BYTES TO STDOUT\\n")
    os.write(1, b"RAW WRITE TO FD 1\\n")
    _sp.run(["echo", "CHILD PROCESS ON STDOUT"], check=True)
    for _ in _tqdm(range(3), file=_sys.stdout, desc="USER BAR"):
        pass
    _warnings.warn("USER WARNING")
    print("Content-Length: 5\\r\\n\\r\\n{}")
'''


def test_prints_from_user_code_and_libraries_never_reach_the_protocol(client, sc_models, pad, tmp_path):
    out = tmp_path / "out"
    target = pad / PKG / "ttnn_pipeline.py"
    marker = "        from diffusers import PNDMScheduler\n"
    with edited(target, marker, marker + "        import os\n" + NOISY.replace("\n    ", "\n        ")):
        result = run(client, sc_models, out)
    assert result["status"] == "completed"
    assert client.corruption == []  # every byte on stdout was a well-formed protocol frame
    logs = client.of("studio/log")
    info = [log["message"] for log in logs if log["level"] == "info"]
    warnings = [log["message"] for log in logs if log["level"] == "warning"]
    assert any("USER PRINT" in m for m in info)
    assert any("BYTES TO STDOUT" in m for m in info)
    assert any(m.startswith("USER BAR") and "3/3" in m for m in info)  # one line per finished bar
    assert any("USER WARNING" in m for m in warnings)
    stderr = "\n".join(client.stderr_lines)
    assert "RAW WRITE TO FD 1" in stderr and "CHILD PROCESS ON STDOUT" in stderr and "USER PRINT" in stderr
    assert client.request("studio/handshake", {"protocolVersion": 1})["protocolVersion"] == 1  # stream still in sync


def test_exception_in_user_code_names_file_and_line_then_next_run_works(client, sc_models, pad, tmp_path):
    out = tmp_path / "out"
    target = pad / PKG / "ttnn_pipeline.py"
    first_line = '    generator = torch.Generator("cpu").manual_seed(seed)\n'
    with edited(target, first_line, '    raise ValueError("lesson bug: boom")\n' + first_line):
        line = line_of(target, "lesson bug: boom")
        with pytest.raises(RpcError) as err:
            run(client, sc_models, out)
    assert err.value.code == -32003
    data = err.value.data
    assert data["file"] == os.path.realpath(target) and data["line"] == line
    assert data["type"] == "ValueError" and data["message"] == "lesson bug: boom"
    assert "frame_noise" in data["traceback"] and "ttnn_pipeline.py line" in err.value.message
    assert files_in(out) == []
    assert run(client, sc_models, out)["status"] == "completed"  # the same process goes on


def test_syntax_error_in_user_code_is_reported_then_fixed(client, sc_models, pad, tmp_path):
    out = tmp_path / "out"
    run(client, sc_models, out)  # make sure ttnn_pipeline is imported, so the edit means a reload
    target = pad / PKG / "ttnn_pipeline.py"
    with edited(target, "PERTURBATION_STRENGTH = 0.05", "PERTURBATION_STRENGTH = = 0.05"):
        line = line_of(target, "PERTURBATION_STRENGTH = = 0.05")
        with pytest.raises(RpcError) as err:
            run(client, sc_models, out)
        assert err.value.code == -32003 and err.value.data["type"] == "SyntaxError"
        assert err.value.data["file"] == os.path.realpath(target) and err.value.data["line"] == line
        with pytest.raises(RpcError):  # still broken: reported again, not silently skipped
            run(client, sc_models, out)
    fixed = run(client, sc_models, out)
    assert fixed["status"] == "completed" and f"{PKG}.ttnn_pipeline" in fixed["reloadedModules"]
    assert fixed["modelsReloaded"] is False


def test_user_code_calling_sys_exit_does_not_end_the_sidecar(client, sc_models, pad, tmp_path):
    target = pad / PKG / "ttnn_pipeline.py"
    marker = "        from diffusers import PNDMScheduler\n"
    with edited(target, marker, marker + "        import sys\n        sys.exit(3)\n"):
        with pytest.raises(RpcError) as err:
            run(client, sc_models, tmp_path / "out")
    assert err.value.code == -32003 and err.value.data["type"] == "SystemExit"
    assert run(client, sc_models, tmp_path / "out")["status"] == "completed"
