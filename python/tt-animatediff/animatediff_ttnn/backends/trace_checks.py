"""Two card checks of Phase 2's speed path, for the validation (backends/validation.py): is the traced UNet
call the untraced one, and does tt-metal's TTNN VAE decode as diffusers' VAE does? Each returns a
validation.Measured carrying the times it measured, so the first run on a card measures both next to
tt-metal's own budgets; validation_run.run_validation runs them after the Phase 2 check, on a device
opened with tt-metal's trace region. A call whose trace cannot be captured raises (a crash, with the
capture's own error as its cause); a checkout without a TTNN VAE raises validation.NotApplicable
(the check is skipped, saying why: Phase 2 decodes on the CPU there).

NOT RUN ON A CARD BY US. tests/python/test_trace_checks.py runs both on stand-ins of ttnn and tt-metal's
objects: that proves the checks' plumbing and that each can fail; the PCC and the seconds a card reports
are what only a card can give.
"""

from __future__ import annotations

import statistics
import time
from typing import Any, Callable, Dict, List, Sequence, Tuple

import torch

from .blackhole_backend import pad_text_embeddings, time_projection, unet_call, unet_output
from .ttnn_trace import UntracedCall, open_calls
from .ttnn_vae import VAE_PCC, TtnnVae, build_tt_vae, vae_call, vae_scale
from .validation import Measured, NotApplicable, pcc
from .vae_backend import TorchVae

PCC_TRACE = 0.9999  # the same programs on the same inputs: a replay should give the untraced call's output
# tt-metal's budgets on Blackhole (test_perf.py at tt-metal commit df42a59a22860d907f01f28ee2f4ac7ba536d93f:
# test_stable_diffusion_unet_trace, test_stable_diffusion_vae_trace), quoted in the report beside ours.
TT_METAL_UNET_TRACE_BUDGET_S = 0.072
TT_METAL_VAE_TRACE_BUDGET_S = 0.478
TIMESTEPS = (981, 501)  # two steps of a 25-step PNDM schedule: different time embeddings


def _timed(call: Callable[[], torch.Tensor], repeats: int) -> Tuple[torch.Tensor, float, float, float]:
    """(last output, seconds of the first call, median seconds of `repeats` calls after it, the largest
    difference between the first and the last output: 0 unless the card is nondeterministic)."""
    start = time.perf_counter()
    first_out = out = call()
    first = time.perf_counter() - start
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        out = call()
        times.append(time.perf_counter() - start)
    return out, first, statistics.median(times) if times else first, float((out - first_out).abs().max())


def _result(got: torch.Tensor, want: torch.Tensor, threshold: float, first_s: float, steady_s: float,
            repeat_difference: float, detail: str) -> Measured:
    """The one place that shapes a check's result for the validation's report."""
    got, want = got.float(), want.float()
    return Measured(pcc=round(pcc(got, want), 6), threshold=threshold,
                    max_error=round(float((got - want).abs().max()), 6), first_call_s=round(first_s, 4),
                    steady_s=round(steady_s, 4), repeat_max_difference=round(repeat_difference, 6), detail=detail)


