"""The backend is decided once per run (backend_choice.resolve_backend): the name checked once, a
Blackhole card looked for at most once, and the pipelines trust the choice. Counted by wrapping the
real detect_blackhole and validate_backend (they still run)."""

import pytest

from animatediff_ttnn import params as params_mod
from animatediff_ttnn.backends import choice as backend_choice
from animatediff_ttnn.backends import tt_metal
from animatediff_ttnn.backends.choice import resolve_backend
from animatediff_ttnn.motion_pipeline import run_phase3
from animatediff_ttnn.params import GenerationParams, ParamError
from animatediff_ttnn.ttnn_pipeline import run_phase2

from conftest import SMALL, leftovers

HAVE_CARD = tt_metal.detect_blackhole().available


@pytest.fixture()
def calls(monkeypatch):
    counted = {"detect_blackhole": 0, "validate_backend": 0}

    def counting(module, name):
        real = getattr(module, name)

        def wrapper(*args, **kwargs):
            counted[name] += 1
            return real(*args, **kwargs)

        monkeypatch.setattr(module, name, wrapper)

    counting(tt_metal, "detect_blackhole")
    counting(backend_choice, "validate_backend")  # the name backend_choice calls it by
    counting(params_mod, "validate_backend")
    return counted


def small(**kw):
    return GenerationParams(prompt="a lighthouse", num_frames=2, steps=2, seed=3, **SMALL, **kw)


@pytest.mark.skipif(HAVE_CARD, reason="a Blackhole card is present: auto would build the TTNN UNet")
def test_a_phase2_run_checks_the_name_and_looks_for_a_card_once(tiny_models, calls, tmp_path):
    result = run_phase2(small(), tmp_path / "p2.gif", model=tiny_models["sd"], backend="auto", device="cpu")
    assert calls == {"detect_blackhole": 1, "validate_backend": 1}
    assert result.metadata["backend"] == "torch"
    assert result.metadata["backend_reason"].startswith("torch: no Blackhole device")


def test_a_phase3_run_on_auto_does_not_look_for_a_card(tiny_models, calls, tmp_path):
    result = run_phase3(small(), tmp_path / "p3.gif", model=tiny_models["sd"],
                        motion_adapter=tiny_models["motion_adapter"], backend="auto", device="cpu")
    assert calls == {"detect_blackhole": 0, "validate_backend": 1}
    assert "opt-in" in result.metadata["backend_reason"]


@pytest.mark.skipif(HAVE_CARD, reason="a Blackhole card is present")
@pytest.mark.parametrize("run", [run_phase2, run_phase3])
def test_blackhole_without_a_card_is_refused_before_any_model_loads(run, calls, tmp_path):
    with pytest.raises(Exception, match="backend 'blackhole' cannot run here: .*'torch'") as err:
        run(small(), tmp_path / "x.gif", model="/no/such/model", backend="blackhole")  # never loaded
    assert type(err.value).__name__ == "BackendUnavailable"
    assert calls["detect_blackhole"] == 1 and leftovers(tmp_path) == []


def test_an_unknown_name_is_refused_naming_the_field():
    with pytest.raises(ParamError) as err:
        resolve_backend("cuda", phase=2)
    assert err.value.field == "backend"
