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
