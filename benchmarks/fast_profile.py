"""Where a Fast (Lightning 4-step) run's time goes, and A/B of exact speed-up candidates, in one process.

    python -m benchmarks.fast_profile [--quick] [--ab unet,vae,compile,ops,candidates] [--runs 2]
        [--write-latest [--latest-name NAME]]

1. cold: load our Phase 1 pipeline with the Lightning preset (model load timed);
2. `--runs` generations of the seed's job (8 frames, 512x512, 4 steps, no CFG), each timed by hooks:
   text encoding, each UNet call, each VAE decode call (the first run in a fresh process pays
   oneDNN's first-call costs; the later ones are what a studio sidecar that keeps its models sees);
3. A/B, alternating the variants so drifting load hits both: one UNet call (channels_last or not;
   SDPA backend), one VAE decode per dtype / layout / chunk size, with PSNR against fp32; with `compile`,
   the UNet eager vs torch.compile (Inductor, freezing): compile time, per-call time, difference;
   with `ops`, the share of one UNet call's CPU time by kind of operator (torch.profiler); with
   `candidates`, one UNet call with each exact speed-up candidate on (oneDNN linear, fused q/k/v projections,
   attention heads padded, channels_last) against the default, alternating, with the output's difference.
Prints one JSON line (BENCH_RESULT) with everything.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import replace
from typing import Any, Dict, List

from benchmarks.common import emit, peak_rss_mb, workload


def timed_hooks(module, name: str, log: Dict[str, List[float]]):
    starts: List[float] = []

    def pre(*_):
        starts.append(time.perf_counter())

    def post(*_):
        log.setdefault(name, []).append(round(time.perf_counter() - starts.pop(), 3))

    return [module.register_forward_pre_hook(pre), module.register_forward_hook(post)]


def profile_runs(pipeline, params, runs: int) -> List[Dict[str, Any]]:
    from animatediff_ttnn.runtime.timings import Timings

    pipe, out = pipeline.pipe, []
    vae_decode = pipe.vae.decode
    for _ in range(runs):
        log: Dict[str, List[float]] = {}
        hooks = timed_hooks(pipe.unet, "unet_calls", log) + timed_hooks(pipe.text_encoder, "text_encoder", log)

        def decode(*a, **k):
            t0 = time.perf_counter()
            r = vae_decode(*a, **k)
            log.setdefault("vae_decode_calls", []).append(round(time.perf_counter() - t0, 3))
            return r

        pipe.vae.decode = decode
        timings = Timings()
        t0 = time.perf_counter()
        try:
            pipeline.generate(params, timings=timings)
        finally:
            for h in hooks:
                h.remove()
            pipe.vae.decode = vae_decode
        wall = time.perf_counter() - t0
        out.append({"wall_s": round(wall, 2), "encode_s": round(timings.encode_s, 2),
                    "decode_s": round(timings.decode_s, 2), **log})
    return out


def best_time(fn, reps: int) -> float:
    best = float("inf")
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return round(best, 3)


def unet_inputs(unet, params):
    """One Lightning step's UNet input: latents (1, 4, F, h, w) and text (F, 77, D), seeded, in the UNet's dtype."""
    import torch

    g = torch.Generator().manual_seed(0)
    x = torch.randn(1, 4, params.num_frames, params.height // 8, params.width // 8, generator=g).to(unet.dtype)
    text = torch.randn(params.num_frames, 77, unet.config.cross_attention_dim, generator=g).to(unet.dtype)
    return x, text


def ab_unet(pipeline, params, reps: int) -> Dict[str, Any]:
    """One Lightning step's UNet call: default layout vs channels_last; SDPA backends."""
    import torch
    from torch.nn.attention import SDPBackend, sdpa_kernel

    unet = pipeline.pipe.unet
    x, text = unet_inputs(unet, params)
    call = lambda: unet(x, 500, encoder_hidden_states=text).sample  # noqa: E731
    res: Dict[str, Any] = {}
    with torch.no_grad():
        ref = call().float()
        res["default_s"] = []
        res["channels_last_s"] = []
        for _ in range(reps):
            res["default_s"].append(best_time(call, 1))
            unet.to(memory_format=torch.channels_last)
            res["channels_last_s"].append(best_time(call, 1))
            cl = call().float()
            unet.to(memory_format=torch.contiguous_format)
        res["channels_last_rel_diff"] = float((cl - ref).norm() / ref.norm())
        for backend in ("MATH", "FLASH_ATTENTION"):
            try:
                with sdpa_kernel(getattr(SDPBackend, backend)):
                    res[f"sdpa_{backend.lower()}_s"] = best_time(call, 1)
                    out = call().float()
                res[f"sdpa_{backend.lower()}_rel_diff"] = float((out - ref).norm() / ref.norm())
            except RuntimeError as exc:
                res[f"sdpa_{backend.lower()}"] = str(exc)[:200]
    return res


