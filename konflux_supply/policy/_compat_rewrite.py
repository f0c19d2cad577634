"""Source-level rewrites that let regorus run Rego written for OPA (see ``compat.prepare``).

Every rewrite edits byte ranges that regorus' own AST points at and keeps line numbers, so an
engine error still names the line the author wrote. What is rewritten, inside rule bodies and
heads (never in a rule's name):

- ``rego.metadata.chain()`` / ``rego.metadata.rule()`` → the JSON value OPA would return,
  built from the ``# METADATA`` blocks (:mod:`._compat_metadata`);
- ``alias.x`` where ``alias`` comes from ``import data.a.b [as alias]`` → ``data.a.b.x``
  (regorus 0.13 silently evaluates some aliased references to the wrong value), unless a local
  variable of that name is in scope; the import lines themselves are blanked;
- ``ec.x.y`` (and any other routed builtin root) → ``data.ec.x.y``, so the call goes through
  a Rego function that ``with`` can replace;
- calls of builtins with an OPA-exact Python override → ``data.<support package>.<name>``;
- output-argument calls ``f(a, out)`` of a function of arity 1 → ``out = f(a)``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from konflux_supply.policy import _compat_metadata

SUPPORT_PACKAGE = "konflux_compat"
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_Edit = tuple[int, int, bytes]
_Path = tuple[str, ...]
_Scope = Mapping[str, "str | None"]


def ref_text(path: Sequence[str]) -> str:
    """``data.a["b-c"]``: dotted where a segment is an identifier, brackets otherwise."""
    out = path[0]
    for segment in path[1:]:
        out += f".{segment}" if _IDENTIFIER.match(segment) else f"[{json.dumps(segment)}]"
    return out


def _kind(node: Any) -> tuple[str, dict[str, Any]] | None:
    if isinstance(node, dict) and len(node) == 1:
        ((kind, body),) = node.items()
        if isinstance(body, dict):
            return kind, body
    return None


def ref_path(node: Any) -> _Path | None:
    """``a.b["c"]`` as ``("a", "b", "c")``; ``None`` for anything dynamic."""
    found = _kind(node)
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
        index = _kind(body.get("index"))
        if head is None or index is None or index[0] != "String":
            return None
        return (*head, str(index[1]["value"]))
    return None


def _root_var(node: Any) -> dict[str, Any] | None:
    while True:
        found = _kind(node)
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
        head_path = _head_path(rule)
        if head_path:
            module.rule_names.add(head_path[0])
    return module


def _head(rule: Any) -> tuple[str, dict[str, Any]] | None:
    found = _kind(rule)
    if found is None:
        return None
    kind, body = found
    if kind == "Spec":
        return _kind(body.get("head"))
    return kind, body


def _head_path(rule: Any) -> _Path | None:
    head = _head(rule)
    if head is None:
        return None
    return ref_path(head[1].get("refr"))


def arities(modules: Sequence[ParsedModule]) -> dict[_Path, int]:
    """``{("data", pkg..., name): number of arguments}`` of every user function."""
    found: dict[_Path, int] = {}
    for module in modules:
        for rule in module.ast.get("rules", []):
            head = _head(rule)
            if head is None or head[0] != "Func":
                continue
            name = ref_path(head[1].get("refr"))
            if name:
                found[("data", *module.package, *name)] = len(head[1].get("args", []))
    return found


def mark_duplicate_functions(modules: Sequence[ParsedModule]) -> None:
    """Identical function definitions of one package in several files: keep the first.

    OPA accepts them (same inputs, same output); regorus 0.13 fails every call of such a
    function with "binding plan not found for parameter …".
    """
    seen: set[tuple[_Path, bytes]] = set()
    for module in modules:
        for rule in module.ast.get("rules", []):
            head = _head(rule)
            if head is None or head[0] != "Func":
                continue
            span = _span_of(rule)
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


class _Rewriter:
    def __init__(self, module: ParsedModule, program: Program) -> None:
        self.module = module
        self.program = program
        self.edits: list[_Edit] = []
        self.moves: list[tuple[Mapping[str, int], int]] = []
        self.front: list[_Edit] = []  # insertions that go before the hoisted assignments

    def text(self, span: Mapping[str, int]) -> str:
        return self.module.source[span["start"] : span["end"]].decode("utf-8")

    def run(self) -> bytes:
        for rule in self.module.ast.get("rules", []):
            span = _span_of(rule)
            if (span["start"], span["end"]) in self.module.duplicates:
                blank = bytes(
                    c if c == 10 else 32 for c in self.module.source[span["start"] : span["end"]]
                )
                self.edits.append((span["start"], span["end"], blank))
                continue
            self.rule(rule)
        for start, end in self.module.import_spans:
            self.edits.append((start, end, b" " * (end - start)))
        edits = [(start, end, 1, text) for start, end, text in self.edits]
        for number, (moved, at) in enumerate(self.moves):
            start, end = moved["start"], moved["end"]
            inside = [
                e
                for e in edits
                if (start <= e[0] and e[1] <= end and e[1] > e[0]) or start < e[0] < end
            ]
            value = _apply(
                self.module.source[start:end],
                [(a - start, b - start, p, t) for a, b, p, t in inside],
            )
            edits = [e for e in edits if e not in inside]
            name = f"__with_{number}".encode()
            edits.append((start, end, 1, name))
            edits.append((at, at, 0, name + b" := " + value + b"; "))
        edits += [(start, end, -1, text) for start, end, text in self.front]
        return _apply(self.module.source, edits)

    def rule(self, rule: Any) -> None:
        found = _kind(rule)
        if found is None:
            return
        kind, body = found
        head = _head(rule)
        shadow: _Scope = {}
        if head is not None and head[0] == "Func":
            shadow = dict.fromkeys(_bound_vars(head[1].get("args", []), self))
        line = int(body["span"]["line"])
        self.current_rule = (*self.module.package, *(_head_path(rule) or ("?",)))
        raw = _compat_metadata.block_above(self.module.lines, line)
        self.current_annotations = None if raw is None else _compat_metadata.normalise(raw, "rule")
        for entry in body.get("bodies") or [] if kind == "Spec" else []:
            query = entry.get("query") or {}
            for stmt in query.get("stmts") or []:
                for name in _declared(stmt.get("literal"), self):
                    renamed = self.rename(name)
                    if renamed and name not in shadow:
                        shadow = {**shadow, name: renamed}
        if head is not None:
            for key, value in head[1].items():
                if key not in ("refr", "span", "args"):
                    self.visit(value, shadow)
        if kind == "Spec":
            self.visit(body.get("bodies"), shadow)
        else:
            for key, value in body.items():
                if key not in ("refr", "span", "head"):
                    self.visit(value, shadow)

    def visit(self, node: Any, shadow: _Scope) -> None:
        if isinstance(node, list):
            for item in node:
                self.visit(item, shadow)
            return
        if not isinstance(node, dict):
            return
        if "stmts" in node:
            self.query(node, shadow)
            return
        found = _kind(node)
        if found is None:
            for value in node.values():
                self.visit(value, shadow)
            return
        kind, body = found
        if kind == "Call":
            self.call(body, shadow, statement=False)
        elif kind in ("RefDot", "RefBrack", "Var"):
            self.ref(node, shadow)
        elif kind in ("ArrayCompr", "SetCompr", "ObjectCompr"):
            self.comprehension(body, shadow)
        elif kind == "SomeIn":
            self.visit(body.get("key"), shadow)
            self.visit(body.get("value"), shadow)
            collection = body.get("collection")
            call = _kind(collection)
            if call is not None and call[0] == "Call" and ref_path(call[1]["fcn"]) == ("walk",):
                # OPA iterates each [path, value] pair walk(x) yields; regorus yields nothing
                fspan = _span_of(call[1]["fcn"])
                target = ref_text(("data", SUPPORT_PACKAGE, WALK_ELEMENTS)).encode()
                self.edits.append((fspan["start"], fspan["end"], target))
                self.visit(call[1].get("params"), shadow)
                return
            if not GUARD_ITERATION:
                self.visit(collection, shadow)
                return
            span = _span_of(collection)
            start = _true_start(self.module.source, span["start"], _span_of(body["value"])["end"])
            prefix = ref_text(("data", SUPPORT_PACKAGE, COLLECTION)) + "("
            self.edits.append((start, start, prefix.encode()))
            self.edits.append((span["end"], span["end"], b")"))
            self.visit(collection, shadow)
        elif kind == "Every":
            inner = dict(shadow)
            for key in ("key", "value"):
                if body.get(key):
                    inner.update(self.declare(self.text(body[key]), body[key]))
            self.visit(body.get("domain"), shadow)
            self.visit(body.get("query"), inner)
        else:
            for key, value in body.items():
                if key != "span":
                    self.visit(value, shadow)

    def comprehension(self, body: dict[str, Any], shadow: _Scope) -> None:
        """``[t | q]``, ``{k: v | q}``: the term sees the locals the query declares."""
        query = body.get("query") or {"stmts": []}
        inner = self.scope(query, shadow)
        for key, value in body.items():
            if key not in ("span", "query"):
                self.visit(value, inner)
        self.query(query, shadow, inner)

    def scope(self, query: dict[str, Any], shadow: _Scope) -> dict[str, str | None]:
        inner = dict(shadow)
        for stmt in query["stmts"]:
            literal = _kind(stmt.get("literal"))
            for name in _declared(stmt.get("literal"), self):
                if name not in inner or inner[name] is None:
                    inner[name] = self.rename(name)
            if literal is not None and literal[0] == "SomeVars":
                for span in literal[1].get("vars") or []:
                    if isinstance(span, dict) and "start" in span:
                        renamed = self.rename(self.text(span))
                        if renamed:
                            self.edits.append((span["start"], span["end"], renamed.encode()))
        return inner

    def query(self, query: dict[str, Any], shadow: _Scope, inner: _Scope | None = None) -> None:
        if inner is None:
            inner = self.scope(query, shadow)
        for stmt in query["stmts"]:
            literal = _kind(stmt.get("literal"))
            done = False
            if literal is not None and literal[0] == "Expr":
                expr = _kind(literal[1].get("expr"))
                if expr is not None and expr[0] == "Call":
                    self.call(expr[1], inner, statement=True)
                    self.visit(stmt.get("with_mods"), inner)
                    done = True
            if not done:
                self.visit(stmt, inner)
            moves = len(self.moves)
            for modifier in stmt.get("with_mods") or []:
                self.hoist(modifier, stmt["span"]["start"], inner)
            if len(self.moves) > moves and not _braced(self.module.source, stmt["span"]["start"]):
                # ``r if s with t as v``: hoisting needs a body in braces
                start = stmt["span"]["start"]
                end = max(_span_of(m["as"])["end"] for m in stmt["with_mods"])
                self.front.append((start, start, b"{ "))
                self.edits.append((end, end, b" }"))

    def hoist(self, modifier: dict[str, Any], at: int, shadow: _Scope) -> None:
        """``s with t as v`` → ``__with_N := v; s with t as __with_N`` for a value (not a function).

        regorus evaluates a rule that the ``with`` value itself depends on as undefined inside
        the ``with`` scope; OPA evaluates the value first, outside the scope, as the hoist does.
        """
        value = _kind(modifier.get("as"))
        target = ref_path(modifier.get("refr"))
        if value is None or target is None or value[0] in _SCALARS:
            return
        if value[0] == "Var" and str(value[1]["value"]) in shadow:
            return
        resolved = self.resolve(target, shadow) if target[0] not in ("input", "data") else target
        if resolved is None or resolved[0] not in ("input", "data"):
            return  # a builtin: the value may be a function
        if resolved in self.program.arities or resolved[1:2] in {
            (r,) for r in self.program.routed_roots
        }:
            return  # a function mocked by a function
        if value[0] == "Var" and str(value[1]["value"]) in self.module.imports:
            return
        # regorus' span of an object value can start inside it: take the text after ``as``
        target_end = _span_of(modifier["refr"])["end"]
        found = _AS.match(self.module.source, target_end)
        if found is None:
            return
        self.moves.append(({"start": found.end(), "end": _span_of(modifier["as"])["end"]}, at))

    def rename(self, name: str) -> str | None:
        """A local that shadows a rule or an import gets a private name (regorus mixes them)."""
        if name in self.module.rule_names or name in self.module.imports:
            return f"__local_{name}"
        return None

    def declare(self, name: str, span: Mapping[str, int]) -> dict[str, str | None]:
        renamed = self.rename(name)
        if renamed:
            self.edits.append((span["start"], span["end"], renamed.encode()))
        return {name: renamed}

    def resolve(self, path: _Path, shadow: _Scope) -> _Path | None:
        root = path[0]
        if root in shadow:
            return None
        if root == "data":
            return path
        if root in self.module.imports:
            return (*self.module.imports[root], *path[1:])
        if root in self.module.rule_names:
            return ("data", *self.module.package, *path)
        if root in self.program.routed_roots:
            return ("data", *path)
        return None

    def ref(self, node: Any, shadow: _Scope) -> None:
        var = _root_var(node)
        if var is not None:
            name = str(var["value"])
            if shadow.get(name):
                span = var["span"]
                self.edits.append((span["start"], span["end"], str(shadow[name]).encode()))
            elif name not in shadow and name not in self.module.rule_names:
                target = None
                if name in self.module.imports:
                    target = self.module.imports[name]
                elif name in self.program.routed_roots and self.module.package[:1] != (name,):
                    target = ("data", name)
                if target is not None:
                    span = var["span"]
                    self.edits.append((span["start"], span["end"], ref_text(target).encode()))
        # dynamic parts of the reference (brackets) may hold references too
        while True:
            found = _kind(node)
            if found is None:
                return
            if found[0] not in ("RefDot", "RefBrack"):
                if found[0] != "Var":
                    self.visit(node, shadow)  # a call or literal at the base: f(x).y
                return
            if found[0] == "RefBrack":
                self.visit(found[1].get("index"), shadow)
            node = found[1]["refr"]

    def call(self, body: dict[str, Any], shadow: _Scope, *, statement: bool) -> None:
        fcn = body["fcn"]
        params = body.get("params") or []
        path = ref_path(fcn)
        span = body["span"]
        if path in (("rego", "metadata", "chain"), ("rego", "metadata", "rule")) and not params:
            self.edits.append((span["start"], span["end"], self.metadata(path[-1]).encode()))
            return
        name = ".".join(path) if path else ""
        local = path is not None and (path[0] in shadow or path[0] in self.module.imports)
        local = local or (path is not None and path[0] in self.module.rule_names)
        if path is not None and not local and (name in self.program.overrides or name in GUARDS):
            support: _Path = ("data", SUPPORT_PACKAGE, mangle(name))
            fspan = _span_of(fcn)
            self.edits.append((fspan["start"], fspan["end"], ref_text(support).encode()))
            resolved: _Path | None = support
        else:
            self.visit(fcn, shadow)
            resolved = self.resolve(path, shadow) if path else None
        arity = self.program.arities.get(resolved) if resolved else None
        if statement and arity is not None and len(params) == arity + 1:
            out = params[-1]
            out_span = _span_of(out)
            cut = _span_of(params[-2])["end"] if arity else _span_of(fcn)["end"] + 1
            out_text = self.text(out_span)
            out_var = _kind(out)
            if out_var is not None and out_var[0] == "Var" and shadow.get(out_text):
                out_text = str(shadow[out_text])
            self.edits.append((span["start"], span["start"], f"{out_text} = ".encode()))
            self.edits.append((cut, out_span["end"], b""))
            params = params[:-1]
        self.visit(params, shadow)

    def metadata(self, which: str) -> str:
        if which == "rule":
            return json.dumps(self.current_annotations or {})
        package = self.module.package
        value = _compat_metadata.chain(
            self.current_rule,
            self.current_annotations,
            package,
            self.program.package_annotations.get(package),
        )
        return json.dumps(value)


_AS = re.compile(rb"\s+as\s+")
_SCALARS = ("String", "RawString", "Number", "Bool", "Null")


def _apply(source: bytes, edits: Sequence[tuple[int, int, int, bytes]]) -> bytes:
    """Apply non-overlapping edits; at one point, lower priority lands first in the text."""
    out = source
    for start, end, _priority, replacement in sorted(edits, key=lambda e: e[:3], reverse=True):
        out = out[:start] + replacement + out[end:]
    return out


def _braced(source: bytes, start: int) -> bool:
    """Whether the statement at ``start`` sits in a braced body (not ``head if stmt``)."""
    before = source[:start].rstrip()
    return not (before.endswith((b" if", b"\tif", b"\nif")))


def _true_start(source: bytes, start: int, after: int) -> int:
    """regorus' span of an object/set literal may begin inside it: find the ``in`` before it."""
    found = _IN.search(source, after, start + 1)
    return found.end() if found else start


