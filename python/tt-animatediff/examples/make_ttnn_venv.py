"""Make .venv-ttnn/ in this folder: a Python 3.12 (or 3.10) venv with the ttnn wheel, torch and this lesson
package, for examples/check_ttnn_port.py. ttnn publishes wheels for those two Pythons only.

    python examples/make_ttnn_venv.py            # in ~/tt-scratchpad/tt-animatediff; about 3 GB, minutes
    python examples/make_ttnn_venv.py --dry-run  # what it would run

On a Blackhole host you may not need it: tt-metal's python_env has ttnn already (pip install diffusers there).
"""

import argparse
import subprocess
import sys
from pathlib import Path

LESSON = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(LESSON))


def main(argv=None) -> int:
    from animatediff_ttnn.backends.ttnn_venv import CHECK, PYTHONS, VENV, base_python, make_commands, venv_python

    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument("--dry-run", action="store_true", help="print the commands, run nothing")
    args = parser.parse_args(argv)
    if venv_python(LESSON).is_file() and not args.dry_run:
        print(f"{VENV} is there already: {VENV}/bin/python {CHECK}")
        return 0
    python = base_python()
    if python is None:
        print(f"cannot run here: no Python {' or '.join(PYTHONS)} found (python3.12, python3.10, pyenv versions); "
              "install one of them, then run this again", file=sys.stderr)
        return 1
    for command in make_commands(LESSON, python):
        print("+ " + " ".join(command), flush=True)
        if not args.dry_run:
            subprocess.run(command, check=True)
    print(f"then: {VENV}/bin/python {CHECK}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
