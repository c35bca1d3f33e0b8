"""The arrows of ARCHITECTURE.md, checked on every import in the tree (lazy ones included):
which room may import which, and no import cycles between modules."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from enum import StrEnum
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# package prefix -> folder (pyproject's package-dir)
FOLDERS = {
    "ragcore.connectors": ROOT / "connectors",
    "ragcore.adapters": ROOT / "adapters",
    "ragcore.evals": ROOT / "evals",
    "ragcore": ROOT / "ragcore",
}


class Room(StrEnum):
    FACE = "face"
    CORE = "core"
    CONNECTORS = "connectors"
    ADAPTERS = "adapters"
    EVALS = "evals"
    EVALS_DATA = "evals.data"


FACES = ("ragcore.cli", "ragcore.server", "ragcore.integrations")

# room -> rooms it must not import
FORBIDDEN = {
    Room.CORE: {Room.FACE, Room.CONNECTORS, Room.ADAPTERS, Room.EVALS, Room.EVALS_DATA},
    Room.CONNECTORS: {Room.FACE, Room.ADAPTERS, Room.EVALS, Room.EVALS_DATA},
    Room.ADAPTERS: {Room.FACE, Room.CONNECTORS, Room.EVALS},  # evals/data/ only
    Room.EVALS: {Room.FACE, Room.ADAPTERS},
    Room.EVALS_DATA: {Room.FACE, Room.ADAPTERS},
}


def room(module: str) -> Room:
    if module.startswith(FACES):
        return Room.FACE
    if module.startswith("ragcore.connectors"):
        return Room.CONNECTORS
    if module.startswith("ragcore.adapters"):
        return Room.ADAPTERS
    if module.startswith("ragcore.evals.data"):
        return Room.EVALS_DATA
    if module.startswith("ragcore.evals"):
        return Room.EVALS
    return Room.CORE


def modules() -> Iterator[tuple[str, Path]]:
    seen: set[Path] = set()
    for prefix, folder in FOLDERS.items():
        for path in sorted(folder.rglob("*.py")):
            if path in seen or "demo_docs" in path.parts:
                continue
            seen.add(path)
            parts = list(path.relative_to(folder).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            yield ".".join([prefix, *parts]), path


def imports(path: Path, module: str) -> set[str]:
    """Every ``ragcore`` module ``path`` imports, at any depth of the file."""
    found: set[str] = set()
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            found.add(base)
            found.update(f"{base}.{a.name}" for a in node.names)
    return {m for m in found if m == "ragcore" or m.startswith("ragcore.")}


def graph() -> dict[str, set[str]]:
    known = dict(modules())
    edges: dict[str, set[str]] = {}
    for module, path in known.items():
        edges[module] = {m for m in imports(path, module) if m in known and m != module}
    return edges


def test_no_room_imports_what_the_architecture_forbids() -> None:
    edges = graph()
    assert len(edges) > 80  # the walk found the tree
    wrong = sorted(
        f"{a} ({room(a)}) -> {b} ({room(b)})"
        for a, targets in edges.items()
        for b in targets
        if room(b) in FORBIDDEN.get(room(a), set()) and b != "ragcore"
    )
    assert not wrong, "imports against ARCHITECTURE.md:\n" + "\n".join(wrong)


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, 1972)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(edges.get(v, ())):
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

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return found


def test_cycles_are_found_on_a_hand_made_graph() -> None:
    edges = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": set()}
    assert cycles(edges) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_there_are_no_import_cycles_lazy_or_not() -> None:
    edges = graph()
    # a package's __init__ re-exporting its own submodules is not a cycle of rooms
    for module in list(edges):
        edges[module] = {m for m in edges[module] if not m.startswith(module + ".")}
    assert cycles(edges) == []


def test_benchmarks_never_import_a_cli_module() -> None:
    offenders = []
    for path in sorted((ROOT / "benchmarks").glob("*.py")):
        found = imports(path, "benchmarks." + path.stem)
        offenders += [f"{path.name} -> {m}" for m in found if m.startswith("ragcore.cli")]
    assert not offenders, offenders
