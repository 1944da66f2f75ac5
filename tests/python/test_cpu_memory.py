"""Keeping freed memory (animatediff_ttnn/runtime/cpu_memory.py + the sidecar's malloc_arena.py) does what it says.

Counted, not timed: page faults while a thread allocates and frees a 64 MiB tensor ten times, after
thirty rounds of warm-up (what a UNet step does with its activations, in miniature). Measured: 163,850
faults by default (every block faulted in again), 0 kept; the kept cases must stay under half a default. Each case runs in a fresh interpreter: malloc settings last for the life of a process.
glibc on Linux only.
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys

import pytest

pytestmark = pytest.mark.skipif(platform.system() != "Linux" or platform.libc_ver()[0] != "glibc",
                                reason="the settings are glibc malloc's")

BLOCK = 64 << 20
PAGES = BLOCK // 4096  # faults one fresh mapping of the block costs (4 KiB pages)
REPEATS = 10
WARMUP = 30  # after 10 rounds, 2 of 12 runs still faulted 3 blocks while measured; after 30, none of 15

PROBE = f"""
import resource, sys, threading
import torch
mode = sys.argv[1]
if "arena" in mode:
    from animatediff_sidecar.malloc_arena import use_one_malloc_arena
    print("arena", use_one_malloc_arena())

def work():
    if "keep" in mode:
        from animatediff_ttnn.runtime.cpu_memory import keep_freed_memory
        print("keep", keep_freed_memory(torch.device("cpu")))
    for _ in range({WARMUP}):  # the first rounds grow the heap until a freed block fits the next one
        torch.empty({BLOCK}, dtype=torch.uint8).fill_(1)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range({REPEATS}):
        torch.empty({BLOCK}, dtype=torch.uint8).fill_(1)
    print("faults", resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)

if "worker" in mode:
    t = threading.Thread(target=work); t.start(); t.join()
else:
    work()
"""


def probe(mode: str, **env: str) -> dict:
    out = subprocess.run([sys.executable, "-c", PROBE, mode], capture_output=True, text=True, timeout=120,
                         env={**os.environ, **env}, check=True).stdout
    return {k: (int(v) if v.isdigit() else v == "True") for k, v in (line.split() for line in out.splitlines())}


def test_by_default_every_large_block_is_mapped_and_faulted_in_again():
    assert probe("main")["faults"] > REPEATS * PAGES // 2


def test_kept_freed_memory_is_reused_without_page_faults():
    result = probe("main+keep")
    assert result["keep"] is True
    assert result["faults"] < REPEATS * PAGES // 2


def test_the_environment_switch_turns_it_off():
    result = probe("main+keep", ANIMATEDIFF_KEEP_FREED_MEMORY="0")
    assert result["keep"] is False
    assert result["faults"] > REPEATS * PAGES // 2


def test_a_worker_thread_needs_the_sidecars_single_arena():
    """Why the sidecar calls use_one_malloc_arena() at start: it generates on a worker thread, whose own
    arena maps large blocks afresh whatever the settings."""
    assert probe("worker+keep")["faults"] > REPEATS * PAGES // 2
    result = probe("worker+keep+arena")
    assert result["arena"] is True and result["keep"] is True
    assert result["faults"] < REPEATS * PAGES // 2


def test_only_machines_with_the_ram_for_it_keep_freed_memory_unless_told(monkeypatch):
    from animatediff_ttnn.runtime import cpu_memory

    monkeypatch.delenv(cpu_memory.ENV, raising=False)
    monkeypatch.setattr(cpu_memory, "total_memory_gib", lambda: cpu_memory.MIN_MEMORY_GIB - 1)
    assert not cpu_memory.wanted()
    monkeypatch.setenv(cpu_memory.ENV, "1")
    assert cpu_memory.wanted()
    monkeypatch.setattr(cpu_memory, "total_memory_gib", lambda: cpu_memory.MIN_MEMORY_GIB)
    monkeypatch.setenv(cpu_memory.ENV, "0")
    assert not cpu_memory.wanted()
    monkeypatch.delenv(cpu_memory.ENV)
    assert cpu_memory.wanted()


def test_only_a_cpu_device_changes_malloc():
    """The pipelines pass their device: a GPU (here the meta device) run leaves malloc as it is."""
    code = ("import torch; from animatediff_ttnn.runtime.cpu_memory import keep_freed_memory as keep; "
            "print(keep(torch.device('meta')), keep(torch.device('cpu')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True).stdout
    assert out.split() == ["False", "True"]
