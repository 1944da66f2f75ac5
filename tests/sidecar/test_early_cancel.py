"""A cancel that arrives before its run is running sticks: over real pipes, the way the extension
sends it. When a user clicks Cancel before the first progress (no run id yet), the extension's
vscode-jsonrpc client sends `$/cancelRequest {id}` for the `studio/generate` it just sent
(extension/src/run/runController.ts `cancel`) and then ignores further clicks. The sidecar is then
still preparing the run (reading the request, sweeping the output folder) and no job exists yet."""

from __future__ import annotations

import json

import pytest

from .conftest import files_in, gen_request

LONG = {"numFrames": 8, "steps": 50}  # minutes if the cancel were lost


def frame(message: dict) -> bytes:
    body = json.dumps(message).encode()
    return b"Content-Length: %d\r\n\r\n" % len(body) + body


@pytest.fixture
def fresh(sc_spawn, sc_no_scratchpad):
    client = sc_spawn("--scratchpad", sc_no_scratchpad)
    client.handshake()
    return client


def assert_cancelled_before_loading(client, request_id, out):
    result = client.wait(request_id, timeout=120)
    assert result["status"] == "cancelled" and result["outputs"] == {}, result
    assert result["timings"]["loadS"] == 0 and result["modelsReloaded"] is False
    assert not [p for p in client.of("studio/progress") if p["runId"] == result["runId"]]  # not even "loading"
    assert files_in(out) == []
    return result


def test_a_cancel_in_the_same_read_as_its_request_sticks(fresh, sc_models, tmp_path):
    """Both frames in one write: the cancel is read before the request's handler has started."""
    out = tmp_path / "out"
    request_id = 500
    generate = {"jsonrpc": "2.0", "id": request_id, "method": "studio/generate",
                "params": gen_request(sc_models, 1, out, params=LONG)}
    cancel = {"jsonrpc": "2.0", "method": "$/cancelRequest", "params": {"id": request_id}}
    fresh.proc.stdin.write(frame(generate) + frame(cancel))
    fresh.proc.stdin.flush()
    assert_cancelled_before_loading(fresh, request_id, out)


def test_a_cancel_sent_right_after_its_request_sticks(fresh, sc_models, tmp_path):
    """Two writes, as vscode-jsonrpc makes them: the cancel lands while the output folder is swept."""
    out = tmp_path / "out"
    request_id = fresh.send("studio/generate", gen_request(sc_models, 1, out, params=LONG))
    fresh.notify("$/cancelRequest", {"id": request_id})
    assert_cancelled_before_loading(fresh, request_id, out)
    # the sidecar is free again, and a cancel for an id it never saw changes nothing
    fresh.notify("$/cancelRequest", {"id": 9999})
    again = fresh.request("studio/generate", gen_request(sc_models, 2, out), timeout=300)
    assert again["status"] == "completed"
