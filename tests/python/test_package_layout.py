"""The lesson package reads as the lesson: its top level holds the files the lessons teach, the machinery
lives in a few folders that say what they hold, and the imports have no cycles (scripts/package_graph.py)."""

import importlib.util
import re
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PACKAGE = REPO / "python" / "tt-animatediff" / "animatediff_ttnn"
LESSONS = REPO / "lessons"

# The lesson itself (issue 19): the phases' pipelines, the motion module, the frame loop, their TTNN port,
# the parameters, and the entry points. A new module goes into one of the folders below, not here.
LESSON_FILES = {"pipeline", "ttnn_pipeline", "motion_pipeline", "temporal_module", "motion_unet", "ttnn_temporal",
                "ttnn_motion_unet", "params", "cli", "download", "studio_api"}
FOLDERS = {"backends", "creative", "models", "runtime", "outputs"}


def _graph():
    spec = importlib.util.spec_from_file_location("package_graph", REPO / "scripts" / "package_graph.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["package_graph"] = module
    spec.loader.exec_module(module)
    return module


def test_the_top_level_is_the_lesson_and_the_rest_is_in_folders():
    top = {p.stem for p in PACKAGE.glob("*.py") if p.name != "__init__.py"}
    folders = {p.name for p in PACKAGE.iterdir() if p.is_dir() and p.name != "__pycache__"}
    assert top == LESSON_FILES
    assert folders == FOLDERS
    assert not [p for p in PACKAGE.glob("*/*/") if p.name != "__pycache__"]  # one folder down, no deeper


def test_no_import_cycles():
    graph = _graph()
    edges = graph.imports(graph.modules(PACKAGE))
    assert graph.cycles(edges) == []
    # the folders never reach back up into a phase's pipeline (the lesson uses the machinery, not the reverse)
    phases = {f"animatediff_ttnn.{m}" for m in ("pipeline", "ttnn_pipeline", "motion_pipeline", "studio_api", "cli")}
    for module, targets in edges.items():
        if module.count(".") >= 2:
            assert not targets & phases, (module, targets & phases)


def test_each_folder_says_in_two_lines_what_it_holds_and_which_lesson_touches_it():
    lesson_numbers = {p.name[:2] for p in LESSONS.glob("[0-9][0-9]-*.md")}
    for folder in FOLDERS:
        init = PACKAGE / folder / "__init__.py"
        text = init.read_text(encoding="utf-8")
        doc = text.strip()
        assert doc.startswith('"""') and doc.endswith('"""') and doc.count('"""') == 2, f"{init}: only a docstring"
        assert len(doc.splitlines()) == 2, f"{init}: two lines"
        named = re.findall(r"Lessons? (\d\d)(?: \([^)]*\))?(?: and (\d\d))?", doc)
        numbers = {n for pair in named for n in pair if n}
        assert numbers and numbers <= lesson_numbers, f"{init} names lessons {numbers}"
        for module in (PACKAGE / folder).glob("*.py"):  # every module in it is what the folder says it holds
            assert module.read_text(encoding="utf-8").lstrip().startswith('"""'), f"{module}: a docstring first"


def test_lesson_02_shows_the_tree_as_it_is():
    text = (LESSONS / "02-deploy.md").read_text(encoding="utf-8")
    tree = text[text.index("```text\ntt-animatediff/"):]
    tree = tree[:tree.index("\n```")]
    shown = set(re.findall(r"\b(\w+)\.py\b", tree)) | set(re.findall(r"\b(\w+)/", tree))
    for name in LESSON_FILES | FOLDERS:
        assert name in shown, f"lesson 02's tree does not show {name}"
    for name in re.findall(r"^    (\w+)/", tree, re.MULTILINE):
        assert (PACKAGE / name).is_dir(), name
    for name in re.findall(r"\b(\w+\.py)\b", tree):
        assert list(PACKAGE.parent.rglob(name)), f"lesson 02 shows {name}, which is not in the package"
