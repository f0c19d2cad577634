"""regorus' AST as the compat rewrites read it: references, rule heads, modules, functions."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from konflux_supply.policy import _compat_metadata

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_Path = tuple[str, ...]


def ref_text(path: Sequence[str]) -> str:
    """``data.a["b-c"]``: dotted where a segment is an identifier, brackets otherwise."""
    out = path[0]
    for segment in path[1:]:
        out += f".{segment}" if _IDENTIFIER.match(segment) else f"[{json.dumps(segment)}]"
    return out


def kind_of(node: Any) -> tuple[str, dict[str, Any]] | None:
    if isinstance(node, dict) and len(node) == 1:
        ((kind, body),) = node.items()
        if isinstance(body, dict):
            return kind, body
    return None


def ref_path(node: Any) -> _Path | None:
    """``a.b["c"]`` as ``("a", "b", "c")``; ``None`` for anything dynamic."""
    found = kind_of(node)
    if found is None:
        return None
    kind, body = found
    if kind == "Var":
        return (str(body["value"]),)
    if kind == "RefDot":
        head = ref_path(body["refr"])
        return None if head is None else (*head, str(body["field"][1]))
    if kind == "RefBrack":
        head = ref_path(body["refr"])
        index = kind_of(body.get("index"))
        if head is None or index is None or index[0] != "String":
            return None
        return (*head, str(index[1]["value"]))
    return None


def root_var(node: Any) -> dict[str, Any] | None:
    while True:
        found = kind_of(node)
        if found is None:
            return None
        kind, body = found
        if kind == "Var":
            return body
        if kind not in ("RefDot", "RefBrack"):
            return None
        node = body["refr"]


@dataclass
class ParsedModule:
    """One module as the rewrites see it."""

    path: str
    source: bytes
    ast: dict[str, Any]
    package: _Path
    imports: dict[str, _Path]
    import_spans: list[tuple[int, int]]
    lines: list[str]
    rule_names: set[str] = field(default_factory=set)
    duplicates: set[tuple[int, int]] = field(default_factory=set)


@dataclass(frozen=True)
class Program:
    """What the rewrites know about all modules loaded together."""

    arities: Mapping[_Path, int]
    package_annotations: Mapping[_Path, dict[str, Any]]
    routed_roots: frozenset[str]
    overrides: Mapping[str, int]
    #: rules and functions whose value is always an array, set or object
    collections: frozenset[_Path] = frozenset()


def summarise(path: str, text: str, ast: dict[str, Any]) -> ParsedModule:
    source = text.encode("utf-8")
    package = ref_path(ast["package"]["refr"]) or ()
    imports: dict[str, _Path] = {}
    spans = []
    for entry in ast.get("imports", []):
        target = ref_path(entry["refr"])
        if not target or target[0] != "data":
            continue
        alias = entry.get("as")
        name = source[alias["start"] : alias["end"]].decode() if alias else target[-1]
        imports[name] = target
        spans.append((entry["span"]["start"], entry["span"]["end"]))
    module = ParsedModule(path, source, ast, package, imports, spans, text.splitlines())
    for rule in ast.get("rules", []):
        rule_path = head_path(rule)
        if rule_path:
            module.rule_names.add(rule_path[0])
    return module


def head_of(rule: Any) -> tuple[str, dict[str, Any]] | None:
    found = kind_of(rule)
    if found is None:
        return None
    kind, body = found
    if kind == "Spec":
        return kind_of(body.get("head"))
    return kind, body


def head_path(rule: Any) -> _Path | None:
    head = head_of(rule)
    if head is None:
        return None
    return ref_path(head[1].get("refr"))


def arities(modules: Sequence[ParsedModule]) -> dict[_Path, int]:
    """``{("data", pkg..., name): number of arguments}`` of every user function."""
    found: dict[_Path, int] = {}
    for module in modules:
        for rule in module.ast.get("rules", []):
            head = head_of(rule)
            if head is None or head[0] != "Func":
                continue
            name = ref_path(head[1].get("refr"))
            if name:
                found[("data", *module.package, *name)] = len(head[1].get("args", []))
    return found


_COLLECTION_NODES = frozenset({"Array", "Set", "Object", "ArrayCompr", "SetCompr", "ObjectCompr"})


def is_collection_node(node: Any) -> bool:
    """A literal, a comprehension or a set union/intersection: an array, set or object."""
    found = kind_of(node)
    if found is not None and found[0] == "BinExpr":
        return found[1].get("op") in ("Union", "Intersection")
    return found is not None and found[0] in _COLLECTION_NODES


def collection_valued(modules: Sequence[ParsedModule]) -> frozenset[_Path]:
    """Rules and functions every definition of which yields an array, set or object:
    partial sets and objects, and rules/functions whose every value (``default`` and
    ``else`` ones included) is a literal collection or a comprehension."""
    verdict: dict[_Path, bool] = {}
    for module in modules:
        for rule in module.ast.get("rules", []):
            found = kind_of(rule)
            if found is None:
                continue
            kind, body = found
            if kind == "Default":
                path = ref_path(body.get("refr"))
                values = [body.get("value")]
                partial = False
            else:
                head = kind_of(body.get("head"))
                if head is None:
                    continue
                head_kind, head_body = head
                refr = head_body.get("refr")
                partial = head_kind == "Set"
                inner = kind_of(refr)
                if head_kind == "Compr" and inner is not None and inner[0] == "RefBrack":
                    partial = True  # o[k] := v
                    refr = inner[1]["refr"]
                path = ref_path(refr)
                assign = head_body.get("assign")
                values = [] if partial else [assign.get("value") if assign else None]
                for branch in body.get("bodies") or []:
                    if branch.get("assign"):
                        values.append(branch["assign"].get("value"))
            if not path:
                continue
            full = ("data", *module.package, *path)
            ok = partial or all(is_collection_node(value) for value in values)
            verdict[full] = verdict.get(full, True) and ok
    return frozenset(path for path, ok in verdict.items() if ok)


def mark_duplicate_functions(modules: Sequence[ParsedModule]) -> None:
    """Identical function definitions of one package in several files: keep the first.

    OPA accepts them (same inputs, same output); regorus 0.13 fails every call of such a
    function with "binding plan not found for parameter …".
    """
    seen: set[tuple[_Path, bytes]] = set()
    for module in modules:
        for rule in module.ast.get("rules", []):
            head = head_of(rule)
            if head is None or head[0] != "Func":
                continue
            span = span_of(rule)
            key = (module.package, b" ".join(module.source[span["start"] : span["end"]].split()))
            if key in seen:
                module.duplicates.add((span["start"], span["end"]))
            seen.add(key)


def package_annotations(modules: Sequence[ParsedModule]) -> dict[_Path, dict[str, Any]]:
    found: dict[_Path, dict[str, Any]] = {}
    for module in modules:
        line = module.ast["package"]["span"]["line"]
        raw = _compat_metadata.block_above(module.lines, line)
        if raw is not None:
            found[module.package] = _compat_metadata.normalise(raw, "package")
    return found


def span_of(node: Any) -> dict[str, int]:
    """A node's byte span; regorus' span of a string literal leaves out its quotes."""
    found = kind_of(node)
    if found is None:
        raise ValueError("node without a span")
    span: dict[str, int] = found[1]["span"]
    if found[0] in ("String", "RawString"):
        return {**span, "start": span["start"] - 1, "end": span["end"] + 1}
    return span
