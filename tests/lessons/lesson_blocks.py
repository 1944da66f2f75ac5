"""Parse the lesson markdown: fenced blocks with their kind, `command:` links, figures.

A fenced block's info string is `LANG [KIND]`: markdown renderers show LANG and ignore the rest.
Kinds say how a test proves the block true:
  bash            run as written; must exit 0
  bash dry-run    run with `--dry-run` added to its last line (installs nothing)
  bash network    run with `--dry-run` added to each `python` line (downloads nothing)
  bash hardware   needs a Blackhole card: must fail cleanly, naming why, without a traceback
  bash ttnn       needs a Python with ttnn: run as written in the scratchpad, whose `.venv-ttnn` is the
                  repository's (scripts/setup-ttnn-venv.sh); skipped, saying why, where there is none
  python excerpt=FILE   every line must appear verbatim in FILE of the lesson package
  text            every *.py / *.toml name in it must exist in the lesson package
"""

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List

FENCE = re.compile(r"^```([^\n`]*)\n(.*?)^```\s*$", re.S | re.M)
COMMAND_LINK = re.compile(r"\(command:([A-Za-z0-9_.\-]+)(?:\?[^)]*)?\)")
FIGURE = re.compile(r"\b\d+(?:\.\d+)?(?:-\d+(?:\.\d+)?)?\s?(?:s|ms|min|minutes|seconds|hours)\b")
HARDWARE_WORDS = ("H100", "H200", "CPU", "EPYC", "Blackhole", "GPU", "core")


@dataclass
class Block:
    lesson: str
    lang: str
    kind: str
    body: str

    @property
    def id(self) -> str:
        first = self.body.strip().splitlines()[-1][:60] if self.body.strip() else ""
        return f"{self.lesson}:{self.lang}:{self.kind}:{first}"


def lessons(folder: Path) -> Dict[str, str]:
    return {p.name: p.read_text(encoding="utf-8") for p in sorted(folder.glob("*.md"))}


def blocks(folder: Path) -> List[Block]:
    found = []
    for name, text in lessons(folder).items():
        for match in FENCE.finditer(text):
            words = match.group(1).split()
            lang = words[0] if words else ""
            found.append(Block(name, lang, " ".join(words[1:]), match.group(2)))
    return found


def command_links(folder: Path) -> Dict[str, List[str]]:
    links: Dict[str, List[str]] = {}
    for name, text in lessons(folder).items():
        for command in COMMAND_LINK.findall(text):
            links.setdefault(command, []).append(name)
    return links


def figure_units(text: str) -> List[str]:
    """Paragraphs, with each table row on its own: a figure and its hardware must share one."""
    text = FENCE.sub("", text)
    units = []
    for para in re.split(r"\n\s*\n", text):
        lines = para.strip().splitlines()
        if lines and lines[0].lstrip().startswith("|"):
            units.extend(lines)
        elif para.strip():
            units.append(para)
    return units


def unlabelled_figures(folder: Path) -> List[str]:
    bad = []
    for name, text in lessons(folder).items():
        for unit in figure_units(text):
            if FIGURE.search(unit) and not any(word in unit for word in HARDWARE_WORDS):
                bad.append(f"{name}: {unit.strip()[:120]}")
    return bad
