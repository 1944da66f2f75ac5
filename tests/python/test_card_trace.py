"""Phase 2's traced UNet call (backends/ttnn_trace.py, blackhole_backend.CardUNetLoop) against a stand-in of
ttnn's device and trace API and of tt-metal's UNet (ttnn_standin.py), with the tiny random-weight SD UNet
doing the arithmetic, run by the real Phase 2 loop (ttnn_pipeline.denoise_frames).

Proves: every replay is preceded by writes of all three inputs (latents, time embedding, text) into the
traced buffers and followed by a read of its output; a traced run gives exactly the untraced run's frames
and the torch backend's within bfloat16 rounding; the calls are compiled before any capture, and a
device buffer made after a capture would be overwritten (the stand-in overwrites it); a failed capture
falls back to the untraced call and says so. Each of these is shown to fail when the rule is broken.
Cannot prove: that a real card accepts these calls (trace region size, ops that cannot be traced, memory
configs), its arithmetic, or any timing - no card and no simulator here. tests/ttnn_port checks the
stand-in's signatures against the ttnn wheel.
"""

from __future__ import annotations

import copy

import pytest
import torch
from ttnn_standin import StandinError, StandinTtnn, StandinTtUNet, standin_card, standin_vae_class

from animatediff_ttnn.backends import blackhole_backend as bb
from animatediff_ttnn.backends import ttnn_trace
from animatediff_ttnn.backends.torch_backend import TorchUNetBackend
from animatediff_ttnn.ttnn_pipeline import denoise_frames, frame_noise

FRAMES, STEPS, GUIDANCE = 2, 2, 7.5
LATENT_HW = (8, 8)


@pytest.fixture(scope="module")
def sd(tiny_models):
    from animatediff_ttnn.models.loading import load_sd_components

    return load_sd_components(tiny_models["sd"], torch.float32)


def text_embeddings(sd):
    torch.manual_seed(7)
    return torch.randn(2, 77, sd.unet.config.cross_attention_dim)


def card_loop(sd, trace, api=None, vae=False):
    card = standin_card(sd, trace, vae, LATENT_HW, api)
    return card, card.calls, card.notes, card.api


def run_loop(backend, sd):
    starts = frame_noise(3, FRAMES, (1, 4, *LATENT_HW), 0.05)
    text = backend.prepare_text_embeddings(text_embeddings(sd))
    return torch.stack(denoise_frames(backend, text, starts, STEPS, GUIDANCE))


_untraced = {}


def untraced_frames(sd):
    if "frames" not in _untraced:
        _untraced["frames"] = run_loop(card_loop(sd, trace=False)[0], sd)
    return _untraced["frames"]


def unwritten_inputs(api, call):
    """For each replay, the traced buffers not written since the replay before it."""
    buffers = {t.serial: name for name, t in call.buffers.items()}
    return [sorted(set(buffers.values()) - {buffers[s] for s in written if s in buffers})
            for written in api.buffer_writes_between_executes()]


def test_every_replay_writes_all_inputs_first_and_reads_its_output_after(sd):
    loop, calls, notes, api = card_loop(sd, trace=True)
    run_loop(loop, sd)
    call = calls["unet"]
    assert notes["unet"] == "traced" and call.traced
    executes = [i for i, entry in enumerate(api.log) if entry[0] == "execute"]
    assert len(executes) == FRAMES * (STEPS + 1)  # PNDM: steps + 1 UNet calls per frame
    assert unwritten_inputs(api, call) == [[]] * len(executes)
    for i in executes:  # the output is read before anything else touches the card
        assert api.log[i + 1] == ("read", call.output.serial)
    # the capture ran after the compile run, and nothing ran on the card after it but writes, replays, reads
    capture = api.log.index(("end_capture", 0))
    assert {entry[0] for entry in api.log[capture + 1:]} <= {"write", "execute", "read"}


def test_traced_equals_untraced_and_torch_within_bfloat16(sd):
    traced = run_loop(card_loop(sd, trace=True)[0], sd)
    untraced = untraced_frames(sd)
    # a copy: the torch backend switches its UNet's linear layers to oneDNN where that pays (runtime/cpu_speedups.py),
    # which would change the rounding of the module-wide `sd` the stand-in card runs in the later tests
    reference = run_loop(TorchUNetBackend(copy.deepcopy(sd.unet), sd.scheduler_config), sd)
    assert torch.equal(traced, untraced)  # the same stand-in arithmetic: the trace changes nothing else
    err = (traced - reference).abs().max() / reference.abs().max()
    print(f"card loop on stand-ins vs torch backend: max error {err:.2e} of the largest value")
    assert err < 0.02  # bfloat16 storage of the inputs and outputs of every call


def test_a_buffer_left_unwritten_is_caught(sd, monkeypatch):
    """The two checks above can fail: a traced call that writes the latents only on its first replay."""
    real = ttnn_trace.TracedCall._write
    seen = []

    def write_latents_once(self, host_inputs):
        if seen:
            host_inputs = dict(host_inputs)
            real_copy = self.ttnn.copy_host_to_device_tensor
            for name in ("timestep", "text"):
                real_copy(host_inputs[name], self.buffers[name])
            return
        seen.append(True)
        real(self, host_inputs)

    monkeypatch.setattr(ttnn_trace.TracedCall, "_write", write_latents_once)
    loop, calls, _, api = card_loop(sd, trace=True)
    stale = run_loop(loop, sd)
    monkeypatch.undo()
    assert ["sample"] in unwritten_inputs(api, calls["unet"])
    assert not torch.equal(stale, untraced_frames(sd))


