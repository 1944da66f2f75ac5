"""Phase 2 from a terminal: SD 1.4 frame by frame on a Tenstorrent Blackhole (or the same loop in torch).

    python examples/generate_blackhole.py --prompt "a corgi on a beach" --num-frames 8 --steps 25 --backend auto
"""

import sys

from animatediff_ttnn.cli import base_parser, print_note, run_cli
from animatediff_ttnn.ttnn_pipeline import run_phase2


def main(argv=None) -> int:
    parser = base_parser(__doc__.strip().splitlines()[0], "output/blackhole.gif", motion_adapter=False,
                         run_options=("backend", "device", "perturbation_strength", "dtype"), phase=2)
    args = parser.parse_args(argv)

    def run(params, output, bar):
        result = run_phase2(params, output, model=args.model, backend=args.backend, device=args.device,
                            on_step=bar, perturbation_strength=args.perturbation_strength, dtype=args.dtype)
        print_note(result.metadata.get("backend_reason"))
        return result

    return run_cli(run, args)


if __name__ == "__main__":
    sys.exit(main())
