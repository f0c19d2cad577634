"""The package's import graph, read from the source (no module is imported).

Shared by the layering tests: every ``import``/``from … import`` in a module, with relative
imports resolved, ``from pkg import name`` resolved to the submodule ``pkg.name`` when there
is one, and imports under ``if TYPE_CHECKING:`` left out (they never run). Imports inside
functions count: they run too, only later.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "konflux_supply"


@dataclass(frozen=True)
class Edge:
    """``source`` (a module name) imports ``target`` (a module name) at ``line``."""

    source: str
    target: str
    line: int


def module_name(root: Path, path: Path) -> str:
    """``konflux_supply.oci.registry`` for ``root/oci/registry.py`` (``root`` is the package)."""
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _nodes(tree: ast.AST, type_checking: bool) -> Iterator[ast.AST]:
    """Every node; without ``type_checking``, not the bodies of ``if TYPE_CHECKING:``."""
    for child in ast.iter_child_nodes(tree):
        if not type_checking and isinstance(child, ast.If) and _is_type_checking(child):
            for part in child.orelse:
                yield part
                yield from _nodes(part, type_checking)
            continue
        yield child
        yield from _nodes(child, type_checking)


def _resolve(module: str, is_package: bool, level: int, name: str | None) -> str:
    """The absolute module a relative ``from`` names."""
    base = module.split(".") if is_package else module.split(".")[:-1]
    if level > 1:
        base = base[: len(base) - (level - 1)]
    return ".".join([*base, name] if name else base)


def imports(
    root: Path, path: Path, modules: Iterable[str], *, type_checking: bool = True
) -> list[Edge]:
    """The modules of the package that ``path`` imports (as written, resolved); with
    ``type_checking=False`` only those that run (not under ``if TYPE_CHECKING:``)."""
    known = set(modules)
    source = module_name(root, path)
    is_package = path.name == "__init__.py"
    tree = ast.parse(path.read_text(), str(path))
    top = root.name
    edges: list[Edge] = []
    for node in _nodes(tree, type_checking):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name == top or alias.name.startswith(top + "."):
                    edges.append(Edge(source, alias.name, node.lineno))
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = _resolve(source, is_package, node.level, node.module)
            else:
                base = node.module or ""
            if not (base == top or base.startswith(top + ".")):
                continue
            for alias in node.names:
                candidate = f"{base}.{alias.name}"
                edges.append(Edge(source, candidate if candidate in known else base, node.lineno))
    return edges


def graph(root: Path, *, type_checking: bool = True) -> tuple[list[str], list[Edge]]:
    """Every module under ``root`` and every import edge between them."""
    files = sorted(root.rglob("*.py"))
    modules = [module_name(root, f) for f in files]
    edges = [edge for f in files for edge in imports(root, f, modules, type_checking=type_checking)]
    return modules, edges


def layer_problems(root: Path, layers: list[str]) -> list[str]:
    """Imports that break the package map: a package importing one below it in ``layers``
    (a lower row), or another package's private (``_``-prefixed) module."""
    top = root.name
    _, edges = graph(root)
    problems = []
    for edge in edges:
        source, target = edge.source.split("."), edge.target.split(".")
        if len(source) < 2 or len(target) < 2 or target[0] != top:
            continue
        owner, used = source[1], target[1]
        if owner not in layers or used not in layers or owner == used:
            continue
        where = f"{edge.source} (line {edge.line}) imports {edge.target}"
        if layers.index(used) > layers.index(owner):
            problems.append(f"{where}: a lower layer")
        if any(part.startswith("_") for part in target[2:]):
            problems.append(f"{where}: a private module of another package")
    return problems


def cycle_problems(root: Path) -> list[str]:
    """Import cycles among modules that run (``TYPE_CHECKING`` imports never run)."""
    modules, edges = graph(root, type_checking=False)
    return [" -> ".join(group) for group in cycles(modules, edges)]


def cycles(modules: Iterable[str], edges: Iterable[Edge]) -> list[list[str]]:
    """The import cycles (strongly connected groups of modules, and modules importing
    themselves), each sorted, found with Tarjan's algorithm."""
    successors: dict[str, set[str]] = {m: set() for m in modules}
    for edge in edges:
        if edge.target in successors:
            successors[edge.source].add(edge.target)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(successors[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1 or node in successors[node]:
                found.append(sorted(group))

    for module in sorted(successors):
        if module not in index:
            visit(module)
    return found
