"""`studio/runs` over a folder a careless user (or anyone) can write JSON into: one bad metadata file
never breaks the listing. The good runs are listed, every file left out is named with the reason,
and what is listed has the documented types (the client checks them strictly). Over real pipes,
then a property test over the metadata's shape, in process."""

from __future__ import annotations

import json
import math
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from animatediff_sidecar.protocol import OUTPUT_FORMATS, to_wire
from animatediff_sidecar.runs import list_runs


def good_metadata(folder: Path, run_id: str) -> dict:
    """What the lesson writes (outputs/run_record.py), trimmed to what the listing reads."""
    (folder / f"{run_id}.gif").write_bytes(b"GIF89a")
    return {"schema": 1, "run_id": run_id, "phase": 2, "prompt": "a fox", "created": "2026-01-01T12:00:00+0000",
            "params": {"num_frames": 4, "steps": 2, "formats": ["gif"], "extra": {}}, "backend": "torch",
            "device": "cpu", "outputs": {"gif": str(folder / f"{run_id}.gif")}, "perturbation_strength": 0.1,
            "timings": {"load_s": 1.0, "steps_s": [0.5, 0.5], "first_step_s": None, "total_s": 3.0},
            "coherence": {"similarity": 0.5, "motion_px": 1.0, "residual": 2.0}}


BAD = {  # file name -> the change that makes it unreadable as a run
    "phase-word.json": lambda meta: {**meta, "phase": "one"},
    "phase-null.json": lambda meta: {**meta, "phase": None},
    "phase-list.json": lambda meta: {**meta, "phase": [1]},
    "timings-word.json": lambda meta: {**meta, "timings": {"total_s": "3 s"}},
}


def write_bad_files(out: Path) -> None:
    base = good_metadata(out, "20260101-120000-p2-bad000")
    for name, change in BAD.items():
        (out / name).write_text(json.dumps(change(base)), encoding="utf-8")
    # json.dumps writes no 1e400 or 100 000 nested lists; a careless editor or a hostile file does
    (out / "phase-huge.json").write_text(json.dumps(base).replace('"phase": 2', '"phase": 1e400'), encoding="utf-8")
    (out / "deep.json").write_text('{"phase": 1, "outputs": {}, "params": ' + "[" * 100_000 + "]" * 100_000 + "}",
                                   encoding="utf-8")
    (out / "notes.json").write_text('["not a run"]', encoding="utf-8")
    # a run whose one output names no file: listed, without it (outputs count only inside the folder)
    nul = {**base, "run_id": "20260101-110000-p2-nul000", "created": "2026-01-01T11:00:00+0000",
           "outputs": {"gif": "a\u0000b.gif"}}
    (out / "20260101-110000-p2-nul000.json").write_text(json.dumps(nul), encoding="utf-8")


def test_one_bad_metadata_file_does_not_break_the_listing(sc_bundle, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "20260101-130000-p2-good00.json").write_text(json.dumps(good_metadata(out, "20260101-130000-p2-good00")),
                                                       encoding="utf-8")
    write_bad_files(out)
    result = sc_bundle.request("studio/runs", {"outputDir": str(out)})
    assert [(run["runId"], run["outputs"]) for run in result["runs"]] == [
        ("20260101-130000-p2-good00", {"gif": str(out / "20260101-130000-p2-good00.gif")}),
        ("20260101-110000-p2-nul000", {})]
    skipped = {Path(s["path"]).name: s["reason"] for s in result["skipped"]}
    assert set(skipped) == {*BAD, "phase-huge.json", "deep.json", "notes.json"}
    assert "phase" in skipped["phase-word.json"] and "'one'" in skipped["phase-word.json"]
    assert "phase" in skipped["phase-huge.json"] and "timings.total_s" in skipped["timings-word.json"]
    assert "nested" in skipped["deep.json"]
    assert "not a run's metadata" in skipped["notes.json"]


# -- the shape, property-tested -------------------------------------------------------------------

JSON_SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.text(max_size=8),
                         st.floats(allow_nan=True, allow_infinity=True))
