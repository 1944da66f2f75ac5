"""The VAE seam (backends/vae_backend.py): the torch VAE as every phase's default and the fallback, run for
real on the tiny models; tt-metal's TTNN VAE (backends/ttnn_vae.py) on a stand-in of ttnn and of
tt-metal's `Vae` (ttnn_standin.py), backed by the same tiny diffusers VAE.

Proves: decode_frame through TorchVae gives the pictures the torch VAE gave before the seam; the TTNN
VAE's plumbing (latents scaled on the host, NCHW into the call's buffer, NHWC on the card, the image back
as (3, H, W)) equals the torch VAE within bfloat16 rounding, traced and untraced; Phase 2 decodes with
the backend's VAE when it brings one and with the torch VAE otherwise, and the run record says which
(and that the card's is not yet run on a card); every reason to fall back to the CPU VAE is named.
Cannot prove: that tt-metal's real VAE accepts these tensors or how close its arithmetic is (the
validation's PCC check does that on a card), or any timing - no card and no simulator here.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import torch
from conftest import SMALL
from PIL import Image
from ttnn_standin import StandinTtnn, standin_card, standin_vae_class

from animatediff_ttnn import ttnn_pipeline
from animatediff_ttnn.backends import ttnn_vae
from animatediff_ttnn.backends.ttnn_trace import open_calls
from animatediff_ttnn.backends.vae_backend import TorchVae, vae_for
from animatediff_ttnn.params import GenerationParams

LATENT_HW = (8, 8)


@pytest.fixture(scope="module")
def sd(tiny_models):
    from animatediff_ttnn.models.loading import load_sd_components

    return load_sd_components(tiny_models["sd"], torch.float32)


def latents(seed=0):
    torch.manual_seed(seed)
    return torch.randn(1, 4, *LATENT_HW)


def test_torch_vae_decodes_as_before_the_seam(sd):
    """The decode the torch loop always did (diffusers' VAE of latents / scaling_factor, clamped to
    pixels), now behind TorchVae."""
    z = latents()
    with torch.no_grad():
        image = sd.vae.decode(z / sd.vae.config.scaling_factor).sample[0]
    before = ((image.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).permute(1, 2, 0).numpy()
    after = ttnn_pipeline.decode_frame(TorchVae(sd.vae), z)
    assert isinstance(after, Image.Image) and np.array_equal(np.asarray(after), before)


@pytest.mark.parametrize("trace", [True, False])
def test_ttnn_vae_on_standins_equals_the_torch_vae_within_bfloat16(sd, trace):
    card = standin_card(sd, trace, vae=True, latent_hw=LATENT_HW)
    assert card.notes["vae"] == ("traced" if trace else "untraced (ANIMATEDIFF_TTNN_TRACE=0 or trace=False)")
    for seed in (1, 2):  # a second frame: the traced buffer is rewritten, not replayed stale
        got, want = card.vae.decode(latents(seed)), TorchVae(sd.vae).decode(latents(seed))
        assert got.shape == want.shape == (3, 64, 64)
        err = (got - want).abs().max() / want.abs().max()
        assert err < 0.03, err  # bfloat16 latents in, bfloat16 image out
    assert "not yet run on a card by us" in card.vae.description


def test_a_wrong_layout_is_caught(sd, monkeypatch):
    """The comparison above can fail: the card's NHWC image read back as if it were NCHW."""
    real = ttnn_vae.vae_call

    def no_final_permute(ttnn, tt_vae, latent_hw, scale):
        run, inputs = real(ttnn, tt_vae, latent_hw, scale)
        h, w = latent_hw[0] * scale, latent_hw[1] * scale
        return (lambda latents: ttnn.reshape(tt_vae.decode(ttnn.permute(latents, (0, 2, 3, 1))), (1, 3, h, w))), inputs

    monkeypatch.setattr(ttnn_vae, "vae_call", no_final_permute)
    api = StandinTtnn()
    tt_vae = standin_vae_class(api)(torch_vae=sd.vae, device=api.device)
    calls, _ = open_calls(api, api.device, {"vae": ttnn_vae.vae_call(api, tt_vae, LATENT_HW, 8)}, trace=True)
    card = ttnn_vae.TtnnVae(calls["vae"], sd.vae.config.scaling_factor, (64, 64), "traced")
    got, want = card.decode(latents(1)), TorchVae(sd.vae).decode(latents(1))
    assert (got - want).abs().max() / want.abs().max() > 0.5


def params(**kw):
    return GenerationParams(**{"prompt": "a lighthouse", "num_frames": 2, "steps": 2, "seed": 3, **SMALL, **kw})


