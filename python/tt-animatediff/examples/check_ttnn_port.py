"""Check YOUR ttnn_temporal.py on a CPU, no card needed: its TtTemporalTransformer with every ttnn op run
as ttnn's own golden (torch) function, against diffusers' motion module on the same random weights.

    .venv-ttnn/bin/python examples/check_ttnn_port.py      # in ~/tt-scratchpad/tt-animatediff

It runs the ttnn_temporal.py of the folder this script is in - the copy you edit - whatever else is
installed. It needs a Python with the ttnn wheel (3.10 or 3.12): `python examples/make_ttnn_venv.py`
makes one in .venv-ttnn/. Exit status: 0 every case passed, 1 it cannot run here (no ttnn; it says what to
run), 2 a case failed: your ttnn_temporal.py computes something else than the motion module.
What a pass proves, and what only a card can: animatediff_ttnn/backends/golden.py.
"""

import sys
from pathlib import Path

LESSON = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(LESSON))  # this folder's animatediff_ttnn first: the copy you edit


def main() -> int:
    from animatediff_ttnn.backends.golden import use_mock_cluster
    from animatediff_ttnn.backends.ttnn_venv import CHECK, MAKE, VENV

    use_mock_cluster()  # ttnn's host-side work needs a cluster description; no kernel runs, no card is opened
    try:
        import ttnn
    except ImportError as exc:
        print(f"cannot run here: {sys.executable} has no ttnn ({exc}). ttnn has wheels for Python 3.10 and 3.12 "
              f"only. Make the lesson's ttnn venv once (about 3 GB to download), then run the check with it:\n"
              f"    python {MAKE}\n    {VENV}/bin/python {CHECK}", file=sys.stderr)
        return 1
    from importlib.metadata import PackageNotFoundError, version

    from animatediff_ttnn.backends.port_check import CASES, check_port
    import animatediff_ttnn

    try:
        ttnn_version = version("ttnn")
    except PackageNotFoundError:  # built from a tt-metal checkout
        ttnn_version = "from source"
    print(f"Checking {Path(animatediff_ttnn.__file__).parent / 'ttnn_temporal.py'} with ttnn {ttnn_version}'s "
          f"golden functions against diffusers' AnimateDiffTransformer3D ({len(CASES)} cases):")
    if check_port(ttnn):
        print("All cases passed: the op sequence, reshapes, padding and masks compute the motion module. "
              "A card can still differ (memory configs, grids, device math): examples/validate_on_blackhole.py.")
        return 0
    print("Your ttnn_temporal.py differs from the motion module. Undo your last change, or find the step whose "
          "torch comment it no longer matches.")
    return 2


if __name__ == "__main__":
    sys.exit(main())
