"""The multiply-add counter (animatediff_ttnn/backends/motion_macs.py): its sums, its scaling with the
picture's size, and the counts it gives for ttnn_temporal.py."""

from __future__ import annotations

from pathlib import Path

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


# Lesson 09's table of multiply-adds: one motion module at SD's first level and at its 8x8 level.
LESSON = Path(__file__).resolve().parents[2] / "lessons" / "09-phase3.md"
LEVELS = [(320, 64), (1280, 8)]
FRAMES = [1, 8, 16]


def lesson_rows():
    """The rows lesson 09 should show: channels, side, frames, then GMACs before, now and needed.
    Before, every op ran on 32 rows per pixel whatever F was: what the module issues now at F = 32."""
    for channels, side in LEVELS:
        before = issued_macs(ttnn, channels, 32, side, side)
        for frames in FRAMES:
            now = issued_macs(ttnn, channels, frames, side, side)
            yield (f"| {channels} | {side}x{side} | {frames} | {before / 1e9:.1f} | {now / 1e9:.1f} | "
                   f"{needed_macs(channels, frames, side, side) / 1e9:.1f} |")


def test_lesson_09_shows_the_counted_multiply_adds():
    text = LESSON.read_text(encoding="utf-8")
    missing = [row for row in lesson_rows() if row not in text]
    assert missing == [], "lesson 09's multiply-add table differs from motion_macs.py's counts:\n" + "\n".join(missing)
