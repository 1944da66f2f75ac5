"""The bring-up check of ttnn_temporal.py on a CPU: its TtTemporalTransformer, run with every ttnn op as
that op's golden function (golden.py), against diffusers' AnimateDiffTransformer3D with the same random
weights and input. `examples/check_ttnn_port.py` runs it on the copy in your scratchpad; the tests in
tests/ttnn_port use the same cases and thresholds.

Only the module's public face is used - `TtTemporalTransformer(ttnn, state_dict)` and calling it with
the F frames - so any rewrite of its insides is checked as it is.

What a pass proves and what it cannot: see golden.py. What is compared is the motion *branch*
(output - input): the output is input + branch, and the input alone already correlates with it, so a
wrong branch could hide behind the residual.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Callable, List, Optional, Sequence, Tuple

import torch

from .validation import pcc

BATCH = 2  # [uncond, cond], as the TTNN UNet runs
BRANCH_PCC_MIN = 0.995  # bfloat16 storage after every op; tt-metal's SD tests accept ~0.99 on a card
MAX_ERR_REL = 0.03  # worst element error, relative to the branch's largest magnitude (bfloat16 keeps 8 bits)


@dataclass(frozen=True)
class Case:
    channels: int
    side: int  # latent height = width
    frames: int
    why: str

    @property
    def name(self) -> str:
        return f"C={self.channels} {self.side}x{self.side} F={self.frames}"


# What each case would catch. Small sizes: the check takes seconds on a CPU.
CASES: Tuple[Case, ...] = (
    Case(64, 4, 5, "5 of 32 frame rows real: the padded frames must be masked out of every softmax"),
    Case(64, 4, 16, "16 frames, the length the v1-5-2 adapter was trained on"),
    Case(320, 16, 16, "SD's first level width: heads of 40 values padded to 64"),
    Case(640, 8, 8, "the second level: heads of 80 values padded to 96"),
)


@dataclass
class CaseResult:
    case: Case
    pcc: float
    max_error: float
    scale: float
    seconds: float

    @property
    def passed(self) -> bool:
        return self.pcc >= BRANCH_PCC_MIN and self.max_error <= MAX_ERR_REL * self.scale

    def line(self) -> str:
        verdict = "PASS" if self.passed else "FAIL"
        return (f"{verdict}  {self.case.name:22} motion branch PCC {self.pcc:.6f} (needs >= {BRANCH_PCC_MIN}), "
                f"max error {self.max_error:.4f} (needs <= {MAX_ERR_REL} x {self.scale:.2f})  [{self.case.why}]")


def motion_module(channels: int, seed: int = 0, max_frames: int = 32) -> torch.nn.Module:
    """A diffusers AnimateDiffTransformer3D configured as MotionAdapter builds one, with random norms too
    (so a wrong affine parameter cannot hide behind weight 1, bias 0)."""
    from diffusers.models.unets.unet_motion_model import AnimateDiffTransformer3D

    torch.manual_seed(seed)
    module = AnimateDiffTransformer3D(
        num_attention_heads=8, attention_head_dim=channels // 8, in_channels=channels, num_layers=1,
        norm_num_groups=32, cross_attention_dim=None, attention_bias=False, activation_fn="geglu",
        positional_embeddings="sinusoidal", num_positional_embeddings=max_frames, double_self_attention=True,
    )
    with torch.no_grad():
        for name, p in module.named_parameters():
            if "norm" in name:
                p.copy_((1.0 if name.endswith("weight") else 0.0) + 0.2 * torch.randn_like(p))
    return module.eval()


def to_frames(x: torch.Tensor, batch: int, num_frames: int) -> List[torch.Tensor]:
    """(B*F, C, H, W), frames inner as diffusers orders them -> F tensors [1, 1, B*H*W, C] (tt-metal's layout)."""
    _, c, h, w = x.shape
    x = x.reshape(batch, num_frames, c, h, w)
    return [x[:, f].permute(0, 2, 3, 1).reshape(1, 1, batch * h * w, c) for f in range(num_frames)]


def from_frames(frames: List[torch.Tensor], batch: int, height: int, width: int) -> torch.Tensor:
    """Inverse of to_frames."""
    c = frames[0].shape[-1]
    x = torch.stack([f.reshape(batch, height, width, c) for f in frames], dim=1)  # (B, F, H, W, C)
    return x.permute(0, 1, 4, 2, 3).reshape(-1, c, height, width)


def branches(ttnn: Any, channels: int, frames: int, height: int, width: int, seed: int = 0,
             mutate: Optional[Callable[[Any], None]] = None, module_class: Any = None):
    """(TTNN branch, diffusers' branch, the GoldenTtnn used) for one random module and input."""
    from .golden import GoldenTtnn

    if module_class is None:
        from ..ttnn_temporal import TtTemporalTransformer as module_class
    reference = motion_module(channels, seed)
    torch.manual_seed(seed + 1)
    x = torch.randn(BATCH * frames, channels, height, width)
    with torch.no_grad():
        expected = reference(x, num_frames=frames)
    golden = GoldenTtnn(ttnn)
    tt_module = module_class(golden, reference.state_dict())
    if mutate is not None:
        mutate(tt_module)
    inputs = [golden.from_torch(f, dtype=ttnn.bfloat16) for f in to_frames(x, BATCH, frames)]
    out = tt_module(inputs, batch=BATCH, height=height, width=width)
    if len(out) != frames or any(tuple(o.shape) != (1, 1, BATCH * height * width, channels) for o in out):
        raise AssertionError(f"expected {frames} frames of shape (1, 1, {BATCH * height * width}, {channels}), "
                             f"got {[tuple(o.shape) for o in out]}")
    return from_frames(out, BATCH, height, width) - x, expected - x, golden


def compare(branch: torch.Tensor, expected: torch.Tensor) -> Tuple[float, float, float]:
    """(PCC, max error, the expected branch's largest magnitude)."""
    return pcc(branch, expected), float((branch - expected).abs().max()), float(expected.abs().max())


def run_case(ttnn: Any, case: Case, module_class: Any = None) -> CaseResult:
    t0 = time.perf_counter()
    branch, expected, _ = branches(ttnn, case.channels, case.frames, case.side, case.side, module_class=module_class)
    return CaseResult(case, *compare(branch, expected), seconds=time.perf_counter() - t0)


def check_port(ttnn: Any, cases: Sequence[Case] = CASES, module_class: Any = None,
               report: Callable[[str], None] = print) -> bool:
    """Run every case, reporting one line each; True when all pass."""
    results = []
    for case in cases:
        result = run_case(ttnn, case, module_class)
        report(result.line())
        results.append(result)
    return all(r.passed for r in results)
