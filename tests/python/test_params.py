import pytest

from animatediff_ttnn.params import GenerationParams, ParamError, validate_backend


def make(**kw):
    return GenerationParams(prompt=kw.pop("prompt", "a cat"), **kw)


@pytest.mark.parametrize(
    "kwargs, field, fragment",
    [
        (dict(num_frames=0), "num_frames", "at least 1"),
        (dict(num_frames=2.5), "num_frames", "whole number"),
        (dict(steps=0), "steps", "at least 1"),
        (dict(width=100), "width", "multiple of 8"),
        (dict(height=12), "height", "multiple of 8"),
        (dict(guidance_scale="high"), "guidance_scale", "number"),
        (dict(seed=-1), "seed", "at least 0"),
        (dict(prompt="  "), "prompt", "non-empty"),
        (dict(formats=("gif", "avi")), "formats", "avi"),
        (dict(fps=0), "fps", "at least 1"),
    ],
)
def test_each_bad_field_is_named_with_a_reason(kwargs, field, fragment):
    with pytest.raises(ParamError) as err:
        make(**kwargs).validate()
    assert err.value.field == field
    assert fragment in err.value.message


def test_frame_limit_comes_from_the_adapter():
    make(num_frames=16).validate(max_frames=16)
    with pytest.raises(ParamError, match="motion_max_seq_length = 16"):
        make(num_frames=17).validate(max_frames=16)


def test_round_trip_and_unknown_keys():
    params = make(num_frames=4, formats=("gif", "mp4"))
    assert GenerationParams.from_dict(params.to_dict()) == params
    with pytest.raises(ParamError) as err:
        GenerationParams.from_dict({"prompt": "x", "frames": 4})
    assert err.value.field == "frames"


def test_unknown_backend():
    assert validate_backend("torch") == "torch"
    with pytest.raises(ParamError, match="unknown backend 'gpu'"):
        validate_backend("gpu")


def test_device_defaults_are_valid_choices_and_a_cpu_starts_fast():
    """The run form's first preset by hardware (params.py device_defaults): a CPU gets the Fast preset, whose
    512x512 clip takes minutes there, where Quality's 25 guided steps take about half an hour."""
    from animatediff_ttnn.params import PARAMETERS, SPEC

    for param in PARAMETERS:
        for device, value in param.device_defaults:
            assert device in ("cpu", "cuda", "mps") and param.check(value) == value
    assert dict(SPEC["preset"].device_defaults) == {"cpu": "lightning"}
    assert SPEC["preset"].default == "quality"  # the CLI and an omitted request field keep Quality
