"""A real process that dies mid-commit, for the tests of what an interrupted export leaves behind.

`crash_during_commit(gif)` runs `export.write_outputs` in a child Python that is killed (exit 9)
between renaming the outputs into place and renaming the metadata: the outputs look finished, but
there is no `<stem>.json`. Both the package's tests and the sidecar's (which then starts on that
folder) use it.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

KILLED = 9  # the child's exit status

CRASH_DURING_COMMIT = f"""
import os, sys
from pathlib import Path
from PIL import Image
from animatediff_ttnn.outputs import export

real = os.replace
def replace(src, dst):
    if str(dst).endswith(".json"):
        os._exit({KILLED})  # killed between the outputs' renames and the metadata's
    return real(src, dst)
export.os.replace = replace
frames = [Image.new("RGB", (16, 16), (i * 60, 0, 0)) for i in range(3)]
gif = Path(sys.argv[1])
export.write_outputs(frames, gif, 4, ["gif", "webp", "png"], lambda o: {{"outputs": o, "phase": 2}},
                     gif.with_suffix(".json"))
"""


def crash_during_commit(gif: Path) -> None:
    """Leave what a run writing `gif` (with webp and png) leaves when killed mid-commit."""
    done = subprocess.run([sys.executable, "-c", CRASH_DURING_COMMIT, str(gif)], capture_output=True, text=True)
    assert done.returncode == KILLED, done.stderr
