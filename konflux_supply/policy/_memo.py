"""Calls of a function on each element of a rule, computed once per evaluation.

regorus keeps a rule's value for the length of a query but not a function's: Conforma's
library calls ``tekton.tasks(attestation)`` 39 times per component (each call re-reads every
task of the attestation), always for an ``attestation`` taken from
``lib.pipelinerun_attestations``. A call ``f(x)`` where ``x`` was bound by ``some x in R`` (``R``
a reference to a rule, data or the input) becomes a lookup ``m[x]`` in a rule of our own,

    m := {a: f(a) | some a in R}

which regorus evaluates at most once per query. The value is the same: ``m[x]`` is ``f(x)``
when that is defined and undefined when it is not. Only functions that cannot have effects
(no ``with``, no custom builtins such as ``ec.*``, no builtins with effects) are memoised, so
computing ``f`` for an element a caller would have skipped costs time and nothing else.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from konflux_supply.policy._compat_ast import kind_of, ref_path, ref_text

__all__ = ["MEMO_PACKAGE", "MemoPlan", "MemoSite", "MemoTable", "Redirect", "find"]

MEMO_PACKAGE = "__konflux_memo"
#: What a memoised function's own definitions are renamed to.
ORIGINAL_PREFIX = "__konflux_orig_"
_Path = tuple[str, ...]
_SUPPORT_COLLECTION = ("data", "konflux_compat", "collection")


@dataclass(frozen=True)
class MemoTable:
    """One memo rule: ``function`` applied to each element of ``domain`` (Rego text)."""

    function: _Path
    domain: str


@dataclass(frozen=True)
class Redirect:
    """A memoised function: its heads renamed (``names``: module, start, end of each), and a
    new definition under the old name that reads ``tables`` before computing."""

    function: _Path
    names: tuple[tuple[int, int, int], ...]
    tables: tuple[int, ...]

    @property
    def original(self) -> str:
        return ORIGINAL_PREFIX + self.function[-1]

    def definition(self) -> str:
        lookups = " else := __konflux_v if ".join(
            f"{{\n\t__konflux_v := data.{MEMO_PACKAGE}.m{table}[__konflux_a]\n}}"
            for table in self.tables
        )
        name = self.function[-1]
        return (
            f"{name}(__konflux_a) := __konflux_v if {lookups} else := {self.original}(__konflux_a)"
        )


@dataclass(frozen=True)
class MemoSite:
    """A call ``f(var)`` (bytes ``start``-``end`` of module ``module``) read from a table."""

    module: int
    start: int
    end: int
    table: int
    var: str


@dataclass(frozen=True)
class MemoPlan:
    tables: tuple[MemoTable, ...] = ()
    sites: tuple[MemoSite, ...] = ()
    redirects: tuple[Redirect, ...] = ()

    def module(self) -> tuple[str, str] | None:
        """The Rego module with the memo rules (``None`` when there is nothing to memoise)."""
        if not self.tables:
            return None
        lines = [f"package {MEMO_PACKAGE}", "", "import rego.v1", ""]
        redirected = {redirect.function for redirect in self.redirects}
        for index, table in enumerate(self.tables):
            function = table.function
            if function in redirected:  # the renamed original: the new one reads this table
                function = (*function[:-1], ORIGINAL_PREFIX + function[-1])
            call = f"{ref_text(function)}(__konflux_x)"
            lines.append(
                f"m{index} := {{__konflux_x: {call} | some __konflux_x in {table.domain}}}"
            )
        return "<konflux-supply memo>", "\n".join(lines) + "\n"

    def edits(self) -> dict[int, list[tuple[int, int, bytes]]]:
        """Per module: (start, end, replacement) for every call site and renamed head."""
        out: dict[int, list[tuple[int, int, bytes]]] = {}
        for site in self.sites:
            text = f"data.{MEMO_PACKAGE}.m{site.table}[{site.var}]"
            out.setdefault(site.module, []).append((site.start, site.end, text.encode()))
        for redirect in self.redirects:
            for module, start, end in redirect.names:
                out.setdefault(module, []).append((start, end, redirect.original.encode()))
        return out

    def tails(self) -> dict[int, list[str]]:
        """Per module: the definitions to append (each redirect, in its first head's module)."""
        out: dict[int, list[str]] = {}
        for redirect in self.redirects:
            out.setdefault(redirect.names[0][0], []).append(redirect.definition())
        return out


def _static(node: Any) -> tuple[str, _Path] | None:
    """``a.b["c"]`` as ``("a", ("b", "c"))``; ``None`` for anything dynamic."""
    path = ref_path(node)
    return None if path is None else (path[0], path[1:])


def domain_path(domain: str) -> _Path | None:
    """The path a static domain (maybe guarded) iterates; ``None`` for a nested domain."""
    prefix = ref_text(_SUPPORT_COLLECTION) + "("
    if domain.startswith(prefix) and domain.endswith(")"):
        domain = domain[len(prefix) : -1]
    if domain.startswith("["):
        return None
    path: list[str] = []
    for match in re.finditer(r'\.?([A-Za-z_][A-Za-z0-9_]*)|\[("(?:[^"\\]|\\.)*")\]', domain):
        path.append(match.group(1) if match.group(1) else json.loads(match.group(2)))
    return tuple(path) if ref_text(tuple(path)) == domain else None


def _guarded(text: str, wrapped: bool) -> str:
    return f"{ref_text(_SUPPORT_COLLECTION)}({text})" if wrapped else text


def _declared(node: Any, out: dict[str, int], source: bytes) -> None:
    """Count the variables each declaration in ``node`` introduces (nested queries included)."""
    if isinstance(node, list):
        for item in node:
            _declared(item, out, source)
        return
    if not isinstance(node, dict):
        return
    found = kind_of(node)
    if found is not None:
        kind, body = found
        targets: list[Any] = []
        if kind in ("SomeIn", "Every"):
            targets = [body.get("key"), body.get("value")]
        elif kind == "SomeVars":
            targets = list(body.get("vars") or [])
        elif kind == "AssignExpr" and body.get("op") == "ColEq":
            targets = [body.get("lhs")]
        for target in targets:
            for name in _vars(target, source):
                out[name] = out.get(name, 0) + 1
        for key, value in body.items():
            if key != "span":
                _declared(value, out, source)
        return
    for key, value in node.items():
        if key != "span":
            _declared(value, out, source)


def _vars(node: Any, source: bytes) -> list[str]:
    found = kind_of(node)
    if found is None:
        if isinstance(node, dict) and isinstance(node.get("start"), int):
            # `some x` and `every k, v` name their variables by bare spans
            return [source[node["start"] : node["end"]].decode("utf-8", "replace")]
        return []
    kind, body = found
    if kind == "Var":
        return [str(body["value"])]
    names: list[str] = []
    for key, value in body.items():
        if key == "span":
            continue
        for item in value if isinstance(value, list) else [value]:
            names.extend(_vars(item, source))
    return names


Resolve = Callable[[str, _Path], "_Path | None"]


class _Finder:
    def __init__(
        self,
        module: int,
        resolve: Resolve,
        memoisable: Callable[[_Path], bool],
        domains: Callable[[_Path], bool],
        tables: dict[tuple[_Path, str], int],
        sites: list[MemoSite],
        source: bytes,
        locals_: frozenset[str] = frozenset(),
    ) -> None:
        self.locals = locals_
        self.module = module
        self.resolve = resolve
        self.memoisable = memoisable
        self.domains = domains
        self.tables = tables
        self.sites = sites
        self.source = source

    def domain(self, collection: Any, scope: Mapping[str, str]) -> str | None:
        """The Rego text of the values ``some x in collection`` binds ``x`` to, when that is a
        static reference, or a memoisable call on a variable that itself has a domain (the
        tasks of each attestation); maybe behind the compat layer's iteration guard."""
        found = kind_of(collection)
        wrapped = False
        if (
            found is not None
            and found[0] == "Call"
            and self._resolved(found[1]) == _SUPPORT_COLLECTION
        ):
            params = found[1].get("params") or []
            if len(params) != 1:
                return None
            collection, wrapped = params[0], True
            found = kind_of(collection)
        if found is not None and found[0] == "Call":
            return self._nested(found[1], scope, wrapped)
        static = _static(collection)
        if static is None or static[0] in self.locals:
            return None  # a local (``items := input.l``, an argument) named like a rule
        path = self.resolve(*static)
        if path is None or not self.domains(path):
            return None
        return _guarded(ref_text(path), wrapped)

    def _resolved(self, call: Mapping[str, Any]) -> _Path | None:
        fcn = _static(call["fcn"])
        return None if fcn is None else self.resolve(*fcn)

    def _nested(
        self, call: Mapping[str, Any], scope: Mapping[str, str], wrapped: bool
    ) -> str | None:
        """``g(y)`` with ``y`` bound to a domain ``D``: every element of ``g(a)``, ``a`` in
        ``D``, read from ``g``'s memo over ``D``."""
        params = call.get("params") or []
        arg = kind_of(params[0]) if len(params) == 1 else None
        if arg is None or arg[0] != "Var" or str(arg[1]["value"]) not in scope:
            return None
        function = self._resolved(call)
        if function is None or not self.memoisable(function):
            return None
        outer = scope[str(arg[1]["value"])]
        table = self.tables.setdefault((function, outer), len(self.tables))
        depth = outer.count("some __konflux_d")
        element, item = f"__konflux_d{depth}", f"__konflux_e{depth}"
        values = _guarded(f"data.{MEMO_PACKAGE}.m{table}[{element}]", wrapped)
        return f"[{item} | some {element} in {outer}; some {item} in {values}]"

    def query(self, query: Mapping[str, Any], bound: Mapping[str, str]) -> None:
        """Find call sites in ``query``; ``bound``: variables of enclosing queries → domain."""
        declared: dict[str, int] = {}
        _declared(query.get("stmts"), declared, self.source)
        scope = {name: domain for name, domain in bound.items() if not declared.get(name)}
        for statement in query.get("stmts") or []:
            found = kind_of(statement.get("literal"))
            if found is None or found[0] != "SomeIn":
                continue
            value = kind_of(found[1].get("value"))
            if value is None or value[0] != "Var":
                continue
            name = str(value[1]["value"])
            if declared.get(name) != 1:
                continue  # declared again somewhere inside: not one binding
            domain = self.domain(found[1].get("collection"), scope)
            if domain is not None:
                scope[name] = domain
        self.visit(query.get("stmts"), scope)

    def visit(self, node: Any, scope: Mapping[str, str]) -> None:
        if isinstance(node, list):
            for item in node:
                self.visit(item, scope)
            return
        if not isinstance(node, dict):
            return
        if "stmts" in node:
            self.query(node, scope)
            return
        found = kind_of(node)
        if found is None:
            for key, value in node.items():
                if key != "span":
                    self.visit(value, scope)
            return
        kind, body = found
        if kind == "Call":
            self.call(body, scope)
        for key, value in body.items():
            if key != "span":
                self.visit(value, scope)

    def call(self, body: Mapping[str, Any], scope: Mapping[str, str]) -> None:
        params = body.get("params") or []
        if len(params) != 1:
            return
        arg = kind_of(params[0])
        if arg is None or arg[0] != "Var" or str(arg[1]["value"]) not in scope:
            return
        fcn = _static(body["fcn"])
        if fcn is None:
            return
        function = self.resolve(*fcn)
        if function is None or not self.memoisable(function):
            return
        var = str(arg[1]["value"])
        key = (function, scope[var])
        table = self.tables.setdefault(key, len(self.tables))
        span = body["span"]
        self.sites.append(MemoSite(self.module, int(span["start"]), int(span["end"]), table, var))


def find(
    rules: Sequence[tuple[int, Mapping[str, Any], Resolve, bytes]],
    *,
    memoisable: Callable[[_Path], bool],
    domains: Callable[[_Path], bool],
    names: Callable[[_Path], tuple[tuple[int, int, int], ...]],
) -> MemoPlan:
    """The memo plan for these rules: (module index, rule AST, name resolver, source) each.

    ``memoisable(path)``: a function of one argument without effects; ``domains(path)``: a
    path a memo may iterate (a rule that is not a function, data, or the input)."""
    tables: dict[tuple[_Path, str], int] = {}
    sites: list[MemoSite] = []
    for module, rule, resolve, source in rules:
        # every name the rule declares (arguments included), in any of its queries: such a
        # local may be named like a rule of another module of the package (not renamed then)
        declared: dict[str, int] = {}
        _declared(rule, declared, source)
        head = kind_of(rule.get("head"))
        for arg in (head[1].get("args") or []) if head is not None else []:
            declared.update(dict.fromkeys(_vars(arg, source), 1))
        finder = _Finder(
            module, resolve, memoisable, domains, tables, sites, source, frozenset(declared)
        )
        for body in rule.get("bodies") or []:
            query = body.get("query")
            if isinstance(query, dict):
                finder.query(query, {})
        head = kind_of(rule.get("head"))
        if head is not None:
            finder.visit(head[1], {})  # comprehensions in the head value
    ordered = sorted(tables.items(), key=lambda item: item[1])
    by_function: dict[_Path, list[int]] = {}
    for (function, _domain), index in ordered:
        by_function.setdefault(function, []).append(index)
    return MemoPlan(
        tuple(MemoTable(function, domain) for (function, domain), _index in ordered),
        tuple(sites),
        tuple(
            Redirect(function, names(function), tuple(indexes))
            for function, indexes in by_function.items()
        ),
    )


def safe_redirects(memo: MemoPlan, deps: Mapping[_Path, set[_Path]]) -> MemoPlan:
    """Keep the redirects that cannot make a cycle.

    A redirected ``g`` reads its tables, and a table is computed by ``g``'s original definition
    over its domain; if computing a domain could call ``g`` again (directly, or through another
    redirected function and *its* domains), regorus would find a cycle. Only static domains
    (a rule, data or input path) are eligible; candidates are dropped until none can reach
    itself."""
    domains: dict[_Path, list[_Path]] = {}
    for redirect in memo.redirects:
        paths = [domain_path(memo.tables[index].domain) for index in redirect.tables]
        if all(path is not None for path in paths):
            domains[redirect.function] = [path for path in paths if path is not None]
    changed = True
    while changed:
        changed = False
        for function in list(domains):
            if function in _reachable(deps, domains[function], domains):
                del domains[function]
                changed = True
    kept = tuple(redirect for redirect in memo.redirects if redirect.function in domains)
    return dataclasses.replace(memo, redirects=kept)


def _reachable(
    deps: Mapping[_Path, set[_Path]],
    starts: Sequence[_Path],
    redirects: Mapping[_Path, list[_Path]],
) -> set[_Path]:
    """Every rule and function evaluating ``starts`` may evaluate, a redirected function's
    table domains included."""
    seen: set[_Path] = set()
    queue = [
        path
        for path in deps
        for start in starts
        if path[: len(start)] == start or start[: len(path)] == path
    ]
    while queue:
        path = queue.pop()
        if path in seen:
            continue
        seen.add(path)
        queue.extend(deps[path] - seen)
        for start in redirects.get(path, []):
            queue.extend(
                other
                for other in deps
                if other not in seen
                and (other[: len(start)] == start or start[: len(other)] == other)
            )
    return seen
