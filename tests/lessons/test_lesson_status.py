"""Every lesson says, in its header and in its walkthrough step, what hardware it is for, whether it has been
validated and where, and how long it takes - as Tenstorrent's own lesson toolkit declares for each lesson
(tenstorrent/tt-vscode-toolkit: `supportedHardware`, `status: validated | draft`, `validatedOn`,
`estimatedMinutes`). Here it is one visible line under the heading, the same words in the step:

    > **Hardware:** ... · **Status:** ... · **Time:** about N min

A status is "validated on <where>" and/or "draft: not yet run on <what>". Nothing has run on a Tenstorrent
card here, so every lesson whose hardware names one says "draft: not yet run on a card"."""

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LESSONS = sorted((ROOT / "lessons").glob("[0-9][0-9]-*.md"))
STEPS = json.loads((ROOT / "package.json").read_text(encoding="utf-8"))["contributes"]["walkthroughs"][0]["steps"]
HEADER = re.compile(r"^> \*\*Hardware:\*\* (?P<hardware>.+?) · \*\*Status:\*\* (?P<status>.+?) · "
                    r"\*\*Time:\*\* (?P<time>about \d+ min.*)$", re.M)
CARD = re.compile(r"Blackhole|Tenstorrent|a card\b")


def header(path: Path):
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines()
    match = HEADER.match(lines[2]) if len(lines) > 2 else None
    assert lines[1] == "" and match, f"{path.name}: the line after the heading must be the status line, got {lines[2:3]}"
    return match


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.name)
def test_each_lesson_declares_hardware_status_and_time(path):
    found = header(path)
    parts = [part.strip() for part in found["status"].split(";")]
    assert all("validated on " in part or "draft: not yet run on " in part or "refuses" in part for part in parts), parts
    assert any("validated on " in part for part in parts) or any("draft:" in part for part in parts)
    if CARD.search(found["hardware"]):
        assert "draft: not yet run on a card" in found["status"], f"{path.name}: no run on a card here yet"


@pytest.mark.parametrize("step", STEPS, ids=lambda s: s["id"])
def test_each_walkthrough_step_says_the_same(step):
    found = header(ROOT / step["media"]["markdown"])
    line = f"Hardware: {found['hardware']}. Status: {found['status']}. Time: {found['time']}."
    assert line in step["description"].split("\n"), f"{step['id']}: its description lacks {line!r}"


def test_the_phases_on_a_card_are_draft():
    """Phase 2 and Phase 3 on a card, and lesson 01 that presents them, say so in their header."""
    for name in ("01-environment.md", "05-phase2.md", "09-phase3.md"):
        assert "draft: not yet run on a card" in header(ROOT / "lessons" / name)["status"], name
