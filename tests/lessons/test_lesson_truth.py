"""Claims the lessons make about the code and the models, checked against the code and the models
(random weights on the meta device: the architecture is what the claims are about)."""

import json
import re
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[2]
LESSONS = ROOT / "lessons"


def lesson(name: str) -> str:
    return " ".join((LESSONS / name).read_text(encoding="utf-8").split())  # one line: sentences wrap


def test_download_size_is_the_same_everywhere():
    """The lesson's table is the one source; the walkthrough and the download command repeat its total."""
    sizes = [float(gb) for gb in re.findall(r"\| about ([\d.]+) GB \|", (LESSONS / "03-models.md").read_text())]
    total = f"{sum(sizes):.1f}"
    assert len(sizes) == 2 and total == "6.1"
    assert f"about {total} GB" in (ROOT / "package.json").read_text()
    assert f"~{total} GB" in (ROOT / "python/tt-animatediff/animatediff_ttnn/download.py").read_text()


def test_the_default_device_is_what_lesson_01_says(monkeypatch):
    from animatediff_ttnn.runtime import device

    text = lesson("01-environment.md")
    assert re.search(r"by default it takes a CUDA GPU if torch sees one, then Apple's MPS, then the CPU", text)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert device.pick_device("auto").type == "cuda"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: True)
    assert device.pick_device("auto").type == "mps"
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    assert device.pick_device("auto").type == "cpu"


@pytest.fixture(scope="module")
def v152_adapter():
    """A MotionAdapter shaped like guoyww/animatediff-motion-adapter-v1-5-2, and the SD 1.x UNet."""
    from diffusers import MotionAdapter, UNet2DConditionModel

    with torch.device("meta"):
        adapter = MotionAdapter(block_out_channels=(320, 640, 1280, 1280), motion_layers_per_block=2,
                                motion_max_seq_length=32, use_motion_mid_block=True)
        unet = UNet2DConditionModel(sample_size=64, cross_attention_dim=768)
    return adapter, unet


def test_lesson_04_counts_the_motion_modules(v152_adapter):
    adapter, unet = v152_adapter
    blocks = [*adapter.down_blocks, *adapter.up_blocks, adapter.mid_block]
    modules = sum(len(block.motion_modules) for block in blocks)
    params = sum(p.numel() for p in adapter.parameters())
    unet_params = sum(p.numel() for p in unet.parameters())
    text = lesson("04-phase1.md")
    assert f"{modules} motion modules with {params / 1e6:.0f} M parameters" in text  # 21, 453 M
    assert f"the SD UNet itself ({unet_params / 1e6:.0f} M)" in text  # 860 M
    assert 0.45 < params / unet_params < 0.6  # "about half"


def test_lesson_03_motion_modules_have_no_cross_attention(v152_adapter):
    """Why SD 2.x's 1024-wide text encoder is not the reason the adapter does not fit it."""
    adapter, _ = v152_adapter
    attentions = [m for m in adapter.modules() if type(m).__name__ == "Attention"]
    assert attentions and not any(a.is_cross_attention for a in attentions)
    assert "they have no cross-attention" in lesson("03-models.md")


def test_gpu_figures_only_with_a_benchmark_record():
    """No GPU was measured for the record (benchmarks/*.json): the lessons quote none."""
    records = " ".join(p.read_text() for p in (ROOT / "benchmarks").glob("*.json"))
    for path in sorted(LESSONS.glob("*.md")):
        for gpu in re.findall(r"\b(?:NVIDIA [A-Z]?\w+|H100|A100|RTX \d+)\b", path.read_text()):
            assert gpu in records, f"{path.name} quotes {gpu} without a benchmark record"


def test_lesson_05_says_where_the_button_is_that_the_card_path_never_ran():
    text = lesson("05-phase2.md")
    button = text.index("[Run Phase 2 on Blackhole]")
    assert "has not yet run on a Blackhole card" in text[button:button + 600]


def test_lesson_05_card_times_are_tt_metals_budgets_for_what_the_code_runs(monkeypatch):
    """Lesson 05 gives tt-metal's budgets for a traced UNet call and a traced VAE decode, labelled as its
    budgets, because the blackhole backend traces the call and decodes on the card unless told not to;
    the CPU VAE figure is the record's (issue 23)."""
    import inspect

    from animatediff_ttnn import ttnn_pipeline
    from animatediff_ttnn.backends import trace_checks, ttnn_trace, ttnn_vae

    text = lesson("05-phase2.md")
    unet_s, vae_s = trace_checks.TT_METAL_UNET_TRACE_BUDGET_S, trace_checks.TT_METAL_VAE_TRACE_BUDGET_S
    assert f"{unet_s} s per traced UNet call and {vae_s} s per traced VAE decode" in text
    assert f"about {26 * unet_s:.1f} s for a frame's 26 UNet calls at 25 steps plus {vae_s:.1f} s for its decode" in text
    assert "These are tt-metal's budgets for its own demo, not measurements of this code" in text
    assert "TTNN PNDM scheduler" not in text and "needs at least 4 steps" not in text
    monkeypatch.delenv(ttnn_trace.TRACE_ENV, raising=False)
    monkeypatch.delenv(ttnn_vae.VAE_ENV, raising=False)
    assert ttnn_trace.trace_wanted() and ttnn_vae.card_vae_wanted()  # what the lesson says happens by default
    assert "vae=sd.vae" in inspect.getsource(ttnn_pipeline.select_backend)  # the card gets the VAE to decode
    record = (ROOT / "benchmarks" / "presets-latest.md").read_text()
    seconds = float(re.search(r"VAE decode, one frame at the job's size: float32 ([\d.]+) s", record).group(1))
    assert f"takes {seconds:.1f} s per 512x512 frame in fp32" in text


