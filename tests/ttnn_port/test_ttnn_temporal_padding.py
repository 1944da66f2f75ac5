"""The padded frames (F..31 of the 32-row frame tile) must hold finite numbers: their keys get -1e9, so
softmax gives them weight 0 - but 0 x NaN is NaN in probs @ V, and one NaN row would spread to every
real frame of its pixel.

On a card, the F real rows of [1, B*H*W, F, C] sit in 32-row tiles whose remaining rows are implicit
padding, and ttnn.pad to 32 rows may only relabel them: no op promises what they hold. The golden
emulation has no such rows (a torch tensor holds exactly its logical shape), so it cannot see this.
UndefinedPaddingTtnn below models it: a pad exposes NaN in the new rows unless the tensor went through
ttnn.fill_implicit_tile_padding first.

Proves: ttnn_temporal zeroes that padding before it becomes frames, a NaN there reaches the output
(the check is sensitive), and after the pad every tensor up to the final slice is tile-aligned in its
last two dims, so the pad is the only place where padding turns into frames. Cannot prove: what the
device's pad and fill_implicit_tile_padding kernels write (the card check does, by its PCC and a
finite output).
"""

from __future__ import annotations

import pytest
import torch
from golden_ttnn import GoldenTtnn, round_bf16
from temporal_cases import from_frames, motion_module, pcc, to_frames

import ttnn
from animatediff_ttnn.ttnn_temporal import TtTemporalTransformer

BATCH = 2


class UndefinedPaddingTtnn(GoldenTtnn):
    """GoldenTtnn, where padding rows a pad exposes are NaN unless they were filled first; records the
    shape of every op's result between the pad and the final slice."""

    def __init__(self, real):
        super().__init__(real)
        self.filled = {}  # id -> tensor (kept alive, so an id is never reused)
        self.after_pad = []
        golden_pad, golden_slice = self._ops["pad"], self._ops["slice"]
        self._recording = False

        def fill(tensor, value, **_):
            self.calls.append("fill_implicit_tile_padding")
            out = tensor.clone()  # its padding rows now hold `value` (there are none to show in torch)
            self.filled[id(out)] = out
            return out

        def pad(tensor, padding, value=0.0, **kwargs):
            out = golden_pad(tensor, padding, value=value, **kwargs)
            if id(tensor) not in self.filled:  # what the tile padding held: anything
                out[..., tensor.shape[-2]:, :] = float("nan")
            self._recording = True
            return out

        def sliced(*args, **kwargs):
            self._recording = False
            return golden_slice(*args, **kwargs)

        self._ops.update(fill_implicit_tile_padding=fill, pad=pad, slice=sliced)
        for ops in (self._ops, self._ops["transformer"]._ops):
            for name, op in list(ops.items()):
                if name not in ("fill_implicit_tile_padding", "pad", "slice", "from_torch", "transformer"):
                    ops[name] = self._record(name, op)

    def _record(self, name, op):
        def run(*args, **kwargs):
            out = op(*args, **kwargs)
            if self._recording and isinstance(out, torch.Tensor):
                self.after_pad.append((name, tuple(out.shape)))
            return out

        return run


def run(frames: int, adapter_class=UndefinedPaddingTtnn):
    module = motion_module(64, seed=4)
    torch.manual_seed(5)
    x = torch.randn(BATCH * frames, 64, 4, 4)
    with torch.no_grad():
        want = module(x, num_frames=frames) - x
    golden = adapter_class(ttnn)
    out = TtTemporalTransformer(golden, module.state_dict())(
        [round_bf16(f) for f in to_frames(x, BATCH, frames)], batch=BATCH, height=4, width=4)
    return from_frames(out, BATCH, 4, 4) - x, want, golden


@pytest.mark.parametrize("frames", [1, 5, 31])
def test_padded_frames_are_zeroed_before_they_become_frames(frames):
    got, want, golden = run(frames)
    assert bool(torch.isfinite(got).all()), "NaN from the padded frames reached the output"
    assert pcc(got, want) > 0.999
    assert golden.calls.index("fill_implicit_tile_padding") < golden.calls.index("pad")


def test_the_check_sees_a_missing_fill(monkeypatch):
    """Without the fill, the model's NaN padding reaches every output row: the check above can fail."""
    monkeypatch.setattr(UndefinedPaddingTtnn, "__init__", _without_fill(UndefinedPaddingTtnn.__init__))
    got, _, _ = run(5)
    assert torch.isnan(got).all()


def _without_fill(init):
    def patched(self, real):
        init(self, real)
        self._ops["fill_implicit_tile_padding"] = lambda tensor, value, **_: tensor  # forgets to fill
    return patched


def test_after_the_pad_every_tensor_is_whole_tiles():
    """So the pad is the only op where tile padding becomes data; the heads' padding is zero weights."""
    _, _, golden = run(5)
    assert golden.after_pad, "nothing recorded between the pad and the slice"
    ragged = [(name, shape) for name, shape in golden.after_pad
              if len(shape) >= 2 and (shape[-1] % 32 or shape[-2] % 32)]
    assert ragged == []
