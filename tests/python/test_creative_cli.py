"""The Phase 1 script's longer-and-directed flags, run as a user runs them (subprocess, tiny models)."""

import json

from conftest import gif_frames
from test_examples import run_example


def test_long_clip_with_schedule_lora_and_motion_scale_from_the_cli(tiny_models, tmp_path):
    schedule = tmp_path / "schedule.txt"
    schedule.write_text("0: a red fox running\n10: a white owl flying\n")
    proc = run_example("generate_baseline.py", "--model", tiny_models["sd"], "--motion-adapter", tiny_models["motion_adapter"],
                       "--frames", "20", "--steps", "1", "--width", "32", "--height", "32",
                       "--prompt-schedule", str(schedule), "--context-stride", "8",
                       "--motion-lora", f"{tiny_models['motion_lora_ckpt']}:0.5", "--motion-scale", "1.2", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert len(gif_frames(tmp_path / "output" / "baseline.gif")[0]) == 20
    record = json.loads((tmp_path / "output" / "baseline.json").read_text())
    creative = record["creative"]
    assert creative["context_windows"]["context_length"] == 16 and creative["context_windows"]["context_stride"] == 8
    assert [row["from_frame"] for row in creative["prompt_schedule"]] == [0, 10]
    assert creative["motion_loras"][0]["weight"] == 0.5 and creative["motion_scale"] == 1.2


def test_bad_values_are_refused_before_any_model_loads(tmp_path):
    for args, message in [
        (["--prompt-schedule", "3: a fox"], "invalid parameter prompt_schedule: needs a prompt for frame 0"),
        (["--motion-scale", "-1"], "invalid parameter motion_scale"),
        (["--motion-loras", "zoom-in:7"], "invalid parameter motion_loras"),
    ]:
        proc = run_example("generate_baseline.py", "--model", str(tmp_path / "nowhere"), *args, cwd=tmp_path)
        assert proc.returncode == 2 and message in proc.stderr, proc.stderr
