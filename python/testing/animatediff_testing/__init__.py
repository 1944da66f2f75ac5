"""Test fixtures for the AnimateDiff lesson studio: tiny random-weight models in the real layouts.

Not part of the lesson package (animatediff_ttnn) and never deployed to the scratchpad; the repo's
tests, lessons' CI run, benchmarks and e2e suite build their models with it.
"""
