"""Phase 1 from a terminal: AnimateDiff (SD 1.4 + motion adapter) with diffusers on any torch device.

    python examples/generate_baseline.py --prompt "a corgi on a beach" --num-frames 8 --steps 25 --output output/baseline.gif
    python examples/generate_baseline.py --preset lightning   # AnimateDiff-Lightning: 4 steps, no CFG
"""

import sys

from animatediff_ttnn.cli import base_parser, motion_adapter_from_args, run_cli
from animatediff_ttnn.pipeline import run_phase1


def main(argv=None) -> int:
    parser = base_parser(__doc__.strip().splitlines()[0], "output/baseline.gif",
                         run_options=("device", "preset", "dtype", "motion_scale"), phase=1)
    args = parser.parse_args(argv)
    return run_cli(lambda params, output, bar: run_phase1(
        params, output, model=args.model, motion_adapter=motion_adapter_from_args(args), device=args.device,
        on_step=bar, preset=args.preset, dtype=args.dtype, motion_scale=args.motion_scale), args)


if __name__ == "__main__":
    sys.exit(main())