# --- issue 21: statements corrected against their sources, each check failing on the old text ---------

def bench(name: str) -> dict:
    return json.loads((ROOT / "benchmarks" / name).read_text(encoding="utf-8"))


def test_the_reference_module_and_its_groupnorm_are_named_rightly():
    """diffusers' AnimateDiffTransformer3D normalises the 5-D (B, C, F, H, W) tensor - statistics across
    frames - while guoyww's motion_module.py (786a99cc), where the weights were trained, rearranges
    `b c f h w -> (b f) c h w` before its norm. The lessons say which is which."""
    from diffusers.models.unets.unet_motion_model import AnimateDiffTransformer3D

    module = AnimateDiffTransformer3D(num_attention_heads=2, attention_head_dim=8, in_channels=16, norm_num_groups=4,
                                      positional_embeddings="sinusoidal", num_positional_embeddings=8)
    seen = []
    module.norm.register_forward_pre_hook(lambda _m, args: seen.append(tuple(args[0].shape)))
    module(torch.randn(2 * 3, 16, 4, 4), num_frames=3)
    assert seen == [(2, 16, 3, 4, 4)]  # (batch, channels, frames, h, w): one GroupNorm over all frames

    nine, eight = lesson("09-phase3.md"), lesson("08-motion-module.md")
    assert "the module the motion adapter's weights were trained in" not in nine
    assert "were trained in guoyww's original `motion_module.py` and converted" in nine
    assert "the statistics already span the frames" not in eight
    assert "`b c f h w -> (b f) c h w` first: its statistics are per frame" in eight and "786a99cc" in eight
    assert "follow diffusers, because Phase 3 must draw Phase 1's frames" in eight


def test_lesson_05_vae_and_card_figures_are_the_records_and_say_what_they_are():
    vae = bench("presets-latest.json")["jobs"]["vae"]
    text = lesson("05-phase2.md")
    assert "roughly 6-8 s per frame" not in text
    assert (f"{vae['float32']['s_per_frame']:.1f} s per 512x512 frame in fp32 and "
            f"{vae['bfloat16']['s_per_frame']:.1f} s in bf16") in text
    # What the card path does (traced UNet, TTNN VAE) is test_lesson_05_card_times_are_tt_metals_budgets...


def test_lesson_04_size_and_precision_factors_are_the_records():
    presets, speedups = bench("presets-latest.json")["jobs"], bench("cpu-speedups-latest.json")["variants"]
    bf16_call, fp32_call = speedups["bf16, torch's kernels (as shipped)"]["s"], speedups["fp32, MKL linear (diffusers' kernels)"]["s"]
    size_bf16 = presets["ours-quality"]["step_median_s"] / bf16_call
    size_fp32 = presets["bare-quality"]["step_median_s"] / fp32_call
    text = lesson("04-phase1.md")
    assert "512x512 costs about four times as much per step" not in text
    assert f"5 to 7 times a 256x256 one on that CPU ({size_bf16:.1f}x in bf16, {size_fp32:.1f}x in fp32" in text
    assert 5 <= size_bf16 <= 7 and 5 <= size_fp32 <= 7
    per_call = fp32_call / bf16_call
    per_step = presets["bare-quality"]["step_median_s"] / presets["ours-quality"]["step_median_s"]
    device_doc = (ROOT / "python/tt-animatediff/animatediff_ttnn/runtime/device.py").read_text()
    for where in (text, " ".join(device_doc.split())):
        assert "3-5x" not in where
        assert f"a UNet call {per_call:.1f}x and a" in where and f"step {per_step:.1f}x faster than" in where


def test_lesson_04_kept_memory_compares_what_the_record_compares():
    """The kept-memory process ran twice (its peak over both runs); the malloc-defaults process ran once."""
    presets = bench("presets-latest.json")["jobs"]
    kept, defaults = presets["ours-lightning"], presets["ours-lightning-malloc-defaults"]
    assert len(kept.get("warm_runs", [])) == 1 and "warm_runs" not in defaults
    text = lesson("04-phase1.md")
    assert "for a peak of 10.0 GB instead of 8.1 GB" not in text
    assert (f"peaked at {kept['peak_rss_mb'] / 1024:.1f} GB over two runs in a row, the one with malloc's defaults at "
            f"{defaults['peak_rss_mb'] / 1024:.1f} GB over a single run") in text


