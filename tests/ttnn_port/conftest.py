"""tests/ttnn_port run in .venv-ttnn (scripts/setup-ttnn-venv.sh), a separate pytest invocation.

ttnn reads TT_METAL_MOCK_CLUSTER_DESC_PATH when it first needs its cluster (any host-side TILE
conversion, group-norm masks): a one-chip Blackhole P150 descriptor (animatediff_ttnn/backends/golden.py,
which the learner's bring-up check uses too) stands in for a card, so those host paths run for real
here. No kernel runs; opening a device needs a card.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parents[1] / "python" / "tt-animatediff"))

from animatediff_ttnn.backends.golden import use_mock_cluster  # noqa: E402 - after the path is set

MOCK_CLUSTER = use_mock_cluster()

ttnn = pytest.importorskip("ttnn", reason="ttnn is not installed: run scripts/setup-ttnn-venv.sh (Python 3.10/3.12)")
