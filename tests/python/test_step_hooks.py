"""step_hooks.StepHooks, the bookkeeping the Phase 2/3 loops call around each step."""

import pytest

from animatediff_ttnn.runtime.progress import CancelToken, Cancelled, StepEvent
from animatediff_ttnn.runtime.timings import Timings
from animatediff_ttnn.runtime.step_hooks import StepHooks


def event(index, _t, kwargs):
    return StepEvent(phase=2, step=index + 1, total_steps=2, frame=kwargs["frame"], total_frames=1, elapsed_s=0.0)


def test_each_step_is_recorded_and_published_with_what_the_loop_passed():
    timings, seen = Timings(), []
    hooks = StepHooks(event, seen.append, timings=timings)
    for index in range(2):
        hooks.on_step_begin()
        kwargs = {"frame": 0, "latents": object()}
        assert hooks.callback_on_step_end(None, index, 999 - index, kwargs) is kwargs  # diffusers' contract
    assert len(timings.steps) == 2 and timings.first_step_s is not None
    assert [(e.step, e.frame) for e in seen] == [(1, 0), (2, 0)]


def test_no_listener_no_previews():
    def make_event(*_):
        raise AssertionError("previews were built with nobody listening")

    hooks = StepHooks(make_event)
    hooks.on_step_begin()
    hooks.callback_on_step_end(None, 0, 1, {})
    assert len(hooks.timings.steps) == 1


def test_a_cancelled_run_stops_before_the_next_step():
    token = CancelToken()
    hooks = StepHooks(event, cancel=token)
    hooks.on_step_begin()
    hooks.callback_on_step_end(None, 0, 1, {"frame": 0})
    token.cancel()
    with pytest.raises(Cancelled):
        hooks.on_step_begin()
    assert len(hooks.timings.steps) == 1
