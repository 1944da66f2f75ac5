"""A scratchpad deployed before the studio's contract (studio_api.py) existed, or before its current
version: the sidecar answers ScratchpadOutdated, saying how to redeploy without losing edits, and touches
none of the files."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import pytest

from .conftest import copy_lesson, files_in, gen_request
from .rpc_client import RpcError
from .test_runs_listing import good_metadata


def _hashes(folder: Path):
    return {str(p.relative_to(folder)): hashlib.sha1(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file() and "__pycache__" not in p.parts}


def _without_contract(pad: Path) -> str:
    (pad / "animatediff_ttnn" / "studio_api.py").unlink()  # what a copy deployed before the contract lacks
    return "animatediff_ttnn/studio_api.py"


def _before_the_layout(pad: Path) -> str:
    """A copy from before the package layout (wave 3): its studio_api.py has no CONTRACT_VERSION."""
    api = pad / "animatediff_ttnn" / "studio_api.py"
    text = api.read_text(encoding="utf-8")
    assert text.count("\nCONTRACT_VERSION = ") == 1
    api.write_text(re.sub(r"\nCONTRACT_VERSION = \d+\n", "\n", text), encoding="utf-8")
    from animatediff_sidecar.user_code import REQUIRED_CONTRACT

    return f"animatediff_ttnn/studio_api.py of contract version {REQUIRED_CONTRACT} (it has version 1)"


@pytest.mark.parametrize("make_old", [_without_contract, _before_the_layout])
def test_a_scratchpad_older_than_the_studio_gets_a_redeploy_error(sc_spawn, sc_models, tmp_path, make_old):
    pad = copy_lesson(tmp_path / "tt-animatediff")
    missing = make_old(pad)
    edited = pad / "animatediff_ttnn" / "ttnn_pipeline.py"
    edited.write_text(edited.read_text(encoding="utf-8") + "\n# my edit\n", encoding="utf-8")
    before = _hashes(pad)
    client = sc_spawn("--scratchpad", str(pad))
    assert client.handshake()["pipelineSource"] == {"kind": "scratchpad", "path": str(pad.resolve())}

    out = tmp_path / "out"
    for method, params in [("studio/generate", gen_request(sc_models, 2, out)), ("studio/modelsStatus", {})]:
        with pytest.raises(RpcError) as err:
            client.request(method, params, timeout=120)
        assert err.value.code == -32007, (method, err.value.code, err.value.message)
        assert err.value.data == {"path": str(pad.resolve()), "missing": missing}
        message = err.value.message
        assert "deployed before this version of the studio" in message
        assert '"AnimateDiff: Deploy Project to Scratchpad"' in message  # the command's title in package.json
        assert "backup" in message and "without asking" in message

    assert _hashes(pad) == before  # the learner's files, edit included, are untouched
    assert files_in(out) == []
    assert client.handshake()["protocolVersion"] == 1  # still serving

    # past runs still list: reading them needs none of the lesson's code
    past = tmp_path / "past"
    past.mkdir()
    (past / "r.json").write_text(json.dumps(good_metadata(past, "r")), encoding="utf-8")
    listed = client.request("studio/runs", {"outputDir": str(past)})
    assert [(r["runId"], r["outputs"]) for r in listed["runs"]] == [("r", {"gif": str(past / "r.gif")})]


def test_the_deploy_command_named_in_the_message_exists():
    import json

    from animatediff_sidecar.protocol import ScratchpadOutdated

    from .rpc_client import REPO

    manifest = json.loads((REPO / "package.json").read_text(encoding="utf-8"))
    titles = {f"{c.get('category')}: {c['title']}" for c in manifest["contributes"]["commands"]}
    assert ScratchpadOutdated.DEPLOY_COMMAND in titles
