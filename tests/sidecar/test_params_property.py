"""Property test over the whole generate-parameter space: whatever a client sends, a request is
either refused naming one of the fields it sent, or every number in it is finite and within the
documented limits. (NaN passed every range check once: any comparison with NaN is false.)

Pure Python, no process: the two validation layers a request goes through before any model
loads, in order - the wire edge (protocol.py) and the core's GenerationParams.validate (the
sidecar maps its field names)."""

from __future__ import annotations

import math

from hypothesis import given, settings
from hypothesis import strategies as st

from animatediff_sidecar.protocol import GenerateParams, InvalidParams, core_field
from animatediff_ttnn.params import PARAMETERS, SPEC, GenerationParams, ParamError

ANY_NUMBER = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.sampled_from([float("nan"), float("inf"), float("-inf"), -0.0, 1e308, 5e-324]),
)
ANY_VALUE = st.one_of(ANY_NUMBER, st.booleans(), st.none(), st.text(max_size=5), st.lists(st.integers(), max_size=2))

# a valid value for each field, so that a request often gets as far as its one odd field
VALID = {
    "numFrames": st.integers(1, 16), "steps": st.integers(1, 50), "guidanceScale": st.floats(0, 50),
    "seed": st.integers(0, 2**32), "width": st.sampled_from([64, 512]), "height": st.sampled_from([64, 512]),
    "fps": st.integers(1, 60),
}


@st.composite
def requests(draw):
    phase = draw(st.sampled_from([1, 2]))
    params = {"prompt": draw(st.sampled_from(["a fox", "", "x" * 3]))}
    odd = draw(st.sampled_from([*VALID, "perturbationStrength", None]))  # at most one field gets any value
    for name, valid in VALID.items():
        if name == odd:
            params[name] = draw(st.one_of(ANY_NUMBER, ANY_VALUE))
        elif draw(st.booleans()):
            params[name] = draw(valid)
    request = {"phase": phase, "params": params, "backend": "torch" if phase == 2 else "auto"}
    if phase == 2 and (odd == "perturbationStrength" or draw(st.booleans())):
        request["perturbationStrength"] = draw(ANY_NUMBER if odd == "perturbationStrength" else st.floats(0, 1))
    return request


def sent_fields(request):
    return {*request, *(f"params.{k}" for k in request["params"])}


@settings(max_examples=600, deadline=None)
@given(requests())
def test_every_request_is_refused_by_name_or_is_finite_and_in_range(request):
    try:
        wire = GenerateParams.from_wire(request, PARAMETERS)
        core = GenerationParams(**wire.params.values).validate()
    except InvalidParams as err:
        assert err.field.split("[")[0] in sent_fields(request), (err.field, request)
        return
    except ParamError as err:
        assert core_field(err.field) in sent_fields(request), (err.field, request)
        return
    numbers = [core.num_frames, core.steps, core.guidance_scale, core.seed, core.width, core.height, core.fps]
    assert all(math.isfinite(n) for n in numbers), request
    assert 0.0 <= core.guidance_scale <= 50.0 and 1 <= core.steps <= 1000 and 1 <= core.fps <= 60
    assert 8 <= core.width <= 2048 and 8 <= core.height <= 2048
    assert 1 <= core.num_frames <= SPEC["num_frames"].maximum
    strength = wire.perturbation_strength
    assert strength is None or (math.isfinite(strength) and 0.0 <= strength <= 1.0), request