def check_traced_unet_call(ttnn: Any, device: Any, tt_unet: Any, unet: Any, latent_hw: Sequence[int] = (64, 64),
                           repeats: int = 3) -> Measured:
    """tt-metal's UNet called untraced and traced on two different inputs (latents, timestep and text all
    differ, so a buffer the traced call failed to rewrite shows as a wrong second output); the PCC of the
    worse traced output against its untraced one. The untraced calls come first: they allocate and free
    everything before a trace exists."""
    run, inputs = unet_call(tt_unet, unet.config, latent_hw)
    untraced = UntracedCall(ttnn, device, run, inputs)
    torch.manual_seed(4)
    width = unet.config.cross_attention_dim
    cases: List[Dict[str, Any]] = []
    for t in TIMESTEPS:
        latents = torch.randn(1, inputs["sample"][1], *latent_hw)
        cases.append({"sample": untraced.host("sample", torch.cat([latents, latents])),
                      "timestep": untraced.host("timestep", time_projection(unet.time_proj, t)),
                      "text": untraced.host("text", pad_text_embeddings(torch.randn(2, 77, width), width=width))})
    want, untraced_s = [], []
    for case in cases:
        out, _, steady, _ = _timed(lambda: untraced(**case), repeats)
        want.append(unet_output(out, latent_hw))
        untraced_s.append(steady)
    start = time.perf_counter()
    calls, notes = open_calls(ttnn, device, {"unet": (run, inputs)}, trace=True)
    opened_s = time.perf_counter() - start
    call = calls["unet"]
    try:
        if not call.traced:  # open_calls fell back to the untraced call: the failed capture is the finding
            raise RuntimeError(f"the UNet call was not traced: {notes['unet']}") from call.capture_error
        got, firsts, steadies, repeats_differ = [], [], [], []
        for case in cases:
            out, first, steady, differ = _timed(lambda: call(**case), repeats)
            got.append(unet_output(out, latent_hw))
            firsts.append(first)
            steadies.append(steady)
            repeats_differ.append(differ)
    finally:
        call.release()
    worst = min(range(len(cases)), key=lambda i: pcc(got[i], want[i]))
    steady = statistics.median(steadies)
    detail = (f"per call: untraced {statistics.median(untraced_s):.3f} s, traced {steady:.3f} s (median of "
              f"{repeats}); compile + capture {opened_s:.1f} s; tt-metal budgets a traced call at "
              f"{TT_METAL_UNET_TRACE_BUDGET_S} s on Blackhole")
    return _result(got[worst], want[worst], PCC_TRACE, firsts[0], steady, max(repeats_differ), detail)


def check_ttnn_vae(ttnn: Any, device: Any, sd: Any, torch_vae: Any, latent_hw: Sequence[int] = (64, 64),
                   trace: bool = True, repeats: int = 2) -> Measured:
    """tt-metal's TTNN VAE (traced, as Phase 2 runs it) against the torch VAE on the CPU, on the same
    latents; PCC >= 0.985, tt-metal's own threshold for its traced VAE. The latents are drawn so that the
    VAE sees standard-normal input, as in tt-metal's test."""
    if sd.vae_class is None:
        raise NotApplicable(f"{build_tt_vae(sd, device, torch_vae)[1]}; Phase 2 decodes on the CPU with it")
    tt_vae = sd.vae_class(torch_vae=torch_vae, device=device)  # as build_tt_vae, but a failure keeps its traceback
    start = time.perf_counter()
    calls, notes = open_calls(ttnn, device, {"vae": vae_call(ttnn, tt_vae, latent_hw, vae_scale(torch_vae))}, trace)
    opened_s = time.perf_counter() - start
    scale = vae_scale(torch_vae)
    card = TtnnVae(calls["vae"], torch_vae.config.scaling_factor, (latent_hw[0] * scale, latent_hw[1] * scale),
                   notes["vae"])
    try:
        torch.manual_seed(5)
        latents = torch.randn(1, 4, *latent_hw) * torch_vae.config.scaling_factor
        got, first_s, card_s, differ = _timed(lambda: card.decode(latents), repeats)
    finally:
        calls["vae"].release()
    start = time.perf_counter()
    want = TorchVae(torch_vae).decode(latents)
    cpu_s = time.perf_counter() - start
    detail = (f"{notes['vae']}; per frame: card {card_s:.3f} s (median of {repeats}), CPU torch VAE {cpu_s:.2f} s; "
              f"open {opened_s:.1f} s; tt-metal budgets its traced decode at {TT_METAL_VAE_TRACE_BUDGET_S} s on "
              f"Blackhole")
    return _result(got, want, VAE_PCC, first_s, card_s, differ, detail)