_IN = re.compile(rb"\s+in\s+")


def _span_of(node: Any) -> dict[str, int]:
    """A node's byte span; regorus' span of a string literal leaves out its quotes."""
    found = _kind(node)
    if found is None:
        raise ValueError("node without a span")
    span: dict[str, int] = found[1]["span"]
    if found[0] in ("String", "RawString"):
        return {**span, "start": span["start"] - 1, "end": span["end"] + 1}
    return span


def _vars(node: Any) -> Iterator[str]:
    found = _kind(node)
    if found is None:
        return
    kind, body = found
    if kind == "Var":
        yield str(body["value"])
    elif kind in ("Array", "Object", "Set"):
        for key in ("items", "fields"):
            for item in body.get(key) or []:
                if isinstance(item, list):
                    for part in item:
                        yield from _vars(part)
                else:
                    yield from _vars(item)


def _bound_vars(args: Sequence[Any], rewriter: _Rewriter) -> Iterator[str]:
    for arg in args:
        yield from _vars(arg)


def _declared(literal: Any, rewriter: _Rewriter) -> Iterator[str]:
    found = _kind(literal)
    if found is None:
        return
    kind, body = found
    if kind == "SomeIn":
        yield from _vars(body.get("key"))
        yield from _vars(body.get("value"))
    elif kind == "SomeVars":
        for span in body.get("vars") or []:
            if isinstance(span, dict) and "start" in span:
                yield rewriter.text(span)
    elif kind == "Expr":
        expr = _kind(body.get("expr"))
        if expr is not None and expr[0] == "AssignExpr" and expr[1].get("op") == "ColEq":
            yield from _vars(expr[1].get("lhs"))


