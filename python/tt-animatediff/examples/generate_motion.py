"""Phase 3 from a terminal: AnimateDiff as a frame loop (SD layers per frame, motion modules across frames).

    python examples/generate_motion.py --prompt "a corgi on a beach" --frames 8 --steps 25 --backend torch
"""

import sys

from animatediff_ttnn.cli import base_parser, print_note, run_cli
from animatediff_ttnn.motion_pipeline import run_phase3


def main(argv=None) -> int:
    parser = base_parser(__doc__.strip().splitlines()[0], "output/motion.gif")
    parser.add_argument("--backend", default="auto", help="auto (torch until a card has validated the port), torch, blackhole (not yet run on a card by us)")
    parser.add_argument("--device", default="auto", help="torch device: auto (cuda, then mps, then cpu), cpu, cuda, mps")
    parser.add_argument("--motion-scale", type=float, default=None,
                        help="0 switches the motion modules off, 1 is AnimateDiff (default: MOTION_SCALE in motion_pipeline.py)")
    args = parser.parse_args(argv)

    def run(params, output, bar):
        result = run_phase3(params, output, model=args.model, motion_adapter=args.motion_adapter, backend=args.backend,
                            device=args.device, on_step=bar, motion_scale=args.motion_scale)
        print_note(result.metadata.get("backend_reason"))
        return result

    return run_cli(run, args)


if __name__ == "__main__":
    sys.exit(main())
