"""One order, one numbering: the walkthrough shows the lessons in the order of their file numbers, each
lesson's heading carries its number, and every "step N" / "lesson N" / "chapter N" in the text points at
the lesson it names (its sentence mentions that lesson's title or step)."""

import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LESSONS = ROOT / "lessons"
MANIFEST = json.loads((ROOT / "package.json").read_text(encoding="utf-8"))
STEPS = MANIFEST["contributes"]["walkthroughs"][0]["steps"]
NUMBER_WORDS = {7: "seven", 8: "eight", 9: "nine", 10: "ten", 11: "eleven", 12: "twelve"}
# "step 9", "Lessons 05", "chapter 10" - not "--steps 25" nor "step 3/25".
REFERENCE = re.compile(r"(?<![-\w])(?:step|lesson|chapter)s? 0?(\d+)\b(?![/\d]|\.\d)", re.I)
WINDOW = 160  # characters either side of a reference in which its lesson must be named


def lesson_files():
    return sorted(LESSONS.glob("[0-9][0-9]-*.md"))


def file_number(path) -> int:
    return int(Path(path).name[:2])


def heading(path: Path) -> str:
    return path.read_text(encoding="utf-8").splitlines()[0]


def names_of(number: int) -> list:
    """What a sentence may call lesson `number`: pieces of its heading and of its walkthrough step's
    title, and its step id in words ("longerDirected" -> "longer directed")."""
    path = next(p for p in lesson_files() if file_number(p) == number)
    step = next(s for s in STEPS if s["media"]["markdown"] == f"lessons/{path.name}")
    title = heading(path).split(".", 1)[1]
    pieces = re.split(r"[:,]", f"{title},{step['title']}")
    pieces.append(re.sub(r"([A-Z])", r" \1", step["id"]))
    return [p.strip().lower() for p in pieces if len(p.strip()) > 3]


def texts():
    """Every place that refers to a lesson by number, as (where, text on one line)."""
    paths = [*lesson_files(), ROOT / "README.md", ROOT / "extension" / "README.md", *(ROOT / "docs").glob("*.md"),
             *(ROOT / "python" / "tt-animatediff").rglob("*.py"), *(ROOT / "extension" / "src").rglob("*.ts")]
    for path in paths:
        yield str(path.relative_to(ROOT)), " ".join(path.read_text(encoding="utf-8").split())
    for step in STEPS:
        yield f"package.json step {step['id']}", f"{step['title']}. {step['description']}"


def test_the_walkthrough_shows_the_lessons_in_file_order():
    shown = [file_number(step["media"]["markdown"].split("/")[-1]) for step in STEPS]
    assert shown == list(range(1, len(lesson_files()) + 1)), f"walkthrough order (lesson file numbers): {shown}"


def test_each_lesson_heading_carries_its_file_number():
    for path in lesson_files():
        assert heading(path).startswith(f"# {file_number(path)}. "), f"{path.name}: {heading(path)!r}"


def test_every_numbered_reference_names_the_lesson_it_points_at():
    count = len(lesson_files())
    wrong = []
    for where, text in texts():
        for match in REFERENCE.finditer(text):
            number = int(match.group(1))
            context = text[max(0, match.start() - WINDOW):match.end() + WINDOW].lower()
            if not 1 <= number <= count:
                wrong.append(f"{where}: {match.group(0)!r} - there are {count} lessons")
            elif not any(name in context for name in names_of(number)):
                wrong.append(f"{where}: {match.group(0)!r} does not name lesson {number} ({names_of(number)}) "
                             f"near: ...{context[WINDOW - 60:WINDOW + 80]}...")
    assert wrong == []


def test_readmes_count_the_steps_there_are():
    word = NUMBER_WORDS[len(STEPS)]
    for path in (ROOT / "README.md", ROOT / "extension" / "README.md"):
        text = " ".join(path.read_text(encoding="utf-8").split()).lower()
        counts = re.findall(r"\b(\w+) steps\b", text)
        named = [c for c in counts if c in NUMBER_WORDS.values()]
        assert named and set(named) == {word}, f"{path.name} counts {named} steps; the walkthrough has {word}"
