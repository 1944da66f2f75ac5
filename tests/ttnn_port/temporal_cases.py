"""Random motion modules in diffusers' layout and tt-metal's frame layout, as the tests import them. Defined
in the lesson package, animatediff_ttnn/backends/port_check.py, which the learner's bring-up check runs."""

from animatediff_ttnn.backends.port_check import from_frames, motion_module, pcc, to_frames  # noqa: F401
