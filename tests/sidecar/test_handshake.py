"""Start-up, handshake, environment, model status, shutdown: the real process over real pipes."""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import copy_lesson, notorch_python
from .rpc_client import REPO, RpcError

TORCH_LIBS = ("libtorch", "libc10")


def mapped_libraries(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/maps").read_text()
    except OSError:
        pytest.skip("no /proc/<pid>/maps on this system")


def test_handshake_is_fast_and_imports_no_torch(sc_spawn, sc_no_scratchpad):
    client = sc_spawn("--scratchpad", sc_no_scratchpad)
    result = client.handshake()  # how fast: benchmarks (no timing in tests); what it loads: below
    assert result["protocolVersion"] == 1
    assert result["python"]["executable"] == sys.executable
    assert result["capabilities"]["torch"] is True and result["capabilities"]["diffusers"] is True
    assert result["pipelineSource"] == {"kind": "bundle", "path": str(REPO / "python" / "tt-animatediff")}
    maps = mapped_libraries(client.proc.pid)
    assert not any(lib in maps for lib in TORCH_LIBS), "the handshake loaded torch"


@pytest.mark.parametrize("version", ["3.10", "3.11", "3.12"])
def test_handshake_without_torch(sc_spawn, sc_no_scratchpad, version, tmp_path):
    python = notorch_python(version)
    client = sc_spawn("--scratchpad", sc_no_scratchpad, python=python)
    result = client.handshake()  # how fast: benchmarks (no timing in tests); what it loads: below
    assert result["python"]["version"].startswith(version + ".")
    caps = result["capabilities"]
    assert caps == {"torch": False, "diffusers": False, "ttnn": False, "mp4": False}
    assert any(m.startswith("torch (") for m in result["missing"]), result["missing"]

    env = client.request("studio/environment", {}, timeout=60)
    assert env["torch"]["version"] is None and "torch" in env["torch"]["error"]
    assert env["blackhole"] == {"available": False, "deviceCount": 0, "reason": env["blackhole"]["reason"]}
    assert env["blackhole"]["reason"]
    # tt_metal itself needs no torch: the device check and the TT_METAL_HOME check both really ran
    assert "torch" not in env["blackhole"]["reason"], env["blackhole"]
    assert "torch" not in (env["ttMetalHome"]["error"] or ""), env["ttMetalHome"]

    with pytest.raises(RpcError) as err:  # a clear refusal, not a traceback from deep inside
        client.request("studio/generate", {"phase": 2, "params": {"prompt": "x"}, "outputDir": str(tmp_path)})
    assert err.value.code == -32004 and "torch" in err.value.data["reason"]
    assert client.close() == 0


def test_protocol_mismatch_is_refused(sc_bundle):
    with pytest.raises(RpcError) as err:
        sc_bundle.request("studio/handshake", {"protocolVersion": 99, "clientName": "future"})
    assert err.value.code == -32005
    assert err.value.data == {"serverVersion": "0.1.0", "protocolVersion": 1}


def test_environment_reports_this_machine(sc_spawn, sc_models, tmp_path):
    pad = copy_lesson(tmp_path / "pad")
    checkout = tmp_path / "tt-metal"
    checkout.mkdir()
    client = sc_spawn("--scratchpad", str(pad), env={"TT_METAL_HOME": str(checkout)})
    assert client.handshake()["pipelineSource"] == {"kind": "scratchpad", "path": str(pad)}
    env = client.request("studio/environment", {"models": {"sd": sc_models["sd"], "motionAdapter": "/no/such/adapter"}},
                         timeout=120)
    assert env["python"]["executable"] == sys.executable
    assert env["torch"]["version"] == importlib.metadata.version("torch") and env["torch"]["error"] is None
    assert "cpu" in env["torch"]["devices"]
    assert env["diffusers"] == importlib.metadata.version("diffusers")
    assert env["transformers"] == importlib.metadata.version("transformers")
    has_ttnn = getattr(importlib.util.find_spec("ttnn"), "origin", None) is not None  # a plain folder named ttnn is not ttnn
    assert env["ttnn"]["importable"] is has_ttnn
    if not has_ttnn:
        assert env["ttnn"]["error"] and env["ttnn"]["version"] is None
    # no Tenstorrent card on a test machine: either ttnn is absent or it finds no device
    assert env["blackhole"]["available"] is False and env["blackhole"]["deviceCount"] == 0
    assert env["blackhole"]["reason"]
    # tt_metal itself needs no torch: the device check and the TT_METAL_HOME check both really ran
    assert "torch" not in env["blackhole"]["reason"], env["blackhole"]
    assert "torch" not in (env["ttMetalHome"]["error"] or ""), env["ttMetalHome"]
    home = env["ttMetalHome"]
    assert home["value"] == str(checkout) and home["valid"] is False and home["demoPath"] is None
    assert "Stable Diffusion demo" in home["error"]
    assert env["scratchpad"] == {"path": str(pad), "deployed": True, "version": "0.2.0"}
    by_role = {m["role"]: m for m in env["models"]}
    assert by_role["sd"]["available"] is True and by_role["sd"]["kind"] == "local" and by_role["sd"]["sizeBytes"] > 0
    assert by_role["motionAdapter"]["available"] is False and by_role["motionAdapter"]["fix"]


def test_models_status_local_and_hub(sc_bundle, sc_models, sc_env):
    result = sc_bundle.request("studio/modelsStatus", {"models": {"sd": sc_models["sd"],
                                                                  "motionAdapter": sc_models["motion_ckpt"]}})
    assert result["cacheDir"] == sc_env["HF_HUB_CACHE"]
    sd, adapter = result["models"]
    assert (sd["role"], sd["kind"], sd["available"], sd["path"]) == ("sd", "local", True, sc_models["sd"])
    assert adapter["available"] is True and adapter["sizeBytes"] == os.path.getsize(sc_models["motion_ckpt"])
    defaults = sc_bundle.request("studio/modelsStatus", {})["models"]  # the lesson's hub models: not cached here
    assert [m["source"] for m in defaults] == ["CompVis/stable-diffusion-v1-4", "guoyww/animatediff-motion-adapter-v1-5-2"]
    assert all(m["kind"] == "hub" and m["available"] is False and "downloadModels" in m["fix"] for m in defaults)


def test_download_offline_gives_model_not_found(sc_bundle, sc_models):
    with pytest.raises(RpcError) as err:
        sc_bundle.request("studio/downloadModels", {"models": {"sd": "someone/not-cached-model",
                                                               "motionAdapter": sc_models["motion_adapter"]},
                                                    "downloadId": "d1"}, timeout=120)
    assert err.value.code == -32002
    data = err.value.data
    assert data["source"] == "someone/not-cached-model" and "offline" in err.value.message
    assert "HF_HUB_OFFLINE" in data["fix"] and data["lookedIn"]
    # local models need no download: the call reports them available
    ok = sc_bundle.request("studio/downloadModels", {"models": {"sd": sc_models["sd"],
                                                                "motionAdapter": sc_models["motion_adapter"]}})
    assert [m["available"] for m in ok["models"]] == [True, True]


def test_shutdown_then_exit_ends_with_code_zero(sc_spawn, sc_no_scratchpad):
    client = sc_spawn("--scratchpad", sc_no_scratchpad)
    client.handshake()
    assert client.request("shutdown") is None
    client.notify("exit")
    assert client.proc.wait(timeout=20) == 0


def test_closed_stdin_ends_the_process(sc_spawn, sc_no_scratchpad):
    client = sc_spawn("--scratchpad", sc_no_scratchpad)
    client.handshake()
    client.proc.stdin.close()
    assert client.proc.wait(timeout=20) == 0


@pytest.mark.parametrize("version", ["3.10", "3.12"])
def test_every_module_compiles_on_other_pythons(version):
    """The modules a handshake does not import must still parse on 3.10 and 3.12."""
    from .conftest import _find_python

    python = _find_python(version)
    if python is None:
        pytest.skip(f"no python{version} on this machine")
    files = sorted(str(p) for p in (REPO / "python" / "sidecar" / "animatediff_sidecar").glob("*.py"))
    code = "import sys\nfor f in sys.argv[1:]:\n    compile(open(f, encoding='utf-8').read(), f, 'exec')\n"
    result = subprocess.run([python, "-c", code, *files], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr


def test_a_huge_client_name_is_echoed_bounded(sc_spawn, sc_no_scratchpad):
    """The name is logged (studio/log and stderr) so a log says who connected; a 5 MB one is cut."""
    client = sc_spawn("--scratchpad", sc_no_scratchpad)
    name = "n" * 5_000_000
    assert client.request("studio/handshake", {"protocolVersion": 1, "clientName": name})["protocolVersion"] == 1
    [logged] = [m for m in client.of("studio/log") if m["message"].startswith("client: ")]
    assert len(logged["message"]) < 300 and "5000000 characters" in logged["message"], logged["message"][:300]
    client.close()
    [line] = [line for line in client.stderr_lines if "client: " in line]
    assert len(line) < 400
