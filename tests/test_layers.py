"""The layers of ARCHITECTURE.md hold in the code: imports go down only, and no module imports
itself back through others.

    livehost (the command: composes everything)
    backend (HTTP)   scheduler (dispatch, workers)   transcriber
    db (data models, the database)                   streamer (the live: knows nothing above it)

Read from the source with `ast`, nothing is imported: an import inside a function counts for the
layers as much as one at the top, and the import graph that must have no cycle is the one of
module-level imports (those under `if TYPE_CHECKING:` included: they still name the dependency).
"""
from __future__ import annotations

import ast
from pathlib import Path

from tests.helpers.process import ROOT

PACKAGES = ("streamer", "db", "backend", "scheduler", "transcriber", "livehost")

# package -> the top-level names its modules may not import
FORBIDDEN = {
    "streamer": {"db", "backend", "scheduler", "transcriber", "livehost", "flask"},
    "db": {"backend", "scheduler", "transcriber", "livehost", "flask"},
    "backend": {"scheduler", "transcriber", "livehost"},
    "scheduler": {"backend", "transcriber", "livehost", "flask"},
    "transcriber": {"db", "backend", "scheduler", "livehost", "flask"},
}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for package in PACKAGES if (ROOT / package).is_dir()
            for p in sorted((ROOT / package).rglob("*.py"))}


MODULES = _modules()


def _absolute(node: ast.ImportFrom, module: str, path: Path) -> str:
    if not node.level:
        return node.module or ""
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    base = package[:len(package) - node.level + 1]
    return ".".join(base + ([node.module] if node.module else []))


def _targets(node: ast.Import | ast.ImportFrom, module: str, path: Path) -> list[str]:
    """The modules an import statement loads: `from a.b import c` is a.b.c when that is a module."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    base = _absolute(node, module, path)
    named = [f"{base}.{alias.name}" for alias in node.names]
    return [name if name in MODULES else base for name in named]


def _imports(module: str, path: Path) -> tuple[list[tuple[str, int]], list[tuple[str, int]]]:
    """(every import with its line, module-level imports with their lines) of one module."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    every, top = [], []

    def visit(node: ast.AST, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.Import, ast.ImportFrom)):
                found = [(t, child.lineno) for t in _targets(child, module, path)]
                every.extend(found)
                if not in_function:
                    top.extend(found)
            visit(child, in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)))

    visit(tree, False)
    return every, top


IMPORTS = {module: _imports(module, path) for module, path in MODULES.items()}


def _where(module: str, line: int) -> str:
    return f"{MODULES[module].relative_to(ROOT)}:{line}"


def test_each_layer_imports_only_the_layers_below_it():
    wrong = []
    for module, (every, _top) in IMPORTS.items():
        forbidden = FORBIDDEN.get(module.split(".")[0], set())
        for target, line in every:
            if target.split(".")[0] in forbidden:
                wrong.append(f"{_where(module, line)}: {module} imports {target}")
    assert not wrong, "imports that go up or across the layers:\n" + "\n".join(wrong)


def _graph(module_level: bool = True) -> dict[str, dict[str, int]]:
    """module -> {module it imports (at module level, or anywhere): the line}, within our packages."""
    graph: dict[str, dict[str, int]] = {}
    for module, (every, top) in IMPORTS.items():
        edges = graph.setdefault(module, {})
        for target, line in top if module_level else every:
            if target in MODULES and target != module:
                edges.setdefault(target, line)
    return graph


def _cycles(graph: dict[str, dict[str, int]]) -> list[list[str]]:
    """One cycle (a list of modules, the first repeated at the end) per strongly connected group."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[set[str]] = []

    def connect(v: str) -> None:  # Tarjan's algorithm
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                connect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = set()
            while True:
                w = stack.pop()
                on_stack.discard(w)
                group.add(w)
                if w == v:
                    break
            if len(group) > 1:
                groups.append(group)

    for v in sorted(graph):
        if v not in index:
            connect(v)
    cycles = []
    for group in groups:
        start = min(group)
        path, seen = [start], {start}
        while True:  # walk inside the group until a module repeats
            nxt = min(w for w in graph[path[-1]] if w in group)
            if nxt in seen:
                cycles.append(path[path.index(nxt):] + [nxt])
                break
            path.append(nxt)
            seen.add(nxt)
    return cycles


def _shown(graph: dict[str, dict[str, int]], cycles: list[list[str]]) -> str:
    return "\n".join("  " + "\n  -> ".join(f"{m} ({_where(m, graph[m][n])})" for m, n in zip(c, c[1:]))
                     + f"\n  -> {c[-1]}" for c in cycles)


def test_module_level_imports_have_no_cycle():
    graph = _graph()
    cycles = _cycles(graph)
    assert not cycles, "import cycles:\n" + _shown(graph, cycles)


def test_no_import_inside_a_function_hides_a_cycle():
    """An import moved into a function is fine to keep start-up fast (torch, the API from the
    command line), not to break a cycle: move the shared thing down a layer instead."""
    graph = _graph(module_level=False)
    cycles = _cycles(graph)
    assert not cycles, "import cycles through imports inside functions:\n" + _shown(graph, cycles)


def test_the_checks_see_the_packages():
    assert {"streamer.live", "backend.app", "scheduler.dispatch", "db.models", "livehost.cli"} <= set(MODULES)
