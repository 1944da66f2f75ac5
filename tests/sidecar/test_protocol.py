"""protocol.py against docs/protocol.md, and the sidecar's building blocks, in process (fast)."""

from __future__ import annotations

import re
import threading

import pytest

from animatediff_sidecar import protocol as P
from animatediff_ttnn.params import PARAMETERS
from animatediff_sidecar.downloads import model_status, progress_class, DownloadCancelled
from animatediff_sidecar.stdio_guard import LineTee, _Mirror
from animatediff_sidecar.user_code import PipelineSource, UserCode, _module_level_imports, _topological

from .conftest import BUNDLE
from .rpc_client import REPO

DOC = (REPO / "docs" / "protocol.md").read_text(encoding="utf-8")


def _section(title: str) -> str:
    start = DOC.index(f"## {title}")
    end = DOC.find("\n## ", start + 1)
    return DOC[start:end if end >= 0 else None]


def _table_first_column(section: str):
    return [m.group(1) for m in re.finditer(r"^\| `([^`]+)` \|", section, re.MULTILINE)]


def _top_level_keys(text: str):
    """Keys at depth 1 of a TS-like `{...}` literal (strings and // comments skipped)."""
    text = re.sub(r"//[^\n]*", "", text)
    text = re.sub(r'"[^"]*"', '""', text)
    keys, depth, i = [], 0, 0
    while i < len(text):
        ch = text[i]
        if ch in "{[(":
            depth += 1
        elif ch in "}])":
            depth -= 1
            if depth == 0:
                break
        elif depth == 1:
            m = re.match(r"([A-Za-z_]\w*)\??\s*(?=[:,}])", text[i:])
            if m and (i == 0 or not (text[i - 1].isalnum() or text[i - 1] in "_.")):
                before = text[:i].rstrip()
                if before.endswith(("{", ",")):
                    keys.append(m.group(1))
                i += len(m.group(1))
                continue
        i += 1
    return keys


def _doc_type(name: str):
    start = DOC.index(f"{name} = {{")
    return _top_level_keys(DOC[start + len(name) + 3:])


def test_doc_lists_exactly_the_methods_protocol_py_serves():
    doc_requests = set(_table_first_column(_section("Requests")))
    methods = {v for k, v in vars(P.Method).items() if k.isupper()}
    assert doc_requests == methods - {P.Method.EXIT, P.Method.CANCEL_REQUEST}
    assert P.Method.CANCEL_REQUEST in DOC and "notification `exit`" in DOC
    doc_notes = set(_table_first_column(_section("Notifications")))
    assert doc_notes == {v for k, v in vars(P.Notify).items() if k.isupper()}


def test_doc_error_codes_match():
    codes = {int(m.group(1)): m.group(2) for m in re.finditer(r"^\| (-\d+) (\w+) \|", _section("Errors"), re.MULTILINE)}
    ours = {v: k for k, v in vars(P.ErrorCode).items() if k.isupper()}
    assert set(codes) == set(ours) - {P.ErrorCode.INTERNAL}  # -32603 is described in prose
    for code, name in codes.items():  # INVALID_PARAMS ~ InvalidParams, USER_CODE ~ UserCodeError
        assert ours[code].replace("_", "") in (name.upper(), name.upper().replace("ERROR", "")), (code, name)


@pytest.mark.parametrize("doc_name, cls", [
    ("Handshake", P.Handshake), ("ModelStatus", P.ModelStatus), ("Environment", P.Environment),
    ("GenerateResult", P.GenerateResult), ("RunSummary", P.RunSummary), ("GenerateParams", P.GenerateParams),
])
def test_doc_types_have_the_message_fields(doc_name, cls):
    wire = P.wire_fields(cls, PARAMETERS)
    assert sorted(_doc_type(doc_name)) == sorted(wire)


@pytest.mark.parametrize("method, cls", [
    ("studio/progress", P.Progress), ("studio/preview", P.Preview), ("studio/frameDone", P.FrameDone),
    ("studio/downloadProgress", P.DownloadProgress), ("studio/log", P.LogMessage),
])
def test_doc_notifications_have_the_message_fields(method, cls):
    row = re.search(rf"^\| `{re.escape(method)}` \| `(\{{.*?\}})`", DOC, re.MULTILINE).group(1)
    wire = P.wire_fields(cls)
    assert sorted(_top_level_keys(row.replace("\\|", "|"))) == sorted(wire)


def test_doc_lists_every_generation_parameter():
    from animatediff_ttnn.params import GENERATION

    params = _top_level_keys(DOC[DOC.index("params: {") + len("params: "):])
    assert sorted(params) == sorted(p.wire for p in GENERATION)
    assert "prompt: string" in DOC


def test_to_wire_is_camel_case_and_from_wire_reads_it():
    result = P.GenerateResult("r", "completed", {"gif": "/x.gif"}, "/x.json", "torch", "why", "cpu",
                              P.timings_to_wire({"load_s": 0.5, "steps_s": [0.1]}), False, ["m"])
    wire = P.to_wire(result)
    assert wire["metadataPath"] == "/x.json" and wire["modelsReloaded"] is False
    assert wire["timings"] == {"loadS": 0.5, "encodeS": 0.0, "firstStepS": None, "stepsS": [0.1], "denoiseS": 0.0,
                               "decodeS": 0.0, "exportS": 0.0, "totalS": 0.0}
    req = P.GenerateParams.from_wire({"phase": 2, "params": {"prompt": "p", "numFrames": 4.0, "guidanceScale": 5},
                                      "perturbationStrength": 0, "previewEvery": 2}, PARAMETERS)
    assert req.params.values == {"prompt": "p", "num_frames": 4, "guidance_scale": 5}
    assert (req.device, req.backend, req.perturbation_strength, req.preview_every) == ("cpu", "auto", 0, 2)
    assert P.GenerateParams.from_wire({"phase": 1, "params": {"prompt": "p"}}, PARAMETERS).device == "auto"