JSON_VALUES = st.recursive(JSON_SCALARS, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                                 st.dictionaries(st.text(max_size=6), inner, max_size=3)),
                           max_leaves=8)
FIELDS = ["run_id", "phase", "prompt", "created", "outputs", "params", "backend", "device", "timings",
          "perturbation_strength", "coherence"]
PATHS = st.sampled_from(["{out}/r.gif", "r.gif", "../r.gif", "/etc/passwd", "", "a\u0000b", "{out}/sub/../r.gif"])


@st.composite
def metadata(draw):
    """A real run's metadata with a few fields replaced by any JSON value (or removed)."""
    meta = {"run_id": "r", "phase": draw(st.sampled_from([1, 2, 3])), "prompt": "p", "created": "2026",
            "outputs": {"gif": "{out}/r.gif"}, "params": {"steps": 2}, "backend": "torch", "device": "cpu",
            "timings": {"load_s": 1.0, "steps_s": [1.0]}, "perturbation_strength": None, "coherence": None}
    for name in draw(st.lists(st.sampled_from(FIELDS), max_size=3, unique=True)):
        if draw(st.booleans()):
            meta.pop(name)
        elif name == "outputs":
            meta[name] = draw(st.dictionaries(st.sampled_from(["gif", "mp4", "webp", "png", "x"]),
                                              st.one_of(PATHS, JSON_VALUES), max_size=3))
        elif name == "timings":
            meta[name] = draw(st.dictionaries(st.sampled_from(["load_s", "steps_s", "first_step_s", "total_s", "x"]),
                                              JSON_VALUES, max_size=3))
        else:
            meta[name] = draw(JSON_VALUES)
    return meta


NUMBER_KEYS = ("loadS", "encodeS", "denoiseS", "decodeS", "exportS", "totalS")


def finite(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def json_safe(value) -> bool:
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, list):
        return all(json_safe(v) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and json_safe(v) for k, v in value.items())
    return value is None or isinstance(value, (bool, int, str))


def assert_documented_shape(run: dict, out: Path) -> None:
    """docs/protocol.md's RunSummary (extension/src/protocol.ts checks the same, strictly)."""
    assert run["phase"] in (1, 2, 3) and not isinstance(run["phase"], bool)
    for key in ("runId", "prompt", "created", "metadataPath", "backend", "device"):
        assert isinstance(run[key], str), key
    assert set(run["outputs"]) <= {"gif", "mp4", "webp", "png"}
    for path in run["outputs"].values():  # absolute, and inside the run's folder (links resolved)
        assert isinstance(path, str) and Path(path).is_absolute() and "\x00" not in path
        assert out.resolve() in Path(path).resolve().parents
    assert isinstance(run["params"], dict) and json_safe(run["params"])
    timings = run["timings"]
    assert all(finite(timings[k]) for k in NUMBER_KEYS) and all(finite(s) for s in timings["stepsS"])
    assert timings["firstStepS"] is None or finite(timings["firstStepS"])
    assert run["perturbationStrength"] is None or finite(run["perturbationStrength"])
    assert run["coherence"] is None or all(finite(v) for v in run["coherence"].values())


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(meta=metadata())
def test_every_metadata_file_is_listed_in_the_documented_shape_or_skipped_with_a_reason(tmp_path, meta):
    out = tmp_path / "out"
    out.mkdir(exist_ok=True)
    for old in out.iterdir():
        old.unlink()
    text = json.dumps(meta, allow_nan=True).replace("{out}", str(out))
    (out / "r.json").write_text(text, encoding="utf-8")
    runs, skipped = list_runs(out, OUTPUT_FORMATS)
    assert len(runs) + len(skipped) == 1
    if skipped:
        assert skipped[0].path == str(out / "r.json") and skipped[0].reason.strip()
        return
    wire = to_wire(runs[0])
    json.dumps(wire, allow_nan=False)  # NaN/Infinity would break the client's JSON.parse
    assert_documented_shape(wire, out)
