#!/usr/bin/env python3
"""How the lesson package reads as an architecture: its modules, its places, the imports between them.

    python3 scripts/package_graph.py [python/tt-animatediff/animatediff_ttnn]

A *place* is a module at the package's top level or a subpackage (everything in it counts as one).
Every import statement counts, at module level or inside a function. Prints the counts, then each
import cycle (there should be none) and the place-to-place edges. tests/python/test_package_layout.py
checks the same graph.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path
from typing import Dict, List, Set

DEFAULT = Path(__file__).resolve().parents[1] / "python" / "tt-animatediff" / "animatediff_ttnn"


def modules(package: Path) -> Dict[str, Path]:
    """Dotted module name (the package's own name first) -> file."""
    out = {}
    for path in sorted(package.rglob("*.py")):
        parts = list(path.relative_to(package.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def imports(mods: Dict[str, Path]) -> Dict[str, Set[str]]:
    """Module -> the package's modules it imports (a name imported from a module counts as that module)."""
    edges: Dict[str, Set[str]] = {name: set() for name in mods}
    for name, path in mods.items():
        base = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                parent = base[: len(base) - node.level + 1] if node.level else []
                prefix = ".".join(parent + ([node.module] if node.module else []))
                targets = [prefix] + [f"{prefix}.{alias.name}" for alias in node.names]
            elif isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            else:
                continue
            for target in targets:
                while target and target not in mods:
                    target = target.rpartition(".")[0]
                if target and target != name and not name.startswith(target + "."):
                    edges[name].add(target)
    return edges


def cycles(edges: Dict[str, Set[str]]) -> List[List[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: Dict[str, int] = {}
    low: Dict[str, int] = {}
    stack: List[str] = []
    on_stack: Set[str] = set()
    found: List[List[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(edges[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    sys.setrecursionlimit(max(1000, 10 * len(edges)))
    for v in sorted(edges):
        if v not in index:
            visit(v)
    return found


def place(module: str) -> str:
    """animatediff_ttnn.backends.choice -> animatediff_ttnn.backends; a top-level module is its own place."""
    return ".".join(module.split(".")[:2])


def place_edges(edges: Dict[str, Set[str]]) -> Dict[str, Set[str]]:
    out: Dict[str, Set[str]] = {}
    for source, targets in edges.items():
        if source.count(".") == 0:  # the package itself
            continue
        out.setdefault(place(source), set()).update(place(t) for t in targets if t.count(".") and place(t) != place(source))
    return out


def main(argv: List[str]) -> int:
    package = Path(argv[0]) if argv else DEFAULT
    mods = modules(package)
    edges = imports(mods)
    places = place_edges(edges)
    top = sorted(m for m, p in mods.items() if m.count(".") == 1 and p.name != "__init__.py")
    subs = sorted(m for m, p in mods.items() if m.count(".") == 1 and p.name == "__init__.py")
    found = cycles(edges)
    print(f"modules {len(mods)}, top-level modules {len(top)}, subpackages {len(subs)}, "
          f"places {len(places)}, import edges {sum(map(len, edges.values()))} between modules and "
          f"{sum(map(len, places.values()))} between places, cycles {len(found)}")
    for component in found:
        print("cycle:", " <-> ".join(component))
    for source in sorted(places):
        short = lambda m: m.split(".", 1)[1]  # noqa: E731
        print(f"  {short(source):<20} -> {', '.join(short(t) for t in sorted(places[source])) or '-'}")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