def rewrite(module: ParsedModule, program: Program) -> str:
    """The module's text with every rewrite applied (same number of lines)."""
    return _Rewriter(module, program).run().decode("utf-8")


def mangle(name: str) -> str:
    """``json.match_schema`` → ``b__json__match_schema`` (a rule name in the support package)."""
    return "b__" + name.replace(".", "__")


#: Standard builtins that regorus aborts on for operands of the wrong type, where OPA (not
#: strict) answers undefined: ``name → (nargs, Rego condition on a0, a1, ...)``.
GUARDS: dict[str, tuple[int, str]] = {
    "array.concat": (2, "is_array(a0)\n\tis_array(a1)"),
    "concat": (2, "is_string(a0)\n\t_strings(a1)"),
    "object.get": (3, "is_object(a0)"),
    "object.keys": (1, "is_object(a0)"),
    "object.remove": (2, "is_object(a0)"),
    "object.union": (2, "is_object(a0)\n\tis_object(a1)"),
    "regex.match": (2, "is_string(a0)\n\tis_string(a1)"),
    "regex.split": (2, "is_string(a0)\n\tis_string(a1)"),
    "trim_space": (1, "is_string(a0)"),
}

#: Whether ``some x in E`` goes through :data:`COLLECTION` (OPA: no iteration over a scalar).
GUARD_ITERATION = True
#: The support function ``some x in E`` is rewritten to go through.
COLLECTION = "collection"
#: ``some x in walk(y)``: the elements of every pair ``walk`` yields.
WALK_ELEMENTS = "walk_elements"

