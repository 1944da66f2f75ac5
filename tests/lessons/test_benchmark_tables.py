"""README's presets table is the committed benchmark record's rendering (benchmarks/fast_report.py),
so the figures README shows are the ones measured, with their machine and load."""

import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_readme_presets_table_is_the_committed_records():
    from benchmarks.fast_report import readme_table

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"<!-- presets-table:[^\n]*-->\n(.*?)\n<!-- /presets-table -->", readme, re.S)
    assert block, "README has the presets-table markers"
    record = json.loads((ROOT / "benchmarks" / "presets-latest.json").read_text(encoding="utf-8"))
    assert block.group(1) == readme_table(record), (
        "README's table differs from the record: run python -m benchmarks.fast_report --readme benchmarks/presets-latest.json")


def test_the_table_names_the_machine_and_marks_every_goal():
    from benchmarks.fast_report import goal_rows, readme_table

    record = json.loads((ROOT / "benchmarks" / "presets-latest.json").read_text(encoding="utf-8"))
    table = readme_table(record)
    assert record["machine"]["cpu"] in table and "torch threads" in table
    fast = [measured for goal, measured in goal_rows(record) if goal.startswith("*Fast*")]
    assert fast and re.match(r"\*\*(met|not met)\*\*", fast[0])


def test_lesson_04_quotes_the_committed_record():
    """Lesson 04's measured paragraph repeats figures of benchmarks/presets-latest.json (rounded as written)."""
    from benchmarks.fast_report import to_gif

    record = json.loads((ROOT / "benchmarks" / "presets-latest.json").read_text(encoding="utf-8"))
    jobs = record["jobs"]
    text = " ".join((ROOT / "lessons" / "04-phase1.md").read_text(encoding="utf-8").split())
    fast, defaults = jobs["ours-lightning"], jobs["ours-lightning-malloc-defaults"]
    quoted = int(re.search(r"Lightning 4 steps took about (\d+) s from prompt to GIF", text).group(1))
    assert abs(quoted - to_gif(fast)) <= 5
    before, after = map(int, re.search(r"in the run above (\d+) s -> (\d+) s", text).groups())
    assert (before, after) == (round(to_gif(defaults)), round(to_gif(fast)))
    peak, usual = map(float, re.search(r"peaked at ([\d.]+) GB over two runs in a row, the one with malloc's defaults "
                                       r"at ([\d.]+) GB", text).groups())
    assert (peak, usual) == (round(fast["peak_rss_mb"] / 1024, 1), round(defaults["peak_rss_mb"] / 1024, 1))


def test_lesson_09_quotes_the_precision_record():
    """Lesson 09's "Phase 1's frames holds in fp32" paragraph repeats benchmarks/phase3-precision-latest.json."""
    record = json.loads((ROOT / "benchmarks" / "phase3-precision-latest.json").read_text(encoding="utf-8"))
    rows = {(r["dtype"], r["frames"]): r for r in record["rows"]}
    text = " ".join((ROOT / "lessons" / "09-phase3.md").read_text(encoding="utf-8").split())
    fp32 = int(re.search(r"at most (\d+) pixel level", text).group(1))
    assert fp32 == rows[("float32", 16)]["max_levels"] == rows[("float32", 33)]["max_levels"]
    assert rows[("float32", 33)]["context_windows"] and rows[("bfloat16", 33)]["context_windows"]
    short, long = map(int, re.search(r"the largest difference is (\d+) levels at 16 frames and (\d+) at 33", text).groups())
    assert (short, long) == (rows[("bfloat16", 16)]["max_levels"], rows[("bfloat16", 33)]["max_levels"])
    assert record["machine"]["cpu"] in text and f"{record['machine']['cpu_cores']}-core" in text
