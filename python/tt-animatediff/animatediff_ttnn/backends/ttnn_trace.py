"""One call on the card (tt-metal's UNet, or its VAE), run as a captured trace or as it is.

A trace records the device commands of one call once; `execute_trace` replays them without the host
dispatching each op again. tt-metal's perf test budgets a traced SD 1.4 UNet call at 0.072 s on
Blackhole, and a traced VAE decode at 0.478 s (its budgets, not our measurements). A replay reads its
inputs from the same device buffers and writes the same output buffer every time, hence the rules
`TracedCall` follows, in the order tt-metal's SD demo does it (tenstorrent/tt-metal, read at commit
df42a59a22860d907f01f28ee2f4ac7ba536d93f: models/demos/vision/generative/stable_diffusion/wormhole/
tests/test_perf.py, test_stable_diffusion_unet_trace and test_stable_diffusion_vae_trace; the same
steps in sd_helper_funcs.py compile_trace_sd at 5acdb73a02ff684165c2eb594272caf36571ce52; nothing
is copied):

1. The inputs live in device buffers allocated once (`allocate_tensor_on_device`, bfloat16, TILE,
   DRAM), and *every* call writes *all* of them (`copy_host_to_device_tensor`) before it replays.
2. The call runs once untraced before it is captured (the demo's COMPILE step): that compiles its
   programs, and tt-metal's UNet uploads its prepared conv weights on its first call - a write from
   the host, which a capture does not allow.
3. The output is read back to the host after each replay, before the next replay overwrites it.
4. A device buffer allocated after a capture may be overwritten when that trace replays (tt-metal's
   allocator warns so). So `open_calls` compiles every call before it captures the first, and the
   Phase 2 loop keeps its latents and scheduler on the host between replays.

`UntracedCall` has the same interface (upload, run, read back, free: each call on its own). It is the
fallback when a capture fails, and the switch: ANIMATEDIFF_TTNN_TRACE=0.

NOT RUN ON A CARD BY US. tests/python/test_card_trace.py checks these rules against a stand-in of
ttnn's trace API (it proves the order of the calls, not that a card accepts them);
backends/trace_checks.py compares a traced with an untraced call on a card.
"""

from __future__ import annotations

import os
from typing import Any, Callable, Dict, Mapping, Optional, Sequence, Tuple

import torch

from .tt_metal import short_error

TRACE_ENV = "ANIMATEDIFF_TTNN_TRACE"

Run = Callable[..., Any]  # device tensors, one keyword per input name -> one device tensor
Inputs = Mapping[str, Sequence[int]]  # input name -> shape


def trace_wanted() -> bool:
    """Trace unless ANIMATEDIFF_TTNN_TRACE is 0/false/no/off."""
    return os.environ.get(TRACE_ENV, "1").strip().lower() not in ("0", "false", "no", "off")


class _Call:
    traced = False
    capture_error: Optional[BaseException] = None  # why open_calls runs this call untraced, if it tried to trace it

    def __init__(self, ttnn: Any, device: Any, run: Run, inputs: Inputs) -> None:
        self.ttnn, self.device, self.run = ttnn, device, run
        self.inputs: Dict[str, Tuple[int, ...]] = {name: tuple(int(s) for s in shape) for name, shape in inputs.items()}

    def host(self, name: str, tensor: torch.Tensor) -> Any:
        """A torch tensor as the host ttnn tensor for input `name` (bfloat16, TILE): the form every
        call takes, so a caller converts what does not change (text, time embeddings) once."""
        want = self.inputs[name]
        if tuple(tensor.shape) != want:
            raise ValueError(f"input {name!r} must have shape {want}, got {tuple(tensor.shape)}")
        ttnn = self.ttnn
        return ttnn.from_torch(tensor.detach().float().cpu().contiguous(), dtype=ttnn.bfloat16, layout=ttnn.TILE_LAYOUT)

    def zeros(self) -> Dict[str, Any]:
        return {name: self.host(name, torch.zeros(shape)) for name, shape in self.inputs.items()}

    def _check(self, host_inputs: Mapping[str, Any]) -> None:
        if set(host_inputs) != set(self.inputs):
            raise ValueError(f"this call takes exactly {sorted(self.inputs)}, got {sorted(host_inputs)}")

    def read(self, output: Any) -> torch.Tensor:
        ttnn = self.ttnn
        return ttnn.to_torch(ttnn.from_device(output)).float()  # from_device waits for the card

    def compile(self) -> None:
        """One run on zeros: compiles the programs and lets the model put what it prepares on its first
        call on the card, before any trace is captured."""
        self(**self.zeros())

    def release(self) -> None:
        pass


