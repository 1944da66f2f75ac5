"""The multiply-add counter (animatediff_ttnn/backends/motion_macs.py): its sums, its scaling with the
picture's size, and the counts it gives for ttnn_temporal.py."""

from __future__ import annotations

import pytest

import ttnn
from animatediff_ttnn.backends.motion_macs import issued_macs, needed_macs, product_macs, run_and_count


def test_a_product_counts_rows_times_inner_times_outer():
    assert product_macs("linear", (1, 7, 32, 64), (64, 96)) == 7 * 32 * 64 * 96
    assert product_macs("matmul", (5, 8, 32, 64), (5, 8, 64, 32)) == 5 * 8 * 32 * 64 * 32


@pytest.mark.parametrize("frames", [1, 5])
def test_the_count_scales_exactly_with_the_pixels(frames):
    """issued_macs runs the module at 1x1 and scales: every product runs once per pixel sequence."""
    assert run_and_count(ttnn, 64, frames, 2, 3) == 6 * run_and_count(ttnn, 64, frames, 1, 1)


@pytest.mark.parametrize("channels, frames", [(64, 1), (64, 16), (320, 8)])
def test_the_module_issues_at_least_what_it_needs(channels, frames):
    assert issued_macs(ttnn, channels, frames, 4, 4) >= needed_macs(channels, frames, 4, 4)