# Self CPU time by kind (the first match wins): the compute-bound kinds, then what the floor leaves out
# (issue 24: GroupNorm + SiLU, GEGLU's GELU and product, layer norms, copies and layout changes).
class PaddedHeadsSDPA:
    """diffusers' AttnProcessor2_0 arithmetic with the head size padded with zeros to a multiple of `multiple`
    and the real scale 1/sqrt(head size) passed to SDPA: the zero columns add nothing to q.k and produce zero
    output columns, which are dropped, so the result is the same up to rounding. A candidate for CPUs whose
    SDPA kernel is faster at head sizes that fill its vector registers (SD 1.x's first level has 40)."""

    def __init__(self, multiple: int):
        self.multiple = multiple

    def __call__(self, attn, hidden_states, encoder_hidden_states=None, attention_mask=None, temb=None, *args, **kwargs):
        import torch.nn.functional as F

        assert attention_mask is None and attn.spatial_norm is None and attn.group_norm is None and not attn.residual_connection
        batch = hidden_states.shape[0]
        context = hidden_states if encoder_hidden_states is None else encoder_hidden_states
        q, k, v = attn.to_q(hidden_states), attn.to_k(context), attn.to_v(context)
        d = q.shape[-1] // attn.heads
        padded = -(-d // self.multiple) * self.multiple

        def heads(x):
            x = x.view(batch, -1, attn.heads, d).transpose(1, 2)
            return F.pad(x, (0, padded - d)) if padded != d else x

        out = F.scaled_dot_product_attention(heads(q), heads(k), heads(v), scale=d ** -0.5)[..., :d]
        out = out.transpose(1, 2).reshape(batch, -1, attn.heads * d).to(q.dtype)
        return attn.to_out[1](attn.to_out[0](out)) / attn.rescale_output_factor


def candidate(unet, name: str):
    """Switch one exact speed-up candidate on; returns the function that switches it off again."""
    import torch

    if name == "onednn_linear":
        from animatediff_ttnn.runtime.cpu_speedups import OneDNNLinear

        swapped = [m for m in unet.modules() if type(m) is torch.nn.Linear]
        for m in swapped:
            m.__class__ = OneDNNLinear
        return lambda: [setattr(m, "__class__", torch.nn.Linear) for m in swapped]
    if name == "fused_qkv":
        unet.fuse_qkv_projections()
        return unet.unfuse_qkv_projections
    if name.startswith("pad_heads_"):
        before = unet.attn_processors
        unet.set_attn_processor(PaddedHeadsSDPA(int(name.rsplit("_", 1)[1])))
        return lambda: unet.set_attn_processor(before)
    if name == "channels_last":
        unet.to(memory_format=torch.channels_last)
        return lambda: unet.to(memory_format=torch.contiguous_format)
    raise ValueError(f"unknown candidate {name!r}")


CANDIDATES = ("onednn_linear", "fused_qkv", "pad_heads_16", "pad_heads_64", "channels_last")


def ab_candidates(pipeline, params, reps: int, names=CANDIDATES) -> Dict[str, Any]:
    """One Lightning step's UNet call with each exact candidate on, alternating with the default so drifting
    load hits both: seconds per call (best of each round) and the relative difference of the output."""
    import torch

    unet = pipeline.pipe.unet
    x, text = unet_inputs(unet, params)
    call = lambda: unet(x, 500, encoder_hidden_states=text).sample  # noqa: E731
    res: Dict[str, Any] = {"default_s": []}
    with torch.no_grad():
        ref = call().float()
        for name in names:
            try:
                off = candidate(unet, name)
            except Exception as exc:  # noqa: BLE001 - a candidate this diffusers/torch cannot take is reported
                res[name] = f"not applicable: {type(exc).__name__}: {exc}"[:300]
                continue
            try:
                out = call().float()
            finally:
                off()
            res[name] = {"s": [], "rel_diff_vs_default": float((out - ref).norm() / ref.norm())}
        for _ in range(reps):
            res["default_s"].append(best_time(call, 1))
            for name in names:
                if isinstance(res.get(name), dict):
                    off = candidate(unet, name)
                    try:
                        res[name]["s"].append(best_time(call, 1))
                    finally:
                        off()
    return res


OP_KINDS = {"attention (SDPA)": ("scaled_dot_product",), "convolution": ("convolution",),
            "linear (matmul)": ("addmm", "aten::mm", "aten::bmm", "linear_pointwise"),
            "group norm": ("group_norm",), "layer norm": ("layer_norm",), "silu": ("aten::silu",),
            "gelu": ("aten::gelu",), "mul": ("aten::mul",), "add": ("aten::add",),
            "copies / layout": ("aten::copy_", "aten::clone", "aten::contiguous", "aten::cat", "aten::_to_copy",
                                "aten::to_dense", "reorder")}


def op_shares(pipeline, params) -> Dict[str, Any]:
    """One Lightning step's UNet call under torch.profiler: self CPU time by kind of operator."""
    import torch
    from torch.profiler import ProfilerActivity, profile

    unet = pipeline.pipe.unet
    x, text = unet_inputs(unet, params)
    with torch.no_grad():
        unet(x, 500, encoder_hidden_states=text)  # first-call costs out of the way
        with profile(activities=[ProfilerActivity.CPU]) as prof:
            unet(x, 500, encoder_hidden_states=text)
    totals = {kind: 0.0 for kind in OP_KINDS}
    totals["other"] = 0.0
    for event in prof.key_averages():
        kind = next((k for k, names in OP_KINDS.items() if any(n in event.key for n in names)), "other")
        totals[kind] += event.self_cpu_time_total
    whole = sum(totals.values())
    return {"call_s": round(whole / 1e6, 2), **{k: round(v / whole, 3) for k, v in totals.items()}}


def ab_compile(pipeline, params, reps: int) -> Dict[str, Any]:
    """One Lightning step's UNet call, eager vs torch.compile with Inductor's freezing (weights folded
    and prepacked for oneDNN), in this process: what the compile costs and what each call saves."""
    import torch
    import torch._inductor.config as inductor

    inductor.freezing = True
    unet = pipeline.pipe.unet
    x, text = unet_inputs(unet, params)
    compiled = torch.compile(unet)
    res: Dict[str, Any] = {}
    with torch.no_grad():
        ref = unet(x, 500, encoder_hidden_states=text).sample.float()
        t0 = time.perf_counter()
        out = compiled(x, 500, encoder_hidden_states=text).sample.float()
        res["compile_and_first_call_s"] = round(time.perf_counter() - t0, 1)
        res["compiled_rel_diff_vs_eager"] = float((out - ref).norm() / ref.norm())
        res["eager_s"], res["compiled_s"] = [], []
        for _ in range(reps):
            res["eager_s"].append(best_time(lambda: unet(x, 500, encoder_hidden_states=text), 1))
            res["compiled_s"].append(best_time(lambda: compiled(x, 500, encoder_hidden_states=text), 1))
    res["peak_rss_mb"] = peak_rss_mb()
    return res


def ab_vae(w, reps: int) -> Dict[str, Any]:
    """The SD VAE decoder at the job's size: dtype x layout x frames per call; PSNR vs fp32."""
    import numpy as np
    import torch
    from diffusers import AutoencoderKL

    latents = torch.randn(8, 4, w.height // 8, w.width // 8, generator=torch.Generator().manual_seed(0))
    res: Dict[str, Any] = {}
    images = {}
    for dtype in (torch.float32, torch.bfloat16):
        vae = AutoencoderKL.from_pretrained(w.sd, subfolder="vae", torch_dtype=dtype).eval()
        for cl in (False, True):
            vae.to(memory_format=torch.channels_last if cl else torch.contiguous_format)
            for chunk in ((1, 2) if dtype == torch.float32 else (1, 2, 4)):
                x = latents[:chunk].to(dtype)
                if cl:
                    x = x.contiguous(memory_format=torch.channels_last)
                name = f"{str(dtype)[6:]}{'_cl' if cl else ''}_chunk{chunk}"
                with torch.no_grad():
                    t = best_time(lambda: vae.decode(x / vae.config.scaling_factor), reps)
                    img = vae.decode(x[:1] / vae.config.scaling_factor).sample
                res[name + "_s_per_frame"] = round(t / chunk, 3)
                images[name] = ((img.float().clamp(-1, 1) + 1) * 127.5).round().numpy()
        del vae
    ref = images["float32_chunk1"]
    for name, img in images.items():
        mse = float(np.mean((img - ref) ** 2))
        res[name + "_psnr_db"] = None if mse == 0 else round(10 * np.log10(255.0**2 / mse), 1)
    return res


def main(argv=None) -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--quick", action="store_true")
    p.add_argument("--runs", type=int, default=2)
    p.add_argument("--reps", type=int, default=2)
    p.add_argument("--ab", default="unet,vae")
    p.add_argument("--candidates", default=",".join(CANDIDATES),
                   help=f"with --ab candidates: which of {', '.join(CANDIDATES)} (more rounds for one that is unclear)")
    p.add_argument("--write-latest", action="store_true", help="also write benchmarks/NAME-latest.json")
    p.add_argument("--latest-name", default="fast-profile", metavar="NAME",
                   help="the record's name: a candidates A/B on another CPU kind keeps the profile record it would replace")
    args = p.parse_args(argv)
    candidates = tuple(filter(None, args.candidates.split(",")))
    unknown = set(candidates) - set(CANDIDATES)
    if unknown:
        p.error(f"unknown candidate(s) {', '.join(sorted(unknown))}: choose from {', '.join(CANDIDATES)}")
    import os

    w = workload("quick" if args.quick else "full", steps=4)
    if not args.quick:
        w = replace(w, width=512, height=512)
    from pathlib import Path

    os.environ.setdefault("HF_HUB_CACHE", str(Path(w.sd).parent / "hf-cache"))
    import torch

    from animatediff_ttnn.params import GenerationParams
    from animatediff_ttnn.pipeline import Phase1Pipeline

    result: Dict[str, Any] = {"threads": torch.get_num_threads(), "load_avg_before": os.getloadavg()}
    t0 = time.perf_counter()
    pipeline, load_s = Phase1Pipeline.from_sources(w.sd, None, device="cpu", preset="lightning", steps=4)
    result["load_s"] = round(load_s, 2)
    result["dtype"] = pipeline.describe()["dtype"]
    params = GenerationParams(**{**w.params(), "steps": 4, "guidance_scale": 1.0, "negative_prompt": ""})
    result["runs"] = profile_runs(pipeline, params, args.runs)
    result["cold_time_to_frames_s"] = round(time.perf_counter() - t0 - sum(r["wall_s"] for r in result["runs"][1:]), 2)
    ab = set(args.ab.split(","))
    if "unet" in ab:
        result["unet_ab"] = ab_unet(pipeline, params, args.reps)
    if "candidates" in ab:
        result["candidates_ab"] = ab_candidates(pipeline, params, args.reps, candidates)
    if "ops" in ab:
        result["op_shares"] = op_shares(pipeline, params)
    if "compile" in ab:
        result["compile_ab"] = ab_compile(pipeline, params, args.reps)
    del pipeline
    if "vae" in ab:
        result["vae_ab"] = ab_vae(w, args.reps)
    result["peak_rss_mb"] = peak_rss_mb()
    result["load_avg_after"] = os.getloadavg()
    emit(result)
    if args.write_latest:
        from benchmarks.common import ROOT, machine
        from benchmarks.run import shareable_json

        record = {"kind": "fast-profile", "finished": time.strftime("%Y-%m-%d %H:%M:%S"), "machine": machine(),
                  "ab": args.ab, **result}
        (ROOT / "benchmarks" / f"{args.latest_name}-latest.json").write_text(shareable_json(record))


if __name__ == "__main__":
    main()
