"""tests/ttnn_port run in .venv-ttnn (scripts/setup-ttnn-venv.sh), a separate pytest invocation.

ttnn reads TT_METAL_MOCK_CLUSTER_DESC_PATH when it first needs its cluster (any host-side TILE
conversion, group-norm masks): a one-chip Blackhole P150 descriptor stands in for
a card, so those host paths run for real here. No kernel runs; opening a device needs a card.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
MOCK_CLUSTER = HERE / "data" / "blackhole_p150_mock_cluster_desc.yaml"
os.environ.setdefault("TT_METAL_MOCK_CLUSTER_DESC_PATH", str(MOCK_CLUSTER))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parents[1] / "python" / "tt-animatediff"))

ttnn = pytest.importorskip("ttnn", reason="ttnn is not installed: run scripts/setup-ttnn-venv.sh (Python 3.10/3.12)")
