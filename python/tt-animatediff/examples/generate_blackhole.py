"""Phase 2 from a terminal: SD 1.4 frame by frame on a Tenstorrent Blackhole (or the same loop in torch).

    python examples/generate_blackhole.py --prompt "a corgi on a beach" --frames 8 --steps 25 --backend auto
"""

import sys

from animatediff_ttnn.cli import base_parser, print_note, run_cli
from animatediff_ttnn.ttnn_pipeline import run_phase2


def main(argv=None) -> int:
    parser = base_parser(__doc__.strip().splitlines()[0], "output/blackhole.gif", motion_adapter=False)
    parser.add_argument("--backend", default="auto", help="auto (blackhole when a device is found), blackhole, torch")
    parser.add_argument("--device", default="cpu", help="torch device for the torch backend: cpu, cuda, mps")
    parser.add_argument("--perturbation", type=float, default=None,
                        help="per-frame noise strength (default: PERTURBATION_STRENGTH in ttnn_pipeline.py)")
    args = parser.parse_args(argv)

    def run(params, output, bar):
        result = run_phase2(params, output, model=args.model, backend=args.backend, device=args.device,
                            on_step=bar, perturbation_strength=args.perturbation)
        print_note(result.metadata.get("backend_reason"))
        return result

    return run_cli(run, args)


if __name__ == "__main__":
    sys.exit(main())
