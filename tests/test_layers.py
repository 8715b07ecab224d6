"""The package's layers (README, Architecture): every import points down, and no import cycle.

The import graph is read from the source (``ast``): top-level imports, imports inside functions
and ``TYPE_CHECKING`` imports alike, so a lazy import cannot hide an upward dependency.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "irpipe"

#: Bottom to top.  A module may import modules of its own entry and of entries listed before it;
#: the layer names are the README's picture.
LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("base", ("irpipe", "irpipe.errors", "irpipe.paths")),
    ("runtime", ("irpipe.runtime.files", "irpipe.schema", "irpipe.runtime")),
    ("IR kinds", ("irpipe.ir", "irpipe.llvm", "irpipe.mlir")),
    ("stages", ("irpipe.extract", "irpipe.featurize", "irpipe.label")),
    ("learning", ("irpipe.data", "irpipe.nn", "irpipe.train", "irpipe.problems")),
    ("applications", ("irpipe.optimize", "irpipe.gym", "irpipe.bench")),
    ("test support", ("irpipe.testing",)),
    ("cli", ("irpipe.cli", "irpipe.__main__")),
)
ORDER = [entry for _, entries in LAYERS for entry in entries]


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path, name: str) -> set[str]:
    """Every irpipe module ``path`` imports (``from irpipe.x import y`` counts as ``irpipe.x.y``
    when ``y`` is a module, else as ``irpipe.x``)."""
    is_pkg = path.name == "__init__.py"
    package = name if is_pkg else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.split(".")[0] == "irpipe")
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.split(".")[0] != "irpipe":
                continue
            for alias in node.names:
                sub = f"{target}.{alias.name}"
                found.add(sub if _is_module(sub) else target)
    return found


def _is_module(name: str) -> bool:
    rel = Path(*name.split(".")[1:])
    return (PACKAGE / rel).with_suffix(".py").is_file() or (PACKAGE / rel / "__init__.py").is_file()


def import_graph() -> dict[str, set[str]]:
    """Module -> the irpipe modules it imports, over every file of the package."""
    graph: dict[str, set[str]] = defaultdict(set)
    for path in sorted(PACKAGE.rglob("*.py")):
        name = module_name(path)
        graph[name] |= {m for m in imports_of(path, name) if m != name}
    return dict(graph)


def entry_of(module: str) -> int:
    """Index in :data:`ORDER` of the longest entry that is ``module`` or a package above it."""
    best = -1
    for i, entry in enumerate(ORDER):
        if (module == entry or module.startswith(entry + ".")) and (best < 0 or len(entry) > len(ORDER[best])):
            best = i
    return best


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one node (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph.get(root, ()))))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, edges = work[-1]
            for nxt in edges:
                if nxt not in index:
                    index[nxt] = low[nxt] = counter
                    counter += 1
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, iter(sorted(graph.get(nxt, ())))))
                    break
                if nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    comp = []
                    while True:
                        top = stack.pop()
                        on_stack.discard(top)
                        comp.append(top)
                        if top == node:
                            break
                    if len(comp) > 1:
                        found.append(sorted(comp))
    return found


def test_every_module_has_a_layer() -> None:
    unplaced = [m for m in import_graph() if entry_of(m) < 0]
    assert not unplaced, f"modules outside every layer (add them to LAYERS): {unplaced}"


def test_imports_point_down() -> None:
    upward = []
    for module, targets in import_graph().items():
        for target in sorted(targets):
            if entry_of(target) > entry_of(module):
                upward.append(f"{module} -> {target} ({ORDER[entry_of(module)]} imports "
                              f"{ORDER[entry_of(target)]}, which lies above it)")
    assert not upward, "imports against the layer order:\n" + "\n".join(upward)


def test_no_module_cycles() -> None:
    assert cycles(import_graph()) == []


@pytest.mark.parametrize("graph,expected", [
    ({"a": {"b"}, "b": {"a"}, "c": {"a"}}, [["a", "b"]]),
    ({"a": {"b"}, "b": {"c"}, "c": set()}, []),
])
def test_cycle_finder(graph: dict[str, set[str]], expected: list[list[str]]) -> None:
    assert cycles(graph) == expected


#: The only modules that import ray: the one Ray entry, the Ray Train job, and the test support
#: that starts a multi-node cluster for the node-loss tests.
RAY_IMPORTERS = {"irpipe.runtime.cluster", "irpipe.train.job", "irpipe.testing.jobs"}


def test_ray_only_at_the_edge() -> None:
    importers = set()
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) and not node.level else [])
            if any(n == "ray" or n.startswith("ray.") for n in names):
                importers.add(module_name(path))
    assert importers <= RAY_IMPORTERS, f"ray imported outside the edge: {sorted(importers - RAY_IMPORTERS)}"
