"""The sidecar dying or losing its client mid-run leaves no output that looks complete."""

from __future__ import annotations

from pathlib import Path

from .conftest import files_in, gen_request

LONG = {"numFrames": 16, "steps": 30}  # most of the run still ahead when the fault hits


def looks_finished(folder: Path):
    """Files a user (or studio/runs) would take for a result: anything not hidden."""
    return [name for name in files_in(folder) if not name.startswith(".")]


def test_killed_mid_run_leaves_no_complete_output(sc_spawn, sc_models, sc_no_scratchpad, tmp_path):
    out = tmp_path / "out"
    client = sc_spawn("--scratchpad", sc_no_scratchpad)
    client.handshake()
    client.send("studio/generate", gen_request(sc_models, 2, out, params={**LONG, "formats": ["gif", "webp", "png"]}))
    client.wait_for(lambda n: n["method"] == "studio/frameDone" and n["params"]["frame"] == 0, timeout=180)
    client.kill()  # SIGKILL: no cleanup code runs
    assert looks_finished(out) == []  # no GIF, WebP, frames folder or metadata JSON

    other = sc_spawn("--scratchpad", sc_no_scratchpad)
    assert other.request("studio/runs", {"outputDir": str(out)})["runs"] == []


def test_client_gone_mid_run_stops_the_run_and_the_process(sc_spawn, sc_models, sc_no_scratchpad, tmp_path):
    out = tmp_path / "out"
    client = sc_spawn("--scratchpad", sc_no_scratchpad)
    client.handshake()
    client.send("studio/generate", gen_request(sc_models, 2, out, params=LONG))
    client.wait_for(lambda n: n["method"] == "studio/progress" and n["params"]["stage"] == "denoising", timeout=180)
    client.proc.stdin.close()  # the extension host died
    assert client.proc.wait(timeout=30) == 0
    assert files_in(out) == []  # cancelled before export: not even a temp file
