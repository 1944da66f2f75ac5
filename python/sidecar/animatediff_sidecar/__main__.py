"""`python -m animatediff_sidecar [--scratchpad DIR] [--bundle DIR]`: serve JSON-RPC on stdio.

The stdio guard is installed before anything else is imported, so nothing can write to the
protocol stream; heavy libraries (torch, diffusers, ttnn) are imported only when a request needs
them.
"""

from __future__ import annotations

import argparse
import sys


def main(argv=None) -> int:
    from . import malloc_arena, stdio_guard

    malloc_arena.use_one_malloc_arena()  # before any thread allocates: see malloc_arena.py
    guard = stdio_guard.install()
    parser = argparse.ArgumentParser(prog="python -m animatediff_sidecar", description=__doc__.split("\n\n")[0])
    parser.add_argument("--scratchpad", default=None,
                        help="deployed lesson copy to run (default: $ANIMATEDIFF_SCRATCHPAD or "
                             "~/tt-scratchpad/tt-animatediff); used when it holds animatediff_ttnn/")
    parser.add_argument("--bundle", default=None,
                        help="bundled lesson to run when no scratchpad copy is deployed (default: "
                             "$ANIMATEDIFF_BUNDLE or the repository's python/tt-animatediff)")
    parser.add_argument("--verbose", action="store_true", help="debug-level log notifications")
    args = parser.parse_args(argv)

    from .server import serve
    from .user_code import PipelineSource

    return serve(PipelineSource.resolve(args.scratchpad, args.bundle), guard, verbose=args.verbose)


if __name__ == "__main__":
    sys.exit(main())