_JSON_ARGS = {"json.remove"}
_JSON_TEXT_ARGS = {"json.match_schema", "json.verify_schema"}


def support_module(overrides: Mapping[str, int], private_prefix: str) -> str:
    """The support package: Python-backed builtins (``[value]`` / ``[]``) and type guards."""
    lines = [f"package {SUPPORT_PACKAGE}", "", "import rego.v1", ""]
    for name, nargs in sorted(overrides.items()):
        args = [f"a{i}" for i in range(nargs)]
        if name == "sprintf":
            passed = ["a0", "[_arg(x) | some x in a1]"]
            call = f"{private_prefix}b__sprintf({', '.join(passed)})[0]"
            lines.append(f"b__sprintf(a0, a1) := {call} if is_array(a1)")
            continue
        passed = [f"_plain({a})" for a in args] if name in _JSON_ARGS else args
        if name in _JSON_TEXT_ARGS:
            passed = [f"_text({a})" for a in args]
        lines.append(
            f"{mangle(name)}({', '.join(args)}) := "
            f"{private_prefix}{mangle(name)}({', '.join(passed)})[0]"
        )
    for name, (nargs, condition) in sorted(GUARDS.items()):
        listed = ", ".join(f"a{i}" for i in range(nargs))
        lines.append(f"{mangle(name)}({listed}) := {name}({listed}) if {{\n\t{condition}\n}}")
    lines += [
        '_arg(x) := {"__konflux_set__": [y | some y in x]} if is_set(x)',
        "else := x",
        "",
        "_text(x) := x if is_string(x)",
        "else := json.marshal(x)",
        "",
        "_plain(x) := [y | some y in x] if is_set(x)",
        "else := x",
        "",
        "_strings(x) if {",
        "\tnot is_string(x)",
        "\tnot is_number(x)",
        "\tnot is_boolean(x)",
        "\tnot is_null(x)",
        "\tnot is_object(x)",
        "\tevery y in x { is_string(y) }",
        "}",
        "",
        f"{WALK_ELEMENTS}(x) := [e | walk(x, pair); some e in pair]",
        "",
        f"{COLLECTION}(x) := x if is_array(x)",
        "else := x if is_object(x)",
        "else := x if is_set(x)",
    ]
    return "\n".join(lines) + "\n"
