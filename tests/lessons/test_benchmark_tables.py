"""README's presets table is the committed benchmark record's rendering (benchmarks/fast_report.py),
so the figures README shows are the ones measured, with their machine and load."""

import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


RECORDS = ("presets", "floor")  # README shows each committed record's goals table between its markers


def record_of(name: str) -> dict:
    return json.loads((ROOT / "benchmarks" / f"{name}-latest.json").read_text(encoding="utf-8"))


def test_readme_tables_are_the_committed_records():
    from benchmarks.fast_report import readme_table

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for name in RECORDS:
        block = re.search(rf"<!-- {name}-table:[^\n]*-->\n(.*?)\n<!-- /{name}-table -->", readme, re.S)
        assert block, f"README has the {name}-table markers"
        assert block.group(1) == readme_table(record_of(name), name), (
            f"README's {name} table differs from the record: run "
            f"python -m benchmarks.fast_report --readme benchmarks/{name}-latest.json")


def test_the_tables_name_the_machine_and_mark_every_goal():
    from benchmarks.fast_report import goal_rows, readme_table

    for name in RECORDS:
        record = record_of(name)
        table = readme_table(record, name)
        assert record["machine"]["cpu"] in table and "torch threads" in table
        fast = [measured for goal, measured in goal_rows(record) if goal.startswith("*Fast*")]
        # a record without a floor says so; one with it gives the verdict and the figures it rests on
        assert fast and re.match(r"\*\*(met|not met|not measured)\*\*", fast[0]), (name, fast)
        if "floor_s" in record["jobs"].get("ours-lightning", {}):
            assert re.match(r"\*\*(met|not met)\*\*: [\d.]+x", fast[0]) and "GFLOP/s" in fast[0]


def test_the_peer_row_says_why_the_informed_bf16_peer_did_not_run():
    from benchmarks.fast_report import goal_rows

    record = record_of("floor")
    assert "bare-lightning-bf16" not in record["jobs"] and record["skipped"]["bare-lightning-bf16"]
    (peers,) = [measured for goal, measured in goal_rows(record) if goal.startswith("Lightning 4-step, ours vs")]
    assert peers.startswith("fp32 ") and f"bf16 not run: {record['skipped']['bare-lightning-bf16']}" in peers


def test_a_record_without_a_single_run_peak_gives_no_memory_verdict():
    """The record compared a two-run peak with a one-run peak (issue 24): no regression can be read from that."""
    from benchmarks.fast_report import memory_row

    jobs = {"ours-lightning": {"peak_rss_mb": 10240, "warm_runs": [1], "time_to_frames_s": 1, "decode_s": 0},
            "ours-lightning-malloc-defaults": {"peak_rss_mb": 8192, "time_to_frames_s": 1, "decode_s": 0}}
    assert memory_row(jobs)[1].startswith("**not measured**")
    jobs["ours-lightning"]["peak_rss_first_run_mb"] = 8300
    assert memory_row(jobs)[1].startswith("**no regression**")


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


def test_lesson_04_quotes_the_single_run_memory_ab_of_the_floor_record():
    """What keeping freed memory costs in one run: lesson 04 repeats benchmarks/floor-latest.json's A/B."""
    from benchmarks.fast_report import to_gif

    jobs = record_of("floor")["jobs"]
    kept, defaults, bare = jobs["ours-lightning"], jobs["ours-lightning-malloc-defaults"], jobs["bare-lightning"]
    assert "warm_runs" not in kept and "warm_runs" not in defaults  # both peaks are of a single run
    text = " ".join((ROOT / "lessons" / "04-phase1.md").read_text(encoding="utf-8").split())
    got = re.search(r"kept, a single run peaked at ([\d.]+) GB and took (\d+) s from prompt to GIF; with malloc's "
                    r"defaults, ([\d.]+) GB and (\d+) s\. Keeping the memory costs ([\d.]+) GB of peak for that time, "
                    r"and stays below bare diffusers' ([\d.]+) GB", text)
    gb = lambda job: round(job["peak_rss_first_run_mb"] / 1024, 1)  # noqa: E731
    assert got and got.groups() == (f"{gb(kept)}", f"{to_gif(kept):.0f}", f"{gb(defaults)}", f"{to_gif(defaults):.0f}",
                                    f"{gb(kept) - gb(defaults):.1f}", f"{bare['peak_rss_mb'] / 1024:.1f}")


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
