"""Prompt travel: a schedule of frame -> prompt, so what the clip shows changes over time.

    0: a corgi on a beach | 16: a corgi in the snow

Frame 0 needs a prompt (something has to start the clip). Between two scheduled frames diffusers
interpolates the two prompts' text embeddings linearly, frame by frame (FreeNoise's
`_encode_prompt_free_noise`), and the last scheduled prompt holds to the end. A schedule is written
as `FRAME: PROMPT` entries separated by `|` or new lines, or as a JSON object {"0": "...", ...};
a file holding either works too.

The grammar raises ValueError with what to change; params.py checks the field with it and names the
field (ParamError), so this module needs nothing from the rest of the package.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

_FRAME = re.compile(r"[0-9]+")  # not str.isdigit(): it also says yes to "²" (int() fails) and "٣" (read as 3)


def _frame_number(text: str) -> Optional[int]:
    """A frame number written with 0-9, else None."""
    text = text.strip()
    return int(text) if _FRAME.fullmatch(text) else None


def _json_object(pairs: List[Tuple[str, Any]]) -> Dict[str, Any]:
    """json.loads keeps the last of two equal keys without a word; a schedule refuses them, as its text form does."""
    data: Dict[str, Any] = {}
    for key, value in pairs:
        if key in data:
            raise ValueError(f"frame {key!r} is given twice")
        data[key] = value
    return data


def parse_prompt_schedule(text: str) -> Dict[int, str]:
    """`"0: a | 16: b"` (or one entry per line, or JSON) -> {0: "a", 16: "b"}; ValueError if malformed."""
    if not isinstance(text, str) or not text.strip():
        raise ValueError("is empty; write it as '0: first prompt | 16: second prompt'")
    stripped = text.strip()
    if stripped.startswith("{"):
        try:
            data = json.loads(stripped, object_pairs_hook=_json_object)
        except json.JSONDecodeError as exc:
            raise ValueError(f"is not valid JSON: {exc.msg} (line {exc.lineno})") from exc
        return normalize_schedule(data)
    schedule: Dict[int, str] = {}
    entries = [e.strip() for line in stripped.splitlines() for e in line.split("|")]
    for entry in entries:
        if not entry or entry.startswith("#"):
            continue
        text, sep, prompt = entry.partition(":")
        frame = _frame_number(text) if sep else None
        if frame is None:
            raise ValueError(f"entry {entry!r} is not 'FRAME: PROMPT' (FRAME a whole number, written with 0-9)")
        if frame in schedule:
            raise ValueError(f"frame {frame} is given twice")
        schedule[frame] = prompt.strip()
    return normalize_schedule(schedule)


def schedule_text(value: str) -> str:
    """The CLI's `--prompt-schedule`: the schedule itself, or the path of a file that holds one."""
    path = Path(value).expanduser()
    if len(value) < 4096 and "\n" not in value and ":" not in value.split("/")[-1] and path.is_file():
        return path.read_text(encoding="utf-8")
    return value


def normalize_schedule(data) -> Dict[int, str]:
    """Accept {int or digit-string: str}; return {int: str} sorted by frame. Checks what needs no frame count."""
    if not isinstance(data, dict) or not data:
        raise ValueError("must map frame numbers to prompts, e.g. {'0': 'a corgi', '16': 'a cat'}")
    schedule: Dict[int, str] = {}
    for key, prompt in data.items():
        frame = _frame_number(key) if isinstance(key, str) else key
        if isinstance(frame, bool) or not isinstance(frame, int) or frame < 0:
            raise ValueError(f"frame {key!r} is not a whole number >= 0 (written with 0-9)")
        if frame in schedule:  # "0" and "00"
            raise ValueError(f"frame {frame} is given twice")
        if not isinstance(prompt, str) or not prompt.strip():
            raise ValueError(f"the prompt for frame {frame} is empty")
        schedule[frame] = prompt.strip()
    if 0 not in schedule:
        raise ValueError(f"needs a prompt for frame 0 (it starts at frame {min(schedule)})")
    return dict(sorted(schedule.items()))


def validate_schedule(schedule: Dict[int, str], num_frames: int) -> Dict[int, str]:
    """Every scheduled frame must exist in the clip."""
    schedule = normalize_schedule(schedule)
    beyond = [f for f in schedule if f >= num_frames]
    if beyond:
        raise ValueError(f"frame {beyond[0]} is beyond the clip: num_frames is {num_frames}, so frames are "
                                f"0..{num_frames - 1}")
    return schedule


def schedule_rows(schedule: Dict[int, str], num_frames: int) -> List[Tuple[int, int, str]]:
    """(first frame, last frame, prompt) per entry: what the preview panel lists and the run record keeps.
    Frames between two entries blend from one prompt into the next."""
    frames = list(schedule)
    ends = [f - 1 for f in frames[1:]] + [num_frames - 1]
    return [(start, end, schedule[start]) for start, end in zip(frames, ends)]


def format_schedule(schedule: Dict[int, str]) -> str:
    """The CLI form back: '0: a | 16: b'."""
    return " | ".join(f"{frame}: {prompt}" for frame, prompt in schedule.items())


def interpolate_frames(embeddings: Dict[int, "torch.Tensor"], num_frames: int) -> "torch.Tensor":
    """{scheduled frame: its prompt's embedding (77, D)} -> one embedding per frame (F, 77, D), blended
    linearly between scheduled frames and held after the last, exactly as diffusers' FreeNoise prompt
    path does it (`_encode_prompt_free_noise` + `_lerp`), which Phase 1 runs. Phase 3 calls this."""
    import torch

    frames = dict(sorted(embeddings.items()))
    frames[num_frames - 1] = frames[list(frames)[-1]]  # the last prompt holds to the end
    keys = list(frames)
    if len(keys) == 1:  # a one-frame clip: nothing to blend
        return frames[keys[0]][None].clone()
    out = frames[keys[0]].new_zeros((num_frames, *frames[keys[0]].shape))
    for start, end in zip(keys, keys[1:]):
        count = end - start + 1
        alphas = [i / (count - 1) for i in range(count)]
        out[start:end + 1] = torch.stack([(1 - a) * frames[start] + a * frames[end] for a in alphas])
    return out
