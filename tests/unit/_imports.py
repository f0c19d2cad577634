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


def _nodes(tree: ast.AST) -> Iterator[ast.AST]:
    """Every node, except the bodies of ``if TYPE_CHECKING:`` blocks."""
    for child in ast.iter_child_nodes(tree):
        if isinstance(child, ast.If) and _is_type_checking(child):
            yield from (n for part in child.orelse for n in _nodes_and_self(part))
            continue
        yield child
        yield from _nodes(child)


def _nodes_and_self(node: ast.AST) -> Iterator[ast.AST]:
    yield node
    yield from _nodes(node)


def _resolve(module: str, is_package: bool, level: int, name: str | None) -> str:
    """The absolute module a relative ``from`` names."""
    base = module.split(".") if is_package else module.split(".")[:-1]
    if level > 1:
        base = base[: len(base) - (level - 1)]
    return ".".join([*base, name] if name else base)


def imports(root: Path, path: Path, modules: Iterable[str]) -> list[Edge]:
    """The modules of the package that ``path`` imports (as written, resolved)."""
    known = set(modules)
    source = module_name(root, path)
    is_package = path.name == "__init__.py"
    tree = ast.parse(path.read_text(), str(path))
    top = root.name
    edges: list[Edge] = []
    for node in _nodes(tree):
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


def graph(root: Path) -> tuple[list[str], list[Edge]]:
    """Every module under ``root`` and every import edge between them."""
    files = sorted(root.rglob("*.py"))
    modules = [module_name(root, f) for f in files]
    edges = [edge for f in files for edge in imports(root, f, modules)]
    return modules, edges


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
