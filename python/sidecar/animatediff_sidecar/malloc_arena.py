"""One malloc arena for the whole sidecar, set before any thread starts.

The lesson package keeps the memory a step frees for the next step on CPU runs
(animatediff_ttnn/runtime/cpu_memory.py: no mmap for large blocks, no trimming). glibc applies those settings
to each *arena*'s heap, and every thread but the main one allocates from an arena of its own whose
large blocks are mmap'ed regardless; the sidecar generates on its worker thread. With a single arena
the worker allocates from the main heap and the lesson's settings take effect
(tests/python/test_cpu_memory.py counts the page faults on a worker thread: 163,850 without one arena,
0 with it). The sidecar's other threads allocate little, so sharing one arena costs them nothing.
ANIMATEDIFF_KEEP_FREED_MEMORY=0 turns this off along with the lesson's settings.
"""

from __future__ import annotations

import ctypes
import os
import platform

M_ARENA_MAX = -8  # glibc <malloc.h>


def use_one_malloc_arena() -> bool:
    """True when glibc took the setting (False on other C libraries / systems, or when turned off)."""
    if os.environ.get("ANIMATEDIFF_KEEP_FREED_MEMORY", "").strip() == "0":
        return False
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return False
    try:
        return ctypes.CDLL(None).mallopt(M_ARENA_MAX, 1) == 1
    except (OSError, AttributeError):
        return False