class UntracedCall(_Call):
    """Each call uploads its inputs, runs, reads the output back and frees what it allocated - so
    nothing it allocates outlives a replay of another call's trace."""

    def __call__(self, **host_inputs: Any) -> torch.Tensor:
        self._check(host_inputs)
        ttnn = self.ttnn
        on_device = {name: ttnn.to_device(host_inputs[name], self.device, memory_config=ttnn.DRAM_MEMORY_CONFIG)
                     for name in self.inputs}
        output = None
        try:
            output = self.run(**on_device)
            return self.read(output)
        finally:
            free(ttnn, output, *on_device.values())


class TracedCall(_Call):
    """`compile()`, then `capture()`, then any number of calls; `release()` at the end."""

    traced = True

    def __init__(self, ttnn: Any, device: Any, run: Run, inputs: Inputs) -> None:
        super().__init__(ttnn, device, run, inputs)
        self.buffers = {
            name: ttnn.allocate_tensor_on_device(ttnn.Shape(list(shape)), ttnn.bfloat16, ttnn.TILE_LAYOUT, device,
                                                 ttnn.DRAM_MEMORY_CONFIG)
            for name, shape in self.inputs.items()
        }
        self.trace_id: Any = None
        self.output: Any = None

    def compile(self) -> None:
        ttnn = self.ttnn
        self._write(self.zeros())
        output = self.run(**self.buffers)
        ttnn.synchronize_device(self.device)
        free(ttnn, output)

    def capture(self) -> None:
        ttnn = self.ttnn
        trace_id = ttnn.begin_trace_capture(self.device)
        try:
            output = self.run(**self.buffers)
        except BaseException:
            try:  # leave capture mode before anything else touches the card
                ttnn.end_trace_capture(self.device, trace_id)
                ttnn.release_trace(self.device, trace_id)
            except Exception:  # noqa: BLE001 - the capture's own error is the one to report
                pass
            raise
        ttnn.end_trace_capture(self.device, trace_id)
        ttnn.synchronize_device(self.device)
        self.trace_id, self.output = trace_id, output

    def __call__(self, **host_inputs: Any) -> torch.Tensor:
        if self.trace_id is None:
            raise RuntimeError("capture() the call before calling it")
        self._check(host_inputs)
        self._write(host_inputs)  # all of them, every call: a replay reads whatever the buffers hold
        self.ttnn.execute_trace(self.device, self.trace_id, blocking=False)
        return self.read(self.output)  # now: the next replay overwrites it

    def _write(self, host_inputs: Mapping[str, Any]) -> None:
        for name in self.inputs:
            self.ttnn.copy_host_to_device_tensor(host_inputs[name], self.buffers[name])

    def release(self) -> None:
        ttnn = self.ttnn
        if self.trace_id is not None:
            ttnn.release_trace(self.device, self.trace_id)
            self.trace_id = None
        free(ttnn, self.output, *self.buffers.values())
        self.output, self.buffers = None, {}


class CallFailed(RuntimeError):
    """A call failed its first (compile) run on the card; `name` says which."""

    def __init__(self, name: str, error: BaseException) -> None:
        super().__init__(f"{name}: {short_error(error)}")
        self.name, self.error = name, error


def open_calls(ttnn: Any, device: Any, calls: Mapping[str, Tuple[Run, Inputs]],
               trace: bool) -> Tuple[Dict[str, _Call], Dict[str, str]]:
    """Each named call ready to use, and a note on how it runs ("traced", "untraced (...)").

    Every call is compiled (run once) before the first capture: a compile run allocates on the
    card, and what is allocated after a capture may be overwritten by that trace's replays. A call
    whose capture fails runs untraced, saying why. A failing compile run raises CallFailed (after
    releasing what was opened), so the caller can go on without that call."""
    kind = TracedCall if trace else UntracedCall
    opened: Dict[str, _Call] = {}
    try:
        for name, (run, inputs) in calls.items():
            opened[name] = kind(ttnn, device, run, inputs)
        for name, call in opened.items():
            try:
                call.compile()
            except Exception as exc:  # noqa: BLE001 - reported as CallFailed, naming the call
                raise CallFailed(name, exc) from exc
    except BaseException:
        for call in opened.values():
            call.release()
        raise
    if not trace:
        return opened, {name: f"untraced ({TRACE_ENV}=0 or trace=False)" for name in opened}
    notes: Dict[str, str] = {}
    for name, call in list(opened.items()):
        try:
            call.capture()  # type: ignore[attr-defined]
            notes[name] = "traced"
        except Exception as exc:  # noqa: BLE001 - the call still works untraced; the note says why
            call.release()
            opened[name] = UntracedCall(ttnn, device, call.run, call.inputs)
            opened[name].capture_error = exc
            notes[name] = f"untraced: its trace capture failed ({short_error(exc)})"
    return opened, notes


def free(ttnn: Any, *tensors: Any) -> None:
    """Deallocate the device tensors among `tensors` (None and freed ones are skipped)."""
    for tensor in tensors:
        if tensor is not None and hasattr(tensor, "is_allocated") and tensor.is_allocated():
            ttnn.deallocate(tensor)

