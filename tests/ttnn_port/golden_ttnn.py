"""The golden-function stand-in for ttnn, as the tests import it. It is defined in the lesson package,
animatediff_ttnn/backends/golden.py, so that the learner's bring-up check (examples/check_ttnn_port.py)
runs the very same adapter on their scratchpad copy."""

from animatediff_ttnn.backends.golden import OPS, GoldenTtnn, round_bf16  # noqa: F401
