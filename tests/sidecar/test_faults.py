"""The sidecar dying, losing its client, running out of disk or being cancelled mid-export leaves no
output that looks complete; output-folder problems are reported as such."""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from animatediff_testing.crash import crash_during_commit

from .conftest import copy_lesson, files_in, gen_request
from .rpc_client import RpcError

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


def test_output_folder_problem_is_its_own_error_before_any_model_work(sc_bundle, sc_models, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    request = gen_request(sc_models, 2, blocker / "out")
    request["models"] = {"sd": str(tmp_path / "no-such-model")}  # loading first would say ModelNotFound
    with pytest.raises(RpcError) as err:
        sc_bundle.request("studio/generate", request, timeout=120)
    assert err.value.code == -32006, err.value
    assert err.value.data["path"].startswith(str(blocker)) and err.value.data["errno"] == "ENOTDIR"
    assert err.value.data["reason"] == os.strerror(errno.ENOTDIR)


FILE_SIZE_LIMIT = """#!{python}
import os, resource, sys
resource.setrlimit(resource.RLIMIT_FSIZE, ({limit}, {limit}))  # writes past it fail with EFBIG, like a full disk
os.execv(sys.executable, [sys.executable, *sys.argv[1:]])
"""


def test_disk_full_mid_export_leaves_nothing_and_says_where(sc_spawn, sc_models, sc_no_scratchpad, tmp_path):
    """The GIF (17 kB) and PNG frames (10 kB each) fit, the WebP (34 kB) does not."""
    wrapper = tmp_path / "python-limited"
    wrapper.write_text(FILE_SIZE_LIMIT.format(python=sys.executable, limit=24_000))
    wrapper.chmod(0o755)
    out = tmp_path / "out"
    client = sc_spawn("--scratchpad", sc_no_scratchpad, python=str(wrapper))
    client.handshake()
    with pytest.raises(RpcError) as err:
        client.request("studio/generate", gen_request(sc_models, 2, out, params={"formats": ["gif", "png", "webp"]}),
                       timeout=300)
    assert err.value.code == -32006, err.value
    assert err.value.data["errno"] == "EFBIG" and err.value.data["reason"] == os.strerror(errno.EFBIG)
    assert err.value.data["path"] == str(out)  # the output folder, not "." (the write names no file)
    assert Path(err.value.data["file"]).name.endswith(".webp"), err.value.data  # and the file that failed
    assert files_in(out) == []  # no GIF, no frames, no temp file
    assert client.request("studio/runs", {"outputDir": str(out)})["runs"] == []


@pytest.fixture
def mount_tmpfs(tmp_path):
    """Real small or read-only file systems (tmpfs): needs root and mount rights, else skipped."""
    mounted = []

    def mount(name: str, options: str) -> Path:
        folder = tmp_path / name
        folder.mkdir()
        made = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(folder)], capture_output=True,
                              text=True)
        if made.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here: {made.stderr.strip() or made.returncode}")
        mounted.append(folder)
        return folder

    yield mount
    for folder in mounted:
        subprocess.run(["umount", str(folder)], check=True)


@pytest.fixture
def read_only_mount(mount_tmpfs):
    return mount_tmpfs("ro", "ro,size=1m")


