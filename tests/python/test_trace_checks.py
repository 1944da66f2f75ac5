"""The validation's two speed-path checks (backends/trace_checks.py), run on stand-ins of ttnn and tt-metal's
UNet and VAE (ttnn_standin.py) with the tiny random-weight models doing the arithmetic.

Proves: each check builds its calls the way Phase 2 does, compares what it should, passes for a correct
path and fails for a broken one (a traced buffer left stale; a VAE whose colour channels come back in the
wrong order), raises (a crash for the validation) when the capture fails or the VAE cannot be built,
does not apply without a TTNN VAE, and reports its times and tt-metal's budgets. Cannot prove: the PCC or the seconds a card
reports - the numbers it prints here are the stand-in's, on this CPU, and mean nothing about a card.
"""

from __future__ import annotations

import traceback
from types import SimpleNamespace

import pytest
import torch
from ttnn_standin import StandinTtnn, StandinTtUNet, standin_vae_class

from animatediff_ttnn.backends import trace_checks, ttnn_trace, validation

LATENT_HW = (8, 8)


@pytest.fixture(scope="module")
def sd(tiny_models):
    from animatediff_ttnn.models.loading import load_sd_components

    return load_sd_components(tiny_models["sd"], torch.float32)


def unet_check(sd):
    api = StandinTtnn()
    return trace_checks.check_traced_unet_call(api, api.device, StandinTtUNet(api, api.device, sd.unet), sd.unet,
                                               LATENT_HW, repeats=1)


def test_traced_unet_check_passes_for_the_trace_as_built(sd):
    check = unet_check(sd)
    print(check)
    assert isinstance(check, validation.Measured)
    assert check.passed and check.pcc == 1.0 and check.max_error == 0.0 and check.repeat_max_difference == 0.0
    assert check.first_call_s > 0 and check.steady_s > 0
    assert "tt-metal budgets a traced call at 0.072 s on Blackhole" in check.detail


def test_traced_unet_check_fails_when_a_buffer_is_not_rewritten(sd, monkeypatch):
    real = ttnn_trace.TracedCall._write
    writes = []

    def text_written_once(self, host_inputs):  # the second input's text never reaches the card
        writes.append(1)
        if len(writes) > 3:  # compile, then the first input's calls
            host_inputs = {**host_inputs, "text": self._first_text}
        else:
            self._first_text = host_inputs["text"]
        real(self, host_inputs)

    monkeypatch.setattr(ttnn_trace.TracedCall, "_write", text_written_once)
    check = unet_check(sd)
    print(check)
    assert not check.passed and check.pcc < trace_checks.PCC_TRACE == check.threshold


def test_traced_unet_check_raises_the_capture_error_when_the_capture_failed(sd, monkeypatch):
    """A crash for the validation's runner, with the capture's own exception (and traceback) as its cause."""
    monkeypatch.setattr(ttnn_trace.TracedCall, "capture", lambda self: (_ for _ in ()).throw(RuntimeError("no room")))
    with pytest.raises(RuntimeError, match=r"^the UNet call was not traced: untraced: its trace capture failed "
                                           r"\(RuntimeError: no room\)$") as raised:
        unet_check(sd)
    assert str(raised.value.__cause__) == "no room" and raised.value.__cause__.__traceback__ is not None


def vae_check(sd, vae_class):
    api = StandinTtnn()
    demo = SimpleNamespace(vae_class=vae_class(api) if vae_class else None, demo_dir="tt-metal")
    return trace_checks.check_ttnn_vae(api, api.device, demo, sd.vae, LATENT_HW, repeats=1)


def test_vae_check_passes_for_the_vae_as_called(sd):
    check = vae_check(sd, standin_vae_class)
    print(check)
    assert check.passed and check.pcc > 0.999 and check.threshold == 0.985
    assert check.detail.startswith("traced; per frame: card ")
    assert "tt-metal budgets its traced decode at 0.478 s on Blackhole" in check.detail


def test_vae_check_fails_for_channels_in_the_wrong_order(sd):
    def bgr_vae_class(api):
        base = standin_vae_class(api)

        class BgrVae(base):
            def decode(self, x):
                out = super().decode(x)
                return api.op("bgr", lambda rows: rows.flip(-1), out)

        return BgrVae

    check = vae_check(sd, bgr_vae_class)
    print(check)
    assert not check.passed and check.pcc < 0.985


def test_vae_check_without_a_ttnn_vae_does_not_apply_and_says_why(sd):
    with pytest.raises(validation.NotApplicable) as raised:
        vae_check(sd, None)
    assert str(raised.value) == ("the tt-metal checkout at tt-metal has no TTNN VAE (tt/vae/ttnn_vae.py); "
                                 "Phase 2 decodes on the CPU with it")


def test_vae_check_keeps_the_traceback_of_a_vae_that_cannot_be_built(sd):
    def broken_vae_class(api):
        class Vae:
            def __init__(self, torch_vae, device):
                raise RuntimeError("TT_FATAL: out of DRAM")

        return Vae

    with pytest.raises(RuntimeError, match="out of DRAM") as raised:
        vae_check(sd, broken_vae_class)
    assert traceback.extract_tb(raised.value.__traceback__)[-1].name == "__init__"  # in tt-metal's (stand-in) Vae