def test_the_unet_and_vae_are_compiled_before_either_is_captured(sd):
    """With the VAE opened beside the UNet, UNet replays leave the VAE's prepared weights alone."""
    loop, calls, notes, api = card_loop(sd, trace=True, vae=True)
    assert notes == {"unet": "traced", "vae": "traced"}
    first_capture = api.log.index(("begin_capture", 0))
    assert sum(1 for e in api.log[:first_capture] if e[:2] == ("op", "vae")) == 1  # its compile run
    run_loop(loop, sd)  # UNet replays
    latents = torch.randn(1, 4, *LATENT_HW)
    image = calls["vae"](latents=calls["vae"].host("latents", latents))
    assert torch.isfinite(image).all()


def test_a_vae_compiled_after_the_unet_capture_is_overwritten(sd):
    """Why open_calls compiles everything first: the stand-in overwrites what is allocated after a capture
    (here the VAE's prepared weights, as tt-metal's allocator warns), and the VAE decodes NaN."""
    api = StandinTtnn()
    run, inputs = bb.unet_call(StandinTtUNet(api, api.device, sd.unet), sd.unet.config, LATENT_HW)
    unet = ttnn_trace.TracedCall(api, api.device, run, inputs)
    unet.compile()
    unet.capture()
    tt_vae = standin_vae_class(api)(torch_vae=sd.vae, device=api.device)
    from animatediff_ttnn.backends.ttnn_vae import vae_call

    vae = ttnn_trace.TracedCall(api, api.device, *vae_call(api, tt_vae, LATENT_HW, 8))
    vae.compile()
    vae.capture()
    unet(**unet.zeros())
    image = vae(latents=vae.host("latents", torch.randn(1, 4, *LATENT_HW)))
    assert torch.isnan(image).all()


def test_a_capture_needs_the_compile_run_first(sd):
    """tt-metal's UNet writes its prepared weights to the card on its first call; a capture allows no writes."""
    api = StandinTtnn()
    run, inputs = bb.unet_call(StandinTtUNet(api, api.device, sd.unet), sd.unet.config, LATENT_HW)
    call = ttnn_trace.TracedCall(api, api.device, run, inputs)
    with pytest.raises(StandinError, match="while a trace is being captured"):
        call.capture()
    assert api.capturing is None  # capture mode was left, the failed trace released
    assert api.log[-1] == ("release", 0)


def test_a_failed_capture_runs_untraced_and_says_why(sd):
    api = StandinTtnn()
    tt_unet = StandinTtUNet(api, api.device, sd.unet)
    run, inputs = bb.unet_call(tt_unet, sd.unet.config, LATENT_HW)

    def untraceable(**kwargs):
        if api.capturing is not None:
            raise RuntimeError("TT_FATAL: trace region too small backtrace: ...")
        return run(**kwargs)

    calls, notes = ttnn_trace.open_calls(api, api.device, {"unet": (untraceable, inputs)}, trace=True)
    assert not calls["unet"].traced
    assert notes["unet"] == "untraced: its trace capture failed (RuntimeError: TT_FATAL: trace region too small)"
    loop = bb.CardUNetLoop(calls["unet"], sd.unet.time_proj, sd.scheduler_config, LATENT_HW,
                           text_width=sd.unet.config.cross_attention_dim)
    assert torch.equal(run_loop(loop, sd), untraced_frames(sd))


def test_a_vae_that_fails_its_first_run_leaves_the_unet_traced(sd):
    api = StandinTtnn()

    class BrokenVae:
        def __init__(self, torch_vae, device):
            pass

        def decode(self, x):
            raise RuntimeError("TT_FATAL: out of L1")

    calls, notes, why = bb.open_card_calls(api, api.device, StandinTtUNet(api, api.device, sd.unet), sd.unet.config,
                                           LATENT_HW, BrokenVae(sd.vae, api.device), sd.vae, trace=True)
    assert set(calls) == {"unet"} and notes == {"unet": "traced"}
    assert why == "tt-metal's TTNN VAE failed its first run on the card (vae: RuntimeError: TT_FATAL: out of L1)"
    buffers = {entry[1] for entry in api.log if entry[0] == "allocate"}  # the failed attempt's were freed
    assert buffers & {t.serial for t in api.live_device_tensors()} == {b.serial for b in calls["unet"].buffers.values()}


def test_release_frees_the_trace_and_its_buffers(sd):
    _, calls, _, api = card_loop(sd, trace=True)
    call = calls["unet"]
    held = [*call.buffers.values(), call.output]
    call.release()
    assert ("release", 0) in api.log and not any(t.allocated for t in held)


def test_inputs_of_the_wrong_shape_are_refused_before_the_card(sd):
    loop, calls, _, api = card_loop(sd, trace=True)
    with pytest.raises(ValueError, match=r"input 'sample' must have shape \(2, 4, 8, 8\), got \(2, 4, 8, 9\)"):
        calls["unet"].host("sample", torch.zeros(2, 4, 8, 9))
    with pytest.raises(ValueError, match=r"\[uncond, cond\] of shape \(2, 77, 32\)"):
        loop.prepare_text_embeddings(torch.zeros(2, 77, 768))


def test_trace_switch(monkeypatch):
    assert ttnn_trace.trace_wanted()
    for off in ("0", "false", "off"):
        monkeypatch.setenv(ttnn_trace.TRACE_ENV, off)
        assert not ttnn_trace.trace_wanted()