def test_lesson_04_says_whose_rule_the_lightning_step_count_is_and_what_changes_the_arithmetic():
    from animatediff_ttnn.models.presets import lightning_file

    speedups = bench("cpu-speedups-latest.json")["variants"]
    onednn = speedups["fp32, oneDNN linear (cpu_speedups.py, as shipped)"]["rel_diff_vs_fp32_mkl"]
    text = lesson("04-phase1.md")
    assert "a checkpoint only works with the step count it was trained for" not in text
    assert f"one checkpoint per step count, named by it (`{lightning_file(4)}`)" in text
    assert "this lesson refuses it (a policy of ours" in text
    assert "and only bf16 changes the arithmetic" not in text
    assert "oneDNN's kernels for the linear layers of an fp32 run (they change the rounding" in text
    assert 1e-7 < onednn < 1e-5 and "about 1e-6" in text


def test_lesson_04_decision_table_quotes_the_record():
    from benchmarks.fast_report import to_gif

    jobs = bench("presets-latest.json")["jobs"]
    text = lesson("04-phase1.md")
    rows = {"lightning": f"about {round(to_gif(jobs['ours-lightning']), -1):.0f} s",
            "animatelcm": f"about {round(to_gif(jobs['ours-animatelcm']), -1):.0f} s",
            "quality": f"about {to_gif(jobs['ours-quality']) / 60:.0f} min (projected from 2 measured steps)"}
    table = text[text.index("## How to pick a preset"):]
    for preset, figure in rows.items():
        assert f"`{preset}`" in table and figure in table, (preset, figure)
    cold = jobs["ours-lightning"]["load_s"] + to_gif(jobs["ours-lightning"])
    assert f"took about {round(cold, -1):.0f} s on a 2-core AMD EPYC CPU with native bf16, model loading included" in text


def test_lesson_08_says_lightning_ships_single_files():
    from animatediff_ttnn.models.presets import lightning_file

    text = lesson("08-motion-module.md")
    assert "a diffusers folder such as the Lightning adapters" not in text
    assert f"a single `.safetensors` file in diffusers' key names such as a Lightning checkpoint, `{lightning_file(4)}`" in text


def test_lesson_10_says_why_automatic_windows_are_the_position_tables_length():
    from diffusers import AnimateDiffPipeline

    from animatediff_ttnn.creative.long_clips import resolve_windows

    assert resolve_windows(33, 32).context_length == 32 and resolve_windows(32, 32) is None  # what the text says
    recommends = " ".join(AnimateDiffPipeline.enable_free_noise.__doc__.split())
    assert "recommended to set this to the maximum frames the Motion Adapter was trained with" in recommends
    text = lesson("10-longer-and-directed.md")
    assert "at the window's length. A `--context-length` above the adapter's window" not in text
    assert "only above 32 frames, the length of the adapter's position table" in text
    assert "more than the 16 frames the v1-5-2 adapter was trained on" in text
    assert "diffusers' `enable_free_noise` recommends windows of the trained length" in text
    doc = " ".join((ROOT / "python/tt-animatediff/animatediff_ttnn/creative/long_clips.py").read_text().split())
    assert "was trained on clips of at most `motion_max_seq_length` frames" not in doc
    assert "it was trained on 16-frame clips" in doc


def test_lesson_09_marks_the_l1_claim_as_reasoning_and_says_phase_3_ignores_presets():
    from animatediff_ttnn.params import SPEC

    text = lesson("09-phase3.md")
    assert "which at 64x64 no longer fits in L1: it runs" not in text
    flat = " ".join(text.split())  # the claim is now a plan checked against tt-metal's formulas, and says so
    assert "That is arithmetic on the source, not a card" in flat and "group_norm_plan()" in flat
    assert SPEC["preset"].phases == (1,)  # Phase 3 takes no preset: the sidecar refuses one
    run = text.index("[Run Phase 3](command:animatediff.runPhase3)")
    assert "ignores the form's *Phase 1 preset*: Phase 3 always runs the Quality preset's model and sampler" in text[run:run + 400]


def test_lesson_04_quotes_the_first_run_record_on_a_cpu_without_bf16():
    """The first click measured on an AVX2-only CPU (fp32), from its record (issue 21's measurement)."""
    record = bench("first-run-latest.json")
    first = next(job for job in record["jobs"] if job["name"] == "A")
    assert record["machine"]["cpu_capability"] == "AVX2" and first["run"]["dtype"] == "float32"
    assert first["request"]["preset"] == "lightning" and first["run"]["params"]["width"] == 512
    seconds = first["total_s"]
    text = lesson("04-phase1.md")
    assert (f"same first click took {seconds:.0f} s, about {seconds / 60:.0f} minutes (a 2-core AMD EPYC with "
            "AVX2 only") in text
