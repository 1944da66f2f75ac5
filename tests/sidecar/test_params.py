"""Every kind of invalid parameter gives JSON-RPC InvalidParams naming the field, and the run
never starts: no output, and the sidecar keeps serving."""

from __future__ import annotations

import importlib.util

import pytest

from .conftest import files_in, gen_request
from .rpc_client import RpcError


def _cuda_available() -> bool:
    if importlib.util.find_spec("torch") is None:
        return False
    import torch

    return torch.cuda.is_available()


# (what to change in a valid phase-1 request, expected field, a word the message must contain)
GENERATE_CASES = [
    ({"phase": None}, "phase", "required"),
    ({"phase": 4}, "phase", "one of"),
    ({"phase": "1"}, "phase", "one of"),
    ({"params": None}, "params", "required"),
    ({"params": "a fox"}, "params", "object"),
    ({"params.prompt": None}, "params.prompt", "required"),
    ({"params.prompt": "   "}, "params.prompt", "empty"),
    ({"params.prompt": 5}, "params.prompt", "string"),
    ({"params.negativePrompt": ["x"]}, "params.negativePrompt", "string"),
    ({"params.numFrames": 0}, "params.numFrames", "at least 1"),
    ({"params.numFrames": 2.5}, "params.numFrames", "whole number"),
    ({"params.numFrames": "8"}, "params.numFrames", "whole number"),
    ({"params.numFrames": 257}, "params.numFrames", "at most 256"),
    # above the adapter's window Phase 1 uses context windows; a window above it is refused (tiny adapter: 16)
    ({"params.contextLength": 17}, "params.contextLength", "position table"),
    ({"params.contextStride": 0}, "params.contextStride", "at least 1"),
    ({"params.contextWeighting": "gaussian"}, "params.contextWeighting", "one of"),
    ({"params.promptSchedule": "0: a fox | 99: an owl"}, "params.promptSchedule", "beyond the clip"),
    ({"params.promptSchedule": "3: a fox"}, "params.promptSchedule", "frame 0"),
    ({"params.motionLoras": "zoom-in:9"}, "params.motionLoras", "outside"),
    ({"motionScale": 2.5}, "motionScale", "outside"),
    ({"phase": 2, "backend": "torch", "motionScale": 0.5}, "motionScale", "phase 1"),
    ({"params.steps": 0}, "params.steps", "at least 1"),
    ({"params.steps": 1001}, "params.steps", "at most 1000"),
    ({"params.guidanceScale": "high"}, "params.guidanceScale", "number"),
    ({"params.guidanceScale": 51}, "params.guidanceScale", "0..50"),
    ({"params.seed": -1}, "params.seed", "at least 0"),
    ({"params.width": 65}, "params.width", "multiple of 8"),
    ({"params.height": 4}, "params.height", "at least 8"),
    ({"params.fps": 0}, "params.fps", "at least 1"),
    ({"params.formats": []}, "params.formats", "at least one"),
    ({"params.formats": ["gif", "avi"]}, "params.formats[1]", "one of"),
    ({"params.formats": "gif"}, "params.formats", "list"),
    ({"params.numFrame": 8}, "params.numFrame", "unknown field"),
    ({"stepz": 8}, "stepz", "unknown field"),
    ({"backend": "gpu"}, "backend", "one of"),
    ({"backend": "blackhole"}, "backend", "phases 2 and 3"),
    ({"device": "tpu"}, "device", "one of"),
    ({"models": {"sd": ""}}, "models.sd", "empty"),
    ({"models": {"vae": "x"}}, "models.vae", "unknown field"),
    ({"perturbationStrength": 0.1}, "perturbationStrength", "phase 2"),
    ({"phase": 2, "backend": "torch", "perturbationStrength": 1.5}, "perturbationStrength", "outside"),
    ({"phase": 2, "backend": "torch", "perturbationStrength": float("nan")}, "perturbationStrength", "finite"),
    ({"phase": 2, "backend": "torch", "perturbationStrength": float("inf")}, "perturbationStrength", "finite"),
    ({"params.guidanceScale": float("nan")}, "params.guidanceScale", "finite"),
    ({"params.guidanceScale": float("-inf")}, "params.guidanceScale", "finite"),
    ({"phase": 2, "backend": "torch", "params.numFrames": 10_000}, "params.numFrames", "from scratch"),
    ({"outputDir": "relative/out"}, "outputDir", "absolute"),
    ({"previewEvery": 0}, "previewEvery", "at least 1"),
]
if not _cuda_available():
    GENERATE_CASES.append(({"device": "cuda"}, "device", "no CUDA GPU"))


def apply(request: dict, change: dict) -> dict:
    request = {**request, "params": dict(request["params"])}
    for key, value in change.items():
        target, name = (request["params"], key.split(".", 1)[1]) if key.startswith("params.") else (request, key)
        if value is None:
            target.pop(name, None)
        else:
            target[name] = value
    return request


def test_each_invalid_generate_param_is_named(sc_bundle, sc_models, tmp_path):
    out = tmp_path / "out"
    valid = gen_request(sc_models, 1, out)
    failures = []
    for change, field, word in GENERATE_CASES:
        try:
            sc_bundle.request("studio/generate", apply(valid, change), timeout=120)
        except RpcError as err:
            ok = (err.code == -32602 and err.data["field"] == field and word in err.data["message"]
                  and field in err.message)
            if not ok:
                failures.append((change, err.code, err.data))
        else:
            failures.append((change, "accepted"))
    assert not failures, failures
    assert files_in(out) == []
    # still serving, and the valid request itself runs
    assert sc_bundle.request("studio/generate", valid, timeout=120)["status"] == "completed"


@pytest.mark.parametrize("method, params, field", [
    ("studio/handshake", {"clientName": "x"}, "protocolVersion"),
    ("studio/runs", {"limit": 0}, "limit"),
    ("studio/runs", {"outputDir": 3}, "outputDir"),
    ("studio/cancel", {}, "runId"),
    ("studio/modelsStatus", {"models": "sd"}, "models"),
    ("studio/downloadModels", {"downloadId": ""}, "downloadId"),
    ("studio/export", {"metadataPath": "/x.json"}, "formats"),
    ("studio/generate", [1, 2], "params"),
])
def test_invalid_params_of_other_methods(sc_bundle, method, params, field):
    with pytest.raises(RpcError) as err:
        sc_bundle.request(method, params)
    assert err.value.code == -32602 and err.value.data["field"] == field and err.value.data["message"]