def test_no_room_for_the_commit_journal_leaves_nothing(sc_bundle, sc_models, mount_tmpfs, tmp_path):
    """Room for the GIF and the metadata JSON, not for the journal of the renames: the run fails as a
    full disk, and no 0-byte journal stays behind until the next start."""
    request = gen_request(sc_models, 2, tmp_path / "sizes")
    sizes = sc_bundle.request("studio/generate", request, timeout=300)  # the same run's files, measured
    page = os.sysconf("SC_PAGESIZE")
    pages = -(-Path(sizes["outputs"]["gif"]).stat().st_size // page) + 1  # the metadata JSON: ~2 kB, one page
    small = mount_tmpfs("small", "size=1m")
    room = os.statvfs(small)
    (small / "filler").write_bytes(b"\0" * ((room.f_bavail - pages) * room.f_frsize))
    assert os.statvfs(small).f_bavail == pages
    with pytest.raises(RpcError) as err:
        sc_bundle.request("studio/generate", {**request, "outputDir": str(small)}, timeout=300)
    assert err.value.code == -32006 and err.value.data["errno"] == "ENOSPC", err.value
    assert files_in(small) == ["filler"]


def test_a_read_only_output_folder_is_named_with_its_reason(sc_bundle, sc_models, read_only_mount):
    for out in (read_only_mount, read_only_mount / "new" / "out"):  # there already; to be created
        with pytest.raises(RpcError) as err:
            sc_bundle.request("studio/generate", gen_request(sc_models, 2, out), timeout=120)
        assert err.value.code == -32006, err.value
        data = err.value.data
        assert (data["path"], data["errno"]) == (str(out), "EROFS"), data  # the folder, not its hidden probe file
        assert data["reason"] == os.strerror(errno.EROFS)
        assert data["file"] in (None, str(read_only_mount / "new")), data  # the folder that could not be made


SLOW_WEBP = """

_fast_webp = _webp


def _webp(frames, path, fps):  # test edit: a slow WebP, so a cancel lands during the export
    print("exporting webp", flush=True)
    import time
    time.sleep(2.0)
    _fast_webp(frames, path, fps)


_WRITERS["webp"] = _webp
"""


def test_cancel_during_export_stops_it_and_leaves_nothing(sc_spawn, sc_models, tmp_path):
    pad = copy_lesson(tmp_path / "pad")
    with open(pad / "animatediff_ttnn" / "outputs" / "export.py", "a", encoding="utf-8") as handle:
        handle.write(SLOW_WEBP)
    out = tmp_path / "out"
    client = sc_spawn("--scratchpad", str(pad))
    client.handshake()
    request_id = client.send("studio/generate", gen_request(sc_models, 2, out, params={"formats": ["gif", "webp"]}))
    run_id = client.wait_for(lambda n: n["method"] == "studio/progress", timeout=120)["params"]["runId"]
    client.wait_for(lambda n: n["method"] == "studio/log" and "exporting webp" in n["params"]["message"], timeout=300)
    assert client.request("studio/cancel", {"runId": run_id}) == {"cancelled": True}
    result = client.wait(request_id, timeout=120)
    assert result["status"] == "cancelled" and result["outputs"] == {}
    assert files_in(out) == []


def test_next_start_removes_what_a_crash_during_export_left(sc_spawn, sc_no_scratchpad, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    run = "20260101-120000-p2-abcdef"
    crash_during_commit(out / f"{run}.gif")
    assert {f"{run}.gif", f"{run}.webp", f"{run}_frames"} <= set(files_in(out))  # orphans: no metadata
    (out / "notes.txt").write_text("the user's")

    client = sc_spawn("--scratchpad", sc_no_scratchpad)
    assert client.request("studio/runs", {"outputDir": str(out)})["runs"] == []
    assert files_in(out) == ["notes.txt"]


def test_runs_lists_only_outputs_inside_the_output_folder(sc_bundle, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (tmp_path / "secret.gif").write_bytes(b"GIF89a")
    (out / "leak.gif").symlink_to(tmp_path / "secret.gif")
    (out / "mine.gif").write_bytes(b"GIF89a")
    (out / "planted.json").write_text(json.dumps({"phase": 2, "outputs": {
        "gif": "/x.gif", "webp": str(out / "leak.gif"), "mp4": str(out / ".." / "secret.gif"),
        "png": str(out / "mine.gif")}}))
    [run] = sc_bundle.request("studio/runs", {"outputDir": str(out)})["runs"]
    assert run["outputs"] == {"png": str(out / "mine.gif")}
