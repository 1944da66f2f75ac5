"""A stand-in for the part of ttnn's device and trace API that the card path calls (backends/ttnn_trace.py,
ttnn_vae.py, blackhole_backend.CardUNetLoop), and for tt-metal's UNet and VAE objects - never the real
thing: no kernel, no card, no simulator. Values are torch tensors, rounded to bfloat16 wherever a ttnn
bfloat16 tensor would hold them.

It records every call in `log` and enforces what the real API states:
- copy_host_to_device_tensor copies a host tensor into a device tensor of the same shape, dtype and layout
  (ttnn 0.81.1's docstring: "Host and Device tensors must be the same shape, have the same datatype, and
  have the same data layout").
- No host reads or writes while a trace is captured (ttnn.is_trace_capture_active's documentation:
  "Operations that synchronize with host (event recording, reads, writes) are not supported while a trace
  is being captured").
- A capture records the device ops and does not run them (tt-metal's BeginTraceCapture: execution is
  "delayed until the trace is instantiated and enqueued"); execute_trace runs them on whatever the
  buffers hold then, into the same output tensors.
- A device tensor allocated after a trace was captured, and still allocated when that trace executes, is
  overwritten (NaN). tt-metal's allocator warns "Allocating device buffers is unsafe due to the existence
  of an active trace. These buffers may be corrupted once a trace is executed"; the stand-in makes the
  worst case happen every time.
- A freed tensor cannot be used, except a trace's own intermediates (its replay writes them first).

What it cannot tell: whether the real ops accept these shapes, memory configs and dtypes, whether a real
capture succeeds (trace region size, ops that cannot be traced), the device's arithmetic, or any timing.
tests/ttnn_port/test_trace_standin_matches_wheel.py checks its function signatures against the real wheel.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any, Callable, List, Optional, Sequence, Tuple

import torch

BF16, TILE, DRAM = "bfloat16", "TILE", "DRAM"
NAN = float("nan")


class StandinError(AssertionError):
    """The real API (or a card) would refuse this."""


def _store(value: torch.Tensor, dtype: Optional[str]) -> torch.Tensor:
    value = value.detach().float().clone()
    return value.to(torch.bfloat16).float() if dtype == BF16 else value


class Tensor:
    def __init__(self, api: "StandinTtnn", value: torch.Tensor, device: Any, dtype: Optional[str],
                 layout: Optional[str], serial: Optional[int]) -> None:
        self._api, self.value, self.device = api, value, device
        self.dtype, self.layout, self.serial = dtype, layout, serial
        self.allocated = True

    @property
    def shape(self) -> Tuple[int, ...]:
        return tuple(self.value.shape)

    def cpu(self, blocking: bool = True, cq_id: Any = None) -> "Tensor":
        return self._api.from_device(self, blocking)

    def deallocate(self, force: bool = False) -> None:
        self._api.deallocate(self, force)

    def is_allocated(self) -> bool:
        return self.allocated


@dataclass
class _Op:
    name: str
    fn: Callable[..., torch.Tensor]
    inputs: Sequence[Tensor]
    output: Tensor


@dataclass
class _Trace:
    begun_after: int  # serial of the last tensor allocated before the capture began
    ended_after: Optional[int] = None
    ops: List[_Op] = field(default_factory=list)
    released: bool = False


class StandinTtnn:
    bfloat16, TILE_LAYOUT, ROW_MAJOR_LAYOUT, DRAM_MEMORY_CONFIG = BF16, TILE, "ROW_MAJOR", DRAM

    def __init__(self) -> None:
        self.device = "standin-device"
        self.log: List[Tuple[Any, ...]] = []
        self._serials = itertools.count(1)
        self._last = 0
        self._device_tensors: List[Tensor] = []
        self._traces: List[_Trace] = []
        self.capturing: Optional[int] = None

    @staticmethod
    def Shape(dims: Sequence[int]) -> Tuple[int, ...]:  # noqa: N802 - ttnn's name
        return tuple(int(d) for d in dims)

    # --- host <-> device ---

    def from_torch(self, tensor: torch.Tensor, dtype: Optional[str] = None, *, layout: Optional[str] = None,
                   device: Any = None, memory_config: Any = None) -> Tensor:
        value = _store(tensor, dtype)
        if device is None:
            return Tensor(self, value, None, dtype, layout, None)
        self._no_capture("from_torch onto the device (a write from the host)")
        out = self._new(value, device, dtype, layout)
        self.log.append(("upload", out.serial))
        return out

    def to_device(self, tensor: Tensor, device: Any, memory_config: Any = None, *, queue_id: Any = None) -> Tensor:
        self._no_capture("to_device (a write from the host)")
        if tensor.device is not None:
            raise StandinError("to_device takes a host tensor")
        out = self._new(tensor.value.clone(), device, tensor.dtype, tensor.layout)
        self.log.append(("upload", out.serial))
        return out

    def from_device(self, tensor: Tensor, blocking: bool = True, *, queue_id: Any = None) -> Tensor:
        self._no_capture("from_device (a read to the host)")
        self._usable(tensor)
        self.log.append(("read", tensor.serial))
        return Tensor(self, tensor.value.clone(), None, tensor.dtype, tensor.layout, None)

    def to_torch(self, tensor: Tensor, dtype: Any = None, *, torch_rank: Any = None, mesh_composer: Any = None,
                 device: Any = None, cq_id: Any = None) -> torch.Tensor:
        if tensor.device is not None:
            tensor = self.from_device(tensor)
        return tensor.value.clone()

    def allocate_tensor_on_device(self, shape: Sequence[int], dtype: str, layout: str, mesh_device: Any,
                                  memory_config: Any = None) -> Tensor:
        out = self._new(torch.full(tuple(shape), NAN), mesh_device, dtype, layout)
        self.log.append(("allocate", out.serial))
        return out

    def copy_host_to_device_tensor(self, host_tensor: Tensor, device_tensor: Tensor, cq_id: Any = None) -> None:
        self._no_capture("copy_host_to_device_tensor (a write from the host)")
        if host_tensor.device is not None or device_tensor.device is None:
            raise StandinError("copy_host_to_device_tensor copies a host tensor into a device tensor")
        spec = lambda t: (t.shape, t.dtype, t.layout)  # noqa: E731
        if spec(host_tensor) != spec(device_tensor):
            raise StandinError(f"host {spec(host_tensor)} and device {spec(device_tensor)} tensors differ")
        self._usable(device_tensor)
        device_tensor.value = host_tensor.value.clone()
        self.log.append(("write", device_tensor.serial))

    def deallocate(self, tensor: Tensor, force: bool = True) -> None:
        if tensor.device is not None and tensor.allocated:
            tensor.allocated = False
            self.log.append(("free", tensor.serial))

    def synchronize_device(self, device: Any, cq_id: Any = None, sub_device_ids: Sequence[Any] = ()) -> None:
        self._no_capture("synchronize_device")

    # --- traces ---

    def begin_trace_capture(self, mesh_device: Any, *, cq_id: Any = None) -> int:
        if self.capturing is not None:
            raise StandinError("a capture is already running")
        self._traces.append(_Trace(begun_after=self._last))
        self.capturing = len(self._traces) - 1
        self.log.append(("begin_capture", self.capturing))
        return self.capturing

    def end_trace_capture(self, mesh_device: Any, trace_id: int, *, cq_id: Any = None) -> None:
        if self.capturing != trace_id:
            raise StandinError(f"trace {trace_id} is not being captured")
        self._traces[trace_id].ended_after = self._last
        self.capturing = None
        self.log.append(("end_capture", trace_id))

    def execute_trace(self, mesh_device: Any, trace_id: int, *, cq_id: Any = None, blocking: bool = True) -> None:
        self._no_capture("execute_trace")
        trace = self._traces[trace_id]
        if trace.ended_after is None or trace.released:
            raise StandinError(f"trace {trace_id} is not captured or was released")
        self.log.append(("execute", trace_id))
        for tensor in self._device_tensors:  # allocated after the capture and still alive: overwritten
            if tensor.allocated and tensor.serial > trace.ended_after:
                tensor.value = torch.full_like(tensor.value, NAN)
        own = lambda t: trace.begun_after < t.serial <= trace.ended_after  # noqa: E731 - the trace's own tensors
        for op in trace.ops:
            for tensor in op.inputs:
                if not own(tensor):
                    self._usable(tensor)
            op.output.value = _store(op.fn(*[t.value for t in op.inputs]), op.output.dtype)

    def release_trace(self, mesh_device: Any, trace_id: int) -> None:
        self._traces[trace_id].released = True
        self.log.append(("release", trace_id))

    # --- device ops (the card path's permute/reshape, and the stand-in models' work) ---

    def op(self, name: str, fn: Callable[..., torch.Tensor], *inputs: Tensor) -> Tensor:
        for tensor in inputs:
            if tensor.device is None:
                raise StandinError(f"{name}: a device op was given a host tensor")
            self._usable(tensor)
        value = _store(fn(*[t.value for t in inputs]), BF16)  # computed now for its shape
        out = self._new(value, inputs[0].device, BF16, TILE)
        if self.capturing is not None:  # recorded, not run: its output holds nothing until a replay
            out.value = torch.full_like(value, NAN)
            self._traces[self.capturing].ops.append(_Op(name, fn, list(inputs), out))
        self.log.append(("op", name, out.serial))
        return out

    def permute(self, tensor: Tensor, dims: Sequence[int], **_: Any) -> Tensor:
        return self.op("permute", lambda x: x.permute(*dims), tensor)

    def reshape(self, tensor: Tensor, shape: Sequence[int], **_: Any) -> Tensor:
        return self.op("reshape", lambda x: x.reshape(*shape), tensor)

    # --- inspection for the tests ---

    def buffer_writes_between_executes(self) -> List[List[int]]:
        """For every execute: the device tensors written since the previous execute (or the start)."""
        out, written = [], []
        for entry in self.log:
            if entry[0] == "write":
                written.append(entry[1])
            elif entry[0] == "execute":
                out.append(written)
                written = []
        return out

    def live_device_tensors(self) -> List[Tensor]:
        return [t for t in self._device_tensors if t.allocated]

    # --- internals ---

    def _new(self, value: torch.Tensor, device: Any, dtype: Optional[str], layout: Optional[str]) -> Tensor:
        if device is None:
            raise StandinError("a device tensor needs a device")
        self._last = next(self._serials)
        tensor = Tensor(self, value, device, dtype, layout, self._last)
        self._device_tensors.append(tensor)
        return tensor

    def _no_capture(self, what: str) -> None:
        if self.capturing is not None:
            raise StandinError(f"{what} while a trace is being captured")

    @staticmethod
    def _usable(tensor: Tensor) -> None:
        if not tensor.allocated:
            raise StandinError(f"device tensor #{tensor.serial} was used after it was freed")


class StandinTtUNet:
    """tt-metal's UNet2DConditionModel as the card path calls it (its __call__'s keywords at
    ttnn_motion_unet.TT_METAL_COMMIT), backed by a diffusers UNet2DConditionModel: `timestep` is
    time_proj's output pre-permuted to (2, 1, 1, C), and text tokens from 77 on are left out (tt-metal's
    attention masks them; they must be zeros here). On its first call it puts "prepared weights" on the
    device - tt-metal's UNet stores what conv2d(..., return_weights_and_bias=True) returns on its first
    call - and reads them on every call after: a capture without a compile run, or a replay that
    overwrites them, shows."""

    def __init__(self, api: StandinTtnn, device: Any, unet: torch.nn.Module) -> None:
        self.api, self.device, self.unet = api, device, unet
        self.prepared: Optional[Tensor] = None
        self.calls = 0

    def __call__(self, sample: Tensor, timestep: Tensor, encoder_hidden_states: Tensor, config: Any,
                 class_labels: Any = None, attention_mask: Any = None, cross_attention_kwargs: Any = None,
                 return_dict: bool = True) -> Tensor:
        if class_labels is not None or attention_mask is not None or cross_attention_kwargs is not None:
            raise StandinError("tt-metal's UNet asserts these are None")
        if config is None:
            raise StandinError("tt-metal's UNet reads config.center_input_sample")
        self.calls += 1
        if self.prepared is None:
            self.prepared = self.api.from_torch(torch.ones(1), dtype=BF16, layout=TILE, device=self.device)
        return self.api.op("unet", self._forward, sample, timestep, encoder_hidden_states, self.prepared)

    @torch.no_grad()
    def _forward(self, sample: torch.Tensor, temb: torch.Tensor, text: torch.Tensor,
                 prepared: torch.Tensor) -> torch.Tensor:
        if torch.count_nonzero(text[:, 77:]):
            raise StandinError("text tokens 77.. must be zero padding")
        hook = self.unet.time_proj.register_forward_hook(lambda m, a, out: temb.reshape(out.shape).to(out.dtype))
        try:
            out = self.unet(sample, 0, encoder_hidden_states=text[:, :77]).sample
        finally:
            hook.remove()
        return out * prepared


def standin_vae_class(api: StandinTtnn) -> type:
    """A stand-in of tt-metal's `Vae(torch_vae=, device=)` bound to `api`: `decode` takes NHWC latents
    (1, h, w, 4) and returns NHWC rows (1, 1, H*W, 3), backed by diffusers' AutoencoderKL
    (post_quant_conv, then the decoder, as tt-metal's Vae.decode). Prepares weights on its first call
    like the UNet stand-in."""

    class Vae:
        def __init__(self, torch_vae: Any, device: Any) -> None:
            self.torch_vae, self.device = torch_vae, device
            self.prepared: Optional[Tensor] = None

        def decode(self, x: Tensor) -> Tensor:
            if self.prepared is None:
                self.prepared = api.from_torch(torch.ones(1), dtype=BF16, layout=TILE, device=self.device)
            return api.op("vae", self._forward, x, self.prepared)

        @torch.no_grad()
        def _forward(self, nhwc: torch.Tensor, prepared: torch.Tensor) -> torch.Tensor:
            image = self.torch_vae.decode(nhwc.permute(0, 3, 1, 2)).sample
            return image.permute(0, 2, 3, 1).reshape(1, 1, -1, image.shape[1]) * prepared

    return Vae


def standin_card(sd: Any, trace: bool, vae: bool = False, latent_hw: Tuple[int, int] = (8, 8),
                 api: Optional[StandinTtnn] = None) -> Any:
    """The blackhole backend's card path on stand-ins, for the tiny SD models: a CardUNetLoop whose calls
    the backend's own open_card_calls opened (with tt-metal's VAE beside the UNet when `vae`), named and
    labelled as BlackholeUNetBackend is. Everything BlackholeUNetBackend does before (opening the card,
    converting weights with tt-metal's code) is not covered."""
    from animatediff_ttnn.backends import blackhole_backend as bb
    from animatediff_ttnn.backends.ttnn_vae import TtnnVae, vae_scale

    api = api or StandinTtnn()
    tt_unet = StandinTtUNet(api, api.device, sd.unet)
    tt_vae = standin_vae_class(api)(torch_vae=sd.vae, device=api.device) if vae else None
    calls, notes, _ = bb.open_card_calls(api, api.device, tt_unet, sd.unet.config, latent_hw, tt_vae, sd.vae, trace)
    card = bb.CardUNetLoop(calls["unet"], sd.unet.time_proj, sd.scheduler_config, latent_hw,
                           text_width=sd.unet.config.cross_attention_dim)
    card.name, card.api, card.calls, card.notes = "blackhole", api, calls, notes
    card.device_description = f"stand-in card: UNet call {notes['unet']}"
    scale = vae_scale(sd.vae)
    card.vae = TtnnVae(calls["vae"], sd.vae.config.scaling_factor, (latent_hw[0] * scale, latent_hw[1] * scale),
                       notes["vae"]) if "vae" in calls else None
    return card
