"""Prompt travel: parsing, limits, and a two-prompt schedule changing exactly the frames it says."""

import json

import numpy as np
import pytest

from animatediff_ttnn.params import GenerationParams, ParamError
from animatediff_ttnn.creative.prompt_schedule import (format_schedule, parse_prompt_schedule, schedule_rows, schedule_text,
                                              validate_schedule)

from conftest import frames_array

FOX, OWL = "a red fox running", "a white owl flying"


def params(**kw):
    base = dict(prompt=FOX, negative_prompt="blurry", num_frames=12, steps=2, seed=3, width=64, height=64)
    base.update(kw)
    return GenerationParams(**base)


def test_parse_the_cli_form_lines_json_and_a_file(tmp_path):
    assert parse_prompt_schedule("0: a fox | 16: an owl") == {0: "a fox", 16: "an owl"}
    assert parse_prompt_schedule("16: an owl\n# comment\n0: a fox: close-up\n") == {0: "a fox: close-up", 16: "an owl"}
    assert parse_prompt_schedule(json.dumps({"0": "a fox", "8": "an owl"})) == {0: "a fox", 8: "an owl"}
    path = tmp_path / "schedule.txt"
    path.write_text("0: a fox\n8: an owl\n")
    assert parse_prompt_schedule(schedule_text(str(path))) == {0: "a fox", 8: "an owl"}
    assert schedule_text("0: a fox") == "0: a fox"
    assert format_schedule({0: "a fox", 8: "an owl"}) == "0: a fox | 8: an owl"
    assert schedule_rows({0: "a fox", 8: "an owl"}, 12) == [(0, 7, "a fox"), (8, 11, "an owl")]


@pytest.mark.parametrize("text, words", [
    ("4: a fox", "frame 0"),
    ("0: a fox | 0: an owl", "twice"),
    ("zero: a fox", "FRAME: PROMPT"),
    ("0: a fox | 8:", "empty"),
    ("", "empty"),
    ("{\"0\": ", "JSON"),
    # frame numbers are written with 0-9: str.isdigit() also says yes to these, and int() then fails
    # ("²") or reads another script's digit ("٣" is 3) - both were a message from int() or a silent frame
    ("0: a cat | ²: a dog", "0-9"),
    ("0: a cat | ٣: a dog", "0-9"),
    ('{"0": "a cat", "²": "a dog"}', "0-9"),
    # JSON keeps the last of two equal keys without a word: a schedule says so, like its text form
    ('{"0": "a cat", "0": "a dog"}', "twice"),
    ('{"0": "a cat", "00": "a dog"}', "twice"),
])
def test_malformed_schedules_name_the_field(text, words):
    with pytest.raises(ValueError, match=words.replace("|", r"\|")):
        parse_prompt_schedule(text)  # the grammar says what is wrong ...
    if text:  # (an empty schedule means "no schedule" to the parameters)
        with pytest.raises(ParamError) as err:
            params(prompt_schedule=text).validate()  # ... and the parameter check names the field
        assert err.value.field == "prompt_schedule" and words in str(err.value)


def test_a_scheduled_frame_beyond_the_clip_is_refused_before_any_model_runs(phase1):
    with pytest.raises(ValueError, match="frame 12 is beyond the clip"):
        validate_schedule({0: FOX, 12: OWL}, 12)
    with pytest.raises(ParamError) as err:
        params(prompt_schedule=f"0: {FOX} | 16: {OWL}").validate()  # the edge: CLI and sidecar call this first
    assert err.value.field == "prompt_schedule" and "frame 16 is beyond the clip" in str(err.value)


def test_two_prompt_schedule_changes_the_frames_where_it_says(phase1):
    """With the motion modules off (motion_scale 0) each frame depends only on its own prompt and noise:
    frame 0 must be the fox run's, frames 6..11 the owl run's, and the blend in between neither."""
    fox = frames_array(phase1.generate(params(), motion_scale=0.0))
    owl = frames_array(phase1.generate(params(prompt=OWL), motion_scale=0.0))
    travel = frames_array(phase1.generate(params(prompt_schedule=f"0: {FOX} | 6: {OWL}"), motion_scale=0.0))
    assert np.abs(travel[0] - fox[0]).max() <= 1
    assert all(np.abs(travel[i] - owl[i]).max() <= 1 for i in range(6, 12))
    for i in range(1, 6):  # embeddings blend fox -> owl: each in-between frame is neither run's (beyond rounding)
        assert np.abs(travel[i] - fox[i]).max() > 1 and np.abs(travel[i] - owl[i]).max() > 1
    to_fox = [np.abs(travel[i] - fox[i]).mean() for i in (1, 5)]
    to_owl = [np.abs(travel[i] - owl[i]).mean() for i in (1, 5)]
    assert to_fox[0] < to_fox[1] and to_owl[0] > to_owl[1]  # frame 1 is mostly fox, frame 5 mostly owl
    rows = phase1.describe()["creative"]["prompt_schedule"]
    assert rows == [{"from_frame": 0, "to_frame": 5, "prompt": FOX}, {"from_frame": 6, "to_frame": 11, "prompt": OWL}]


def test_with_motion_the_schedule_still_moves_the_clip_from_one_prompt_to_the_other(phase1):
    fox = frames_array(phase1.generate(params()))
    owl = frames_array(phase1.generate(params(prompt=OWL)))
    travel = frames_array(phase1.generate(params(prompt_schedule=f"0: {FOX} | 6: {OWL}")))

    def dist(a, b):
        return float(np.abs(a - b).mean())

    assert dist(travel[0], fox[0]) < dist(travel[0], owl[0])
    assert dist(travel[-1], owl[-1]) < dist(travel[-1], fox[-1])
