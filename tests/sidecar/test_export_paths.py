"""`studio/export` writes only inside the run's own folder: the metadata's output paths are checked
with the same rule as `studio/runs` (run_folder.py) before anything is read or written, and a
relative path means the run's folder, never the sidecar's working directory. A damaged run record
or a mistyped metadata field is the file's problem (-32602 naming it), not an internal error."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from .conftest import files_in, gen_request
from .rpc_client import RpcError


@pytest.fixture(scope="module")
def exporter(sc_spawn, sc_no_scratchpad, sc_models, tmp_path_factory):
    """A sidecar whose working directory is a folder of its own (where a relative path used to land),
    and one finished Phase 2 run to re-export."""
    cwd = tmp_path_factory.mktemp("sidecar-cwd")
    client = sc_spawn("--scratchpad", sc_no_scratchpad, cwd=str(cwd))
    client.handshake()
    made = tmp_path_factory.mktemp("made")
    result = client.request("studio/generate", gen_request(sc_models, 2, made), timeout=300)
    return client, cwd, Path(result["metadataPath"])


def copy_run(meta: Path, dest: Path, **outputs) -> Path:
    """The run's metadata, GIF and record in `dest`, with `outputs` changed in its metadata."""
    dest.mkdir(parents=True)
    for suffix in (".json", ".gif", ".run.msgpack"):
        shutil.copy(meta.with_name(meta.stem + suffix), dest / (meta.stem + suffix))
    copied = dest / meta.name
    data = json.loads(copied.read_text(encoding="utf-8"))
    data["outputs"] = {"gif": str(dest / (meta.stem + ".gif")), **outputs}
    copied.write_text(json.dumps(data), encoding="utf-8")
    return copied


def refused(client, meta: Path) -> RpcError:
    before = meta.read_text(encoding="utf-8")
    with pytest.raises(RpcError) as err:
        client.request("studio/export", {"metadataPath": str(meta), "formats": ["png"]}, timeout=300)
    assert meta.read_text(encoding="utf-8") == before  # the metadata is not rewritten
    return err.value


def test_export_refuses_a_run_whose_outputs_point_outside_its_folder(exporter, tmp_path):
    client, _cwd, made = exporter
    other = tmp_path / "other"
    other.mkdir()
    meta = copy_run(made, tmp_path / "run", gif=str(other / "x.gif"))
    err = refused(client, meta)
    assert err.code == -32602 and err.data["field"] == "metadataPath", err
    assert "outputs.gif" in err.data["message"] and "outside the run's folder" in err.data["message"]
    assert files_in(other) == []  # nothing written where the metadata pointed
    assert files_in(meta.parent) == sorted([meta.name, meta.stem + ".gif", meta.stem + ".run.msgpack"])


def test_a_relative_output_path_means_the_runs_folder_not_the_working_directory(exporter, tmp_path):
    client, cwd, made = exporter
    meta = copy_run(made, tmp_path / "run", gif="x.gif")
    result = client.request("studio/export", {"metadataPath": str(meta), "formats": ["png"]}, timeout=300)
    assert result["outputs"]["png"] == str(meta.parent / "x_frames")
    assert (meta.parent / "x_frames").is_dir() and files_in(cwd) == []


def test_a_metadata_output_that_is_not_a_path_is_invalid_params(exporter, tmp_path):
    client, _cwd, made = exporter
    meta = copy_run(made, tmp_path / "run", gif=5)
    err = refused(client, meta)
    assert err.code == -32602 and "outputs.gif" in err.data["message"], err


def test_a_truncated_run_record_is_named_not_an_internal_error(exporter, tmp_path):
    client, _cwd, made = exporter
    meta = copy_run(made, tmp_path / "run")
    record = meta.with_name(meta.stem + ".run.msgpack")
    record.write_bytes(record.read_bytes()[:200])
    err = refused(client, meta)
    assert err.code == -32602 and record.name in err.data["message"], err
    assert files_in(meta.parent) == sorted([meta.name, meta.stem + ".gif", record.name])


def test_an_output_folder_with_a_nul_byte_is_invalid_params(exporter, sc_models, tmp_path):
    client, _cwd, _made = exporter
    with pytest.raises(RpcError) as err:
        client.request("studio/generate", gen_request(sc_models, 2, Path(str(tmp_path) + "/a\x00b")), timeout=120)
    assert err.value.code == -32602 and err.value.data["field"] == "outputDir", err.value