def test_the_sidecar_spells_every_parameter_as_params_py_does():
    """params.py and wire.py each turn snake_case into camelCase (the package cannot import the
    sidecar); a difference would make the sidecar read a parameter under another name."""
    assert [P.camel(p.name) for p in PARAMETERS] == [p.wire for p in PARAMETERS]
    assert all(p.wire in P.wire_fields(P.GenerateParams, PARAMETERS) for p in PARAMETERS if p.group == "run")


def test_the_output_formats_are_the_ones_params_py_defines():
    assert P.OUTPUT_FORMATS == P.formats_of(PARAMETERS)


def test_core_field_names_map_to_wire_paths():
    assert P.core_field("num_frames", PARAMETERS) == "params.numFrames"
    assert P.core_field("guidance_scale", PARAMETERS) == "params.guidanceScale"
    assert P.core_field("backend", PARAMETERS) == "backend"
    assert P.core_field("perturbation_strength", PARAMETERS) == "perturbationStrength"


def test_line_tee_mirrors_whole_lines_and_collapses_carriage_returns():
    import io

    lines = []
    mirror = _Mirror(io.StringIO())
    mirror.sink = lambda level, message: lines.append((level, message))
    tee = LineTee(mirror, "info", 1)
    tee.write("a bar 1/3\r")
    tee.write("a bar 2/3\ra bar 3/3")
    tee.write("\nhello ")
    tee.write("world\n\n")
    assert lines == [("info", "a bar 3/3"), ("info", "hello world")]
    assert mirror.real_stderr.getvalue() == "a bar 1/3\ra bar 2/3\ra bar 3/3\nhello world\n\n"

    def recursive(level, message):  # a sink that prints must not loop
        lines.append((level, message))
        tee.write("from inside the sink\n")

    mirror.sink = recursive
    tee.write("once\n")
    assert lines[-1] == ("info", "once") and len(lines) == 3


def test_download_progress_class_reports_bytes_and_stops_on_cancel():
    reports, cancel = [], threading.Event()
    bar_class = progress_class(lambda done, total: reports.append((done, total)), cancel, min_interval=0)
    network = bar_class(total=100, unit="B", desc="Downloading bytes")  # the network bar is not reported
    network.update(10)
    disk = bar_class(total=100, unit="B", desc="Reconstructing")
    disk.update(40)
    disk.update(60)
    assert reports == [(40, 100), (100, 100)]
    cancel.set()
    with pytest.raises(DownloadCancelled):
        disk.update(1)
    with pytest.raises(DownloadCancelled):
        list(bar_class(iter([1, 2, 3]), desc="Fetching 3 files"))


def test_model_facts_come_from_the_lesson_contract(monkeypatch):
    from animatediff_ttnn import studio_api as api

    monkeypatch.delenv("ANIMATEDIFF_SD_MODEL", raising=False)
    status = model_status("sd", "/definitely/not/here", api)
    assert status.kind == "local" and not status.available and "check the path" in status.fix
    missing = model_status("motionAdapter", None, api)  # the default: a hub id, not in this test's cache
    assert missing.source == api.default_source("motion_adapter") and missing.kind == "hub"
    monkeypatch.setenv("ANIMATEDIFF_SD_MODEL", "/elsewhere/sd")
    assert model_status("sd", None, api).source == "/elsewhere/sd"


def test_module_dependencies_of_the_lesson_package():
    import animatediff_ttnn.pipeline as pipeline
    import animatediff_ttnn.ttnn_pipeline as ttnn_pipeline

    deps = _module_level_imports(ttnn_pipeline)
    assert {"animatediff_ttnn.runtime.previews", "animatediff_ttnn.params", "animatediff_ttnn.runtime.progress"} <= deps
    assert "animatediff_ttnn.backends.tt_metal" not in deps  # imported inside a function: always fresh
    order = _topological({"animatediff_ttnn.runtime.previews", "animatediff_ttnn.pipeline"},
                         {"animatediff_ttnn.pipeline": _module_level_imports(pipeline)})
    assert order == ["animatediff_ttnn.runtime.previews", "animatediff_ttnn.pipeline"]


def test_pipeline_source_prefers_a_deployed_scratchpad(tmp_path):
    empty = tmp_path / "pad"
    assert PipelineSource.resolve(str(empty), str(BUNDLE)).kind == "bundle"
    (empty / "animatediff_ttnn").mkdir(parents=True)
    (empty / "animatediff_ttnn" / "__init__.py").write_text('__version__ = "9.9"\n')
    source = PipelineSource.resolve(str(empty), str(BUNDLE))
    assert (source.kind, source.path) == ("scratchpad", empty.resolve())
    code = UserCode(source)
    assert code.inside(str(empty / "animatediff_ttnn" / "x.py")) and not code.inside(str(BUNDLE / "x.py"))
