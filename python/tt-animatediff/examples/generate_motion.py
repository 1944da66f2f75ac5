"""Phase 3 from a terminal: AnimateDiff as a frame loop (SD layers per frame, motion modules across frames).

    python examples/generate_motion.py --prompt "a corgi on a beach" --num-frames 8 --steps 25 --backend torch
"""

import sys

from animatediff_ttnn.cli import base_parser, print_note, run_cli
from animatediff_ttnn.motion_pipeline import run_phase3


def main(argv=None) -> int:
    parser = base_parser(__doc__.strip().splitlines()[0], "output/motion.gif",
                         run_options=("backend", "device", "motion_scale"), phase=3)
    args = parser.parse_args(argv)

    def run(params, output, bar):
        result = run_phase3(params, output, model=args.model, motion_adapter=args.motion_adapter, backend=args.backend,
                            device=args.device, on_step=bar, motion_scale=args.motion_scale)
        print_note(result.metadata.get("backend_reason"))
        return result

    return run_cli(run, args)


if __name__ == "__main__":
    sys.exit(main())
