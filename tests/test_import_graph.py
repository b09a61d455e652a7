"""No import cycles in src/uptake: modules form layers, each importing only what lies below it.

The graph is read from the source with `ast`, not by importing, so an import the tests never run still
counts. What makes an edge:
- every `import uptake.x` and `from uptake.x import y` (absolute or relative), wherever it stands: at the
  top, inside a function (a deferred import is still a dependency, only a later one), under `try`;
- `from package import name` points at the submodule `package.name` when there is one, else at the
  package's `__init__` (where `name` is defined);
- imports under `if TYPE_CHECKING:` count too. They never run, so they cannot break an import, but a cycle
  through type names is still two modules that each need the other; layering asks for one direction.
What does not: the implicit import of a module's parent packages (`uptake/__init__.py` imports
`uptake.engines.base`; counting "every module imports `uptake`" would make everything one cycle).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

SOURCE = Path(__file__).resolve().parents[1] / "src"

ImportGraph = dict[str, set[str]]


def module_names(root: Path, package: str) -> dict[str, Path]:
    """Every module under `root/package`, by dotted name (a package by its own name)."""
    modules = {}
    for path in sorted((root / package).rglob("*.py")):
        parts = path.relative_to(root).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        modules[".".join(parts)] = path
    return modules


def _imported(node: ast.Import | ast.ImportFrom, module: str, is_package: bool) -> Iterator[str]:
    """The dotted names an import statement reaches: modules, or (for `from`) a module's names."""
    if isinstance(node, ast.Import):
        for alias in node.names:
            yield alias.name
        return
    if node.level:
        # Relative: level 1 is the module's own package (for a package's __init__, the package itself).
        base = module.split(".") if is_package else module.split(".")[:-1]
        base = base[: len(base) - (node.level - 1)]
        target = ".".join([*base, node.module] if node.module else base)
    else:
        target = node.module or ""
    for alias in node.names:
        yield f"{target}.{alias.name}"


def import_graph(root: Path, package: str) -> ImportGraph:
    """Module -> the modules of `package` it imports."""
    modules = module_names(root, package)
    graph: ImportGraph = {name: set() for name in modules}
    for name, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        is_package = path.name == "__init__.py"
        for node in ast.walk(tree):
            if not isinstance(node, ast.Import | ast.ImportFrom):
                continue
            for target in _imported(node, name, is_package):
                # `a.b.c` is a module, or a name defined in the nearest module above it.
                while target and target not in modules:
                    target = target.rpartition(".")[0]
                if target and target != name:
                    graph[name].add(target)
    return graph


def find_cycles(graph: ImportGraph) -> list[list[str]]:
    """One cycle (first module repeated at the end) per strongly connected group of modules (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return [_cycle_in(graph, group) for group in groups]


def _cycle_in(graph: ImportGraph, group: list[str]) -> list[str]:
    """A path from the group's first module back to itself, inside the group (breadth first: shortest)."""
    members = set(group)
    start = group[0]
    came_from: dict[str, str] = {}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for target in sorted(graph[node] & members):
                if target == start:
                    path = [node]
                    while path[-1] != start:
                        path.append(came_from[path[-1]])
                    return [start, *reversed(path[:-1]), start]
                if target not in came_from:
                    came_from[target] = node
                    following.append(target)
        frontier = following
    raise AssertionError(f"no cycle through {start} in {group}")


def test_src_uptake_has_no_import_cycle() -> None:
    cycles = find_cycles(import_graph(SOURCE, "uptake"))
    assert not cycles, "import cycles:\n" + "\n".join(" -> ".join(cycle) for cycle in cycles)


def write_package(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


@pytest.mark.parametrize(
    ("files", "cycle"),
    [
        (  # absolute, one of them deferred into a function
            {
                "pkg/__init__.py": "",
                "pkg/a.py": "from pkg.b import thing\n",
                "pkg/b.py": "def f():\n    import pkg.a\n",
            },
            ["pkg.a", "pkg.b", "pkg.a"],
        ),
        (  # relative imports, through a subpackage's __init__
            {
                "pkg/__init__.py": "",
                "pkg/a.py": "from .sub import name\n",
                "pkg/sub/__init__.py": "from .c import name\n",
                "pkg/sub/c.py": "from ..a import other\n",
            },
            ["pkg.a", "pkg.sub", "pkg.sub.c", "pkg.a"],
        ),
        (  # under TYPE_CHECKING
            {
                "pkg/__init__.py": "",
                "pkg/a.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pkg import b\n",
                "pkg/b.py": "from pkg.a import x\n",
            },
            ["pkg.a", "pkg.b", "pkg.a"],
        ),
    ],
)
def test_cycles_are_found_and_printed(tmp_path: Path, files: dict[str, str], cycle: list[str]) -> None:
    write_package(tmp_path, files)
    assert find_cycles(import_graph(tmp_path, "pkg")) == [cycle]


def test_a_layered_package_has_no_cycle(tmp_path: Path) -> None:
    write_package(
        tmp_path,
        {
            "pkg/__init__.py": "from pkg.top import run\n",
            "pkg/top.py": "import os\nfrom pkg import low\n\ndef run():\n    from pkg.low import helper\n",
            "pkg/low.py": "import json\n",
        },
    )
    graph = import_graph(tmp_path, "pkg")
    assert graph == {"pkg": {"pkg.top"}, "pkg.top": {"pkg.low"}, "pkg.low": set()}
    assert find_cycles(graph) == []