def test_phase2_decodes_on_the_backends_vae_and_records_it(sd, tiny_models, monkeypatch, tmp_path):
    from animatediff_ttnn.ttnn_pipeline import Phase2Pipeline, run_phase2

    card = standin_card(sd, trace=True, vae=True, latent_hw=LATENT_HW)
    monkeypatch.setattr(ttnn_pipeline, "select_backend", lambda *args, **kwargs: card)
    pipeline = Phase2Pipeline(sd, backend="torch")
    result = run_phase2(params(), tmp_path / "card.gif", pipeline=pipeline)
    meta = result.metadata
    assert meta["backend"] == "blackhole" and meta["device"] == "stand-in card: UNet call traced"
    assert meta["vae"] == "tt-metal TTNN VAE on the Blackhole card (traced; not yet run on a card by us)"
    executes = [e[1] for e in card.api.log if e[0] == "execute"]
    vae_trace = 1  # captured after the UNet's
    assert executes.count(vae_trace) == 2  # one decode per frame, on the card

    monkeypatch.undo()
    torch_run = run_phase2(params(), tmp_path / "torch.gif", pipeline=Phase2Pipeline(sd, backend="torch"))
    assert torch_run.metadata["vae"] == "torch VAE on cpu (float32)"  # the fallback, run for real
    diff = np.abs(np.stack([np.asarray(f, dtype=int) for f in result.frames])
                  - np.stack([np.asarray(f, dtype=int) for f in torch_run.frames]))
    print(f"stand-in card vs torch: mean {diff.mean():.2f}, max {diff.max()} pixel levels")
    assert diff.mean() < 1 and diff.max() <= 8  # bfloat16 in the UNet calls and the decode


def test_vae_for_prefers_the_backends_own():
    torch_vae = SimpleNamespace(dtype=torch.float32, device=torch.device("cpu"))
    own = object()
    assert vae_for(SimpleNamespace(vae=own), torch_vae) is own
    assert isinstance(vae_for(SimpleNamespace(vae=None), torch_vae), TorchVae)
    assert isinstance(vae_for(SimpleNamespace(), torch_vae), TorchVae)


def test_every_reason_for_the_cpu_vae_is_named(sd, tmp_path):
    demo = SimpleNamespace(vae_class=None, demo_dir=tmp_path)
    assert ttnn_vae.build_tt_vae(demo, "card", sd.vae, wanted=False) == (None, "ANIMATEDIFF_TTNN_VAE=0 or vae_on_card=False")
    assert ttnn_vae.build_tt_vae(demo, "card", sd.vae) == (
        None, f"the tt-metal checkout at {tmp_path} has no TTNN VAE (tt/vae/ttnn_vae.py)")

    def failing(torch_vae, device):
        raise RuntimeError("TT_FATAL: out of DRAM backtrace: 0x1 0x2")

    assert ttnn_vae.build_tt_vae(SimpleNamespace(vae_class=failing), "card", sd.vae) == (
        None, "tt-metal's TTNN VAE could not be built (RuntimeError: TT_FATAL: out of DRAM)")


def test_phase3_gets_an_untraced_card_vae_or_the_cpu_one_saying_why(sd):
    api = StandinTtnn()
    demo = SimpleNamespace(vae_class=standin_vae_class(api), demo_dir="tt-metal")
    vae = ttnn_vae.untraced_card_vae(api, api.device, demo, sd.vae, LATENT_HW)
    assert vae.name == "ttnn" and "untraced" in vae.description
    assert not [e for e in api.log if e[0] == "begin_capture"]
    torch.testing.assert_close(vae.decode(latents()), TorchVae(sd.vae).decode(latents()), atol=0.05, rtol=0)

    class Broken:
        def __init__(self, torch_vae, device):
            pass

        def decode(self, x):
            raise RuntimeError("TT_FATAL: bad shard")

    fallback = ttnn_vae.untraced_card_vae(api, api.device, SimpleNamespace(vae_class=Broken), sd.vae, LATENT_HW)
    assert fallback.name == "torch"
    assert fallback.description == ("torch VAE on cpu (float32): tt-metal's TTNN VAE failed its first run on the "
                                    "card (vae: RuntimeError: TT_FATAL: bad shard)")


def test_vae_switch(monkeypatch):
    assert ttnn_vae.card_vae_wanted()
    monkeypatch.setenv(ttnn_vae.VAE_ENV, "0")
    assert not ttnn_vae.card_vae_wanted()
