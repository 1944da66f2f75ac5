"""CPU speed-up: keep the memory a step frees for the next step, instead of handing it back to the OS.

A UNet step or a VAE decode on the CPU allocates and frees gigabytes of activations, most of them
blocks of many megabytes. glibc's malloc serves such blocks with a fresh `mmap` and returns them with
`munmap` on free, so every step the kernel maps and zero-fills the same memory again: millions of
page faults and seconds of system time per run. Told to serve everything from its heap and never trim
it, malloc reuses the freed blocks instead. Same arithmetic, same results. Measured on a 2-core AMD
EPYC, Lightning 4 steps, 8 frames at 512x512 in bf16 (`scripts/bench.sh --presets --ab-memory`, each
in a fresh process): time to GIF 211 -> 200 s in benchmarks/presets-latest.md, 232 -> 192 s in an
earlier run the same evening; the VAE decode gains most (55 -> 50 s).
The cost: peak resident memory 8.1 -> 9.2-10.0 GB, reached in the second run of a process (blocks of one
size do not always fit the holes others left, so the heap grows past what is alive at once; single runs
of the Quality and AnimateLCM presets stayed at 8.1 GB), kept until the process exits. Tried in single
runs and not kept: mmap for blocks over 32 MiB only (8.1 GB but 227 s: the large blocks are the costly
ones); malloc_trim between denoising and decode (no lower peak).

`keep_freed_memory()` applies it once per process, on Linux with glibc only, on machines with at least
MIN_MEMORY_GIB of RAM (the extra peak must not push a machine into swap; below that the speed is not
worth the risk); the pipelines and torch backends call it with their device, and it acts only for the CPU.
ANIMATEDIFF_KEEP_FREED_MEMORY=0 turns it off, =1 on whatever the RAM.

These settings are per process, but malloc's free lists are per *arena*, and a thread that is not the
main one gets its own arena, whose large blocks are mmap'ed whatever the settings. A program that runs
generation on another thread must limit malloc to one arena before that thread first allocates
(`mallopt(M_ARENA_MAX, 1)` at its start): the studio's sidecar does (animatediff_sidecar/malloc_arena.py).
"""

from __future__ import annotations

import ctypes
import os
import platform
from typing import Optional

# mallopt parameter numbers, from glibc's <malloc.h>
M_TRIM_THRESHOLD = -1
M_MMAP_MAX = -4
NEVER_TRIM = 2**31 - 1  # bytes: mallopt takes an int; glibc trims only a free top chunk larger than this

ENV = "ANIMATEDIFF_KEEP_FREED_MEMORY"
# The heaviest default job (Fast, 8 frames at 512x512) peaked at 9-10 GB with kept memory, 8.1 GB without.
MIN_MEMORY_GIB = 16
_applied: Optional[bool] = None


def total_memory_gib() -> float:
    """MemTotal from /proc/meminfo (0 where it cannot be read)."""
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    return int(line.split()[1]) / 2**20  # kB
    except (OSError, ValueError, IndexError):
        pass
    return 0.0


def wanted() -> bool:
    """The environment's switch if set, else whether this machine has the RAM for it."""
    setting = os.environ.get(ENV, "").strip()
    if setting in ("0", "1"):
        return setting == "1"
    return total_memory_gib() >= MIN_MEMORY_GIB


def _glibc_mallopt():
    """glibc's mallopt, or None (another C library, another OS, or not wanted here)."""
    if not wanted() or platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return None
    try:
        return ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return None


def keep_freed_memory(device) -> bool:
    """When `device` (a torch.device) is the CPU: serve large blocks from the heap and never trim it
    (once per process). True when in effect."""
    global _applied
    if _applied is None and device.type == "cpu":
        mallopt = _glibc_mallopt()
        _applied = bool(mallopt and mallopt(M_MMAP_MAX, 0) == 1 and mallopt(M_TRIM_THRESHOLD, NEVER_TRIM) == 1)
    return bool(_applied)
