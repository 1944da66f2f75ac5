"""The stand-in of ttnn's device and trace API (tests/python/ttnn_standin.py), which the card path's tests
run against, checked against the real ttnn wheel: every function the card path calls exists in the wheel,
and every parameter the stand-in accepts is one the wheel's function has, of the same kind (positional
or keyword-only), with the wheel's other parameters optional. So a call the stand-in accepts is a call
the wheel's binding accepts by name.

Cannot prove: that the wheel accepts our argument *values* (e.g. a list where it wants a ttnn.Shape, an
int queue id), nor anything a card does - no card here.
"""

from __future__ import annotations

import inspect
import re
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "python"))

import ttnn  # noqa: E402
from ttnn_standin import StandinTtnn, Tensor  # noqa: E402

# module functions the card path calls (backends/ttnn_trace.py, ttnn_vae.py)
FUNCTIONS = ["from_torch", "to_device", "from_device", "to_torch", "allocate_tensor_on_device",
             "copy_host_to_device_tensor", "deallocate", "synchronize_device", "begin_trace_capture",
             "end_trace_capture", "execute_trace", "release_trace"]
METHODS = ["cpu", "deallocate", "is_allocated"]  # ttnn.Tensor's


def _split_top_level(text: str):
    parts, depth, current = [], 0, ""
    for ch in text:
        depth += ch in "[(" and 1 or (-1 if ch in "])" else 0)
        if ch == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += ch
    return parts + ([current] if current.strip() else [])


def documented_signatures(fn):
    """The wheel's signatures: inspect's where it can, else the overloads a nanobind docstring starts
    with, one a line: 'name(a: T, b: T = x, \\*, c: T = y) -> R'."""
    target = getattr(fn, "function", fn)  # ttnn's FastOperation wraps the bound function
    try:
        return [inspect.signature(target)]
    except (TypeError, ValueError):
        pass
    signatures = []
    for line in (target.__doc__ or "").strip().splitlines():
        match = re.match(r"^\w+\((.*)\)(?: -> .*)?$", line.strip())
        if not match:
            break
        params, kind = [], inspect.Parameter.POSITIONAL_OR_KEYWORD
        for part in _split_top_level(match.group(1)):
            part = part.strip().replace("\\*", "*")
            if part == "*":
                kind = inspect.Parameter.KEYWORD_ONLY
                continue
            name = part.split(":")[0].split("=")[0].strip()
            if name != "self":
                params.append(inspect.Parameter(name, kind, default=None if "=" in part else inspect.Parameter.empty))
        signatures.append(inspect.Signature(params))
    assert signatures, f"no signature documented for {fn}"
    return signatures


def _params(signature: inspect.Signature):
    return {p.name: p for p in signature.parameters.values() if p.name != "self"
            and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)}


def _same_calls(ours: inspect.Signature, overloads, what: str) -> None:
    """Passes when one of the wheel's overloads takes every call the stand-in takes."""
    errors = []
    for theirs in overloads:
        try:
            return _same_as(ours, theirs, what)
        except AssertionError as exc:
            errors.append(str(exc))
    raise AssertionError("; ".join(errors))


def _same_as(ours: inspect.Signature, theirs: inspect.Signature, what: str) -> None:
    mine, real = _params(ours), _params(theirs)
    assert list(mine) == [n for n in real if n in mine], f"{what}: parameter order {list(mine)} vs {list(real)}"
    for name, p in mine.items():
        assert name in real, f"{what}: the wheel has no parameter {name!r} ({list(real)})"
        keyword_only = p.kind == p.KEYWORD_ONLY
        assert keyword_only == (real[name].kind == p.KEYWORD_ONLY), f"{what}: {name!r} differs in kind"
        assert (p.default is p.empty) == (real[name].default is p.empty), f"{what}: {name!r} differs in default"
    for name, p in real.items():
        assert name in mine or p.default is not p.empty, f"{what}: the wheel requires {name!r}"


@pytest.mark.parametrize("name", FUNCTIONS)
def test_standin_function_takes_what_the_wheel_takes(name):
    _same_calls(inspect.signature(getattr(StandinTtnn, name)), documented_signatures(getattr(ttnn, name)), name)


@pytest.mark.parametrize("name", METHODS)
def test_standin_tensor_method_takes_what_the_wheel_takes(name):
    _same_calls(inspect.signature(getattr(Tensor, name)), documented_signatures(getattr(ttnn.Tensor, name)), name)


def test_the_constants_the_card_path_uses_exist():
    for name in ("bfloat16", "TILE_LAYOUT", "DRAM_MEMORY_CONFIG", "Shape", "permute", "reshape"):
        assert hasattr(ttnn, name), name
    assert tuple(ttnn.Shape([2, 96, 768])) == (2, 96, 768)
    # BlackholeUNetBackend opens the card with the SD demo's trace region (ttnn_trace.py)
    assert "trace_region_size" in inspect.signature(ttnn.CreateDevice).parameters


def test_the_check_can_fail():
    """A stand-in with a parameter the wheel lacks, or missing one it requires, is refused."""
    def execute_trace(mesh_device, trace_id, *, cq_id=None, blocking=True, wait=False):
        pass

    def copy_host_to_device_tensor(host_tensor, cq_id=None):
        pass

    for fake, real in ((execute_trace, ttnn.execute_trace), (copy_host_to_device_tensor, ttnn.copy_host_to_device_tensor)):
        with pytest.raises(AssertionError):
            _same_calls(inspect.signature(fake), documented_signatures(real), fake.__name__)
