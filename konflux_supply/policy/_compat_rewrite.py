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
from typing import Any

from konflux_supply.policy import _compat_metadata
from konflux_supply.policy._compat_ast import (
    ParsedModule,
    Program,
    head_of,
    head_path,
    is_collection_node,
    kind_of,
    ref_path,
    ref_text,
    root_var,
    span_of,
)
from konflux_supply.policy._compat_support import (
    COLLECTION,
    GUARDS,
    SPRINTF_STRINGS_MAX,
    SUPPORT_PACKAGE,
    WALK_ELEMENTS,
    mangle,
    sprintf_strings,
)

_Edit = tuple[int, int, bytes]
_Path = tuple[str, ...]
_Scope = Mapping[str, "str | None"]


class _Rewriter:
    def __init__(self, module: ParsedModule, program: Program) -> None:
        self.module = module
        self.program = program
        self.edits: list[_Edit] = []
        self.moves: list[tuple[Mapping[str, int], int]] = []
        self.front: list[_Edit] = []  # insertions that go before the hoisted assignments
        #: move number → (start, end) of the ``with`` modifiers its assignment is evaluated under
        self.withs: dict[int, tuple[int, int]] = {}

    def text(self, span: Mapping[str, int]) -> str:
        return self.module.source[span["start"] : span["end"]].decode("utf-8")

    def run(self) -> bytes:
        for rule in self.module.ast.get("rules", []):
            span = span_of(rule)
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
            if number in self.withs:  # the statement's modifiers (and their rewrites) too
                first, last = self.withs[number]
                within = [e for e in edits if first <= e[0] and e[1] <= last and e[1] > e[0]]
                value += b" " + _apply(
                    self.module.source[first:last],
                    [(a - first, b - first, p, t) for a, b, p, t in within],
                )
            edits.append((at, at, 0, name + b" := " + value + b"; "))
        edits += [(start, end, -1, text) for start, end, text in self.front]
        return _apply(self.module.source, edits)

    def rule(self, rule: Any) -> None:
        found = kind_of(rule)
        if found is None:
            return
        kind, body = found
        head = head_of(rule)
        shadow: _Scope = {}
        if head is not None and head[0] == "Func":
            shadow = dict.fromkeys(_bound_vars(head[1].get("args", []), self))
        line = int(body["span"]["line"])
        self.current_rule = (*self.module.package, *(head_path(rule) or ("?",)))
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
        found = kind_of(node)
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
            call = kind_of(collection)
            if call is not None and call[0] == "Call" and ref_path(call[1]["fcn"]) == ("walk",):
                # OPA iterates each [path, value] pair walk(x) yields; regorus yields nothing
                fspan = span_of(call[1]["fcn"])
                target = ref_text(("data", SUPPORT_PACKAGE, WALK_ELEMENTS)).encode()
                self.edits.append((fspan["start"], fspan["end"], target))
                self.visit(call[1].get("params"), shadow)
                return
            if self.is_collection(collection, shadow):
                self.visit(collection, shadow)  # always iterable: no guard needed
                return
            span = span_of(collection)
            start = _true_start(self.module.source, span["start"], span_of(body["value"])["end"])
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
            literal = kind_of(stmt.get("literal"))
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
            literal = kind_of(stmt.get("literal"))
            done = False
            if literal is not None and literal[0] == "Expr":
                expr = kind_of(literal[1].get("expr"))
                if expr is not None and expr[0] == "Call":
                    self.call(expr[1], inner, statement=True)
                    self.visit(stmt.get("with_mods"), inner)
                    done = True
            if not done:
                self.visit(stmt, inner)
            moves = len(self.moves)
            negated = literal is not None and literal[0] == "NotExpr"
            for modifier in [] if negated else stmt.get("with_mods") or []:
                # not under ``not``: an undefined value makes ``not s with t as v`` true
                self.hoist(modifier, stmt["span"]["start"], inner)
            if len(self.moves) > moves and not _braced(self.module.source, stmt["span"]["start"]):
                # ``r if s with t as v``: hoisting needs a body in braces
                start = stmt["span"]["start"]
                end = max(span_of(m["as"])["end"] for m in stmt["with_mods"])
                self.front.append((start, start, b"{ "))
                self.edits.append((end, end, b" }"))
            if negated and literal is not None:
                moves = len(self.moves)
                self.negation(literal[1].get("expr"), stmt["span"]["start"], inner)
                modifiers = stmt.get("with_mods") or []
                for number in range(moves, len(self.moves)) if modifiers else ():
                    # OPA evaluates the arguments under the statement's ``with`` too
                    self.withs[number] = (modifiers[0]["span"]["start"], stmt["span"]["end"])
                if len(self.moves) > moves and not _braced(
                    self.module.source, stmt["span"]["start"]
                ):
                    start, end = stmt["span"]["start"], stmt["span"]["end"]
                    self.front.append((start, start, b"{ "))
                    self.edits.append((end, end, b" }"))

    def negation(self, node: Any, at: int, shadow: _Scope) -> None:
        """``not f(input.x)`` → ``__with_N := input.x; not f(__with_N)``, as OPA compiles it.

        OPA evaluates the arguments of a call (and of every operator but ``==``/``=``, whose
        plain references stay) before the call, outside the negation: an undefined argument
        makes the whole statement undefined, where regorus makes ``not`` true. A nested call or
        a collection holding a reference is evaluated first under ``==`` too, and so are a
        negated collection holding a reference and references inside brackets. Under ``with``
        the hoisted assignments carry the statement's modifiers (``run``)."""
        found = kind_of(node)
        if found is None:
            return
        kind, body = found
        operands: list[Any] = []
        equality = (kind == "BoolExpr" and body.get("op") == "Eq") or (
            kind == "AssignExpr" and body.get("op") == "Eq"
        )
        if kind == "Call":
            operands = list(body.get("params") or [])
            equality = ref_path(body["fcn"]) == ("equal",)
        elif kind in ("BoolExpr", "AssignExpr", "ArithExpr", "BinExpr"):
            if kind == "AssignExpr" and not equality:
                return  # ``:=`` cannot be negated
            operands = [body.get("lhs"), body.get("rhs")]
        elif kind == "Membership":
            operands = [body.get("key"), body.get("value"), body.get("collection")]
        elif kind in ("RefDot", "RefBrack"):
            self.ref_indexes(node, at, shadow)  # ``not input.m[input.k]``
        elif kind in ("Array", "Set", "Object"):
            operands = [node]  # ``not [input.x]``: the collection is built first
        for operand in operands:
            if operand is None:
                continue
            if equality and not self.evaluated_first(operand, shadow):
                self.ref_indexes(operand, at, shadow)  # ``not input.m[input.k] == 1``
                continue
            if self.dynamic(operand, shadow):
                span = span_of(operand)
                text = self.module.source[span["start"] : span["end"]]
                if kind_of(operand)[0] == "Object" and not (  # type: ignore[index]
                    text.startswith(b"{") and text.endswith(b"}")
                ):
                    continue  # regorus' span of an object can start inside it
                self.moves.append((span, at))

    def ref_indexes(self, node: Any, at: int, shadow: _Scope) -> None:
        """A reference staying under ``not``: OPA still evaluates first a reference, call or
        operator in one of its brackets (an undefined index makes the statement undefined)."""
        while True:
            found = kind_of(node)
            if found is None or found[0] not in ("RefDot", "RefBrack"):
                return
            if found[0] == "RefBrack":
                index = found[1].get("index")
                if self.dynamic(index, shadow) and kind_of(index)[0] not in (  # type: ignore[index]
                    "Array",
                    "Set",
                    "Object",
                ):
                    self.moves.append((span_of(index), at))
            node = found[1]["refr"]

    def evaluated_first(self, node: Any, shadow: _Scope) -> bool:
        """Under ``==``: a call, an operator or a collection holding a reference."""
        found = kind_of(node)
        if found is None:
            return False
        kind = found[0]
        if kind in ("Call", "ArithExpr", "BinExpr", "BoolExpr"):
            return True
        return kind in ("Array", "Set", "Object") and self.dynamic(node, shadow)

    def dynamic(self, node: Any, shadow: _Scope) -> bool:
        """A term whose value OPA computes before the expression: a reference (not a bare
        local), a call, an operator, or a collection holding one."""
        found = kind_of(node)
        if found is None:
            return False
        kind, body = found
        if kind == "Var":
            name = str(body["value"])
            if name in shadow or name == "_":
                return False
            return (
                name in ("input", "data")
                or name in self.module.rule_names
                or name in self.module.imports
            )
        if kind in ("RefDot", "RefBrack", "Call", "ArithExpr", "BinExpr", "BoolExpr"):
            return True
        if kind in ("Array", "Set"):
            return any(self.dynamic(item, shadow) for item in body.get("items") or [])
        if kind == "Object":
            return any(
                self.dynamic(part, shadow)
                for field in body.get("fields") or []
                for part in (field[1:] if isinstance(field, list) else [field])
            )
        return False

    def hoist(self, modifier: dict[str, Any], at: int, shadow: _Scope) -> None:
        """``s with t as v`` → ``__with_N := v; s with t as __with_N`` for a value (not a function).

        regorus evaluates a rule that the ``with`` value itself depends on as undefined inside
        the ``with`` scope; OPA evaluates the value first, outside the scope, as the hoist does.
        """
        value = kind_of(modifier.get("as"))
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
        target_end = span_of(modifier["refr"])["end"]
        found = _AS.match(self.module.source, target_end)
        if found is None:
            return
        self.moves.append(({"start": found.end(), "end": span_of(modifier["as"])["end"]}, at))

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

    def is_collection(self, node: Any, shadow: _Scope) -> bool:
        """Whether ``node`` can only be an array, set or object (so ``some x in node`` needs
        no guard): a literal or comprehension, a collection-valued rule or user function
        (``Program.collections``), or a builtin that only returns collections."""
        if is_collection_node(node):
            return True
        found = kind_of(node)
        if found is None:
            return False
        kind, body = found
        target = body["fcn"] if kind == "Call" else node
        path = ref_path(target)
        if not path:
            return False
        local = path[0] in shadow or path[0] in self.module.imports
        local = local or path[0] in self.module.rule_names
        if kind == "Call" and not local and ".".join(path) in _COLLECTION_BUILTINS:
            return True
        if kind not in ("Call", "Var", "RefDot", "RefBrack"):
            return False
        resolved = self.resolve(path, shadow)
        return resolved is not None and resolved in self.program.collections

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
        var = root_var(node)
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
            found = kind_of(node)
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
            strings = _string_verbs(params) if name == "sprintf" else None
            if strings is not None:
                support = ("data", SUPPORT_PACKAGE, sprintf_strings(strings))
            fspan = span_of(fcn)
            self.edits.append((fspan["start"], fspan["end"], ref_text(support).encode()))
            resolved: _Path | None = support
        else:
            self.visit(fcn, shadow)
            resolved = self.resolve(path, shadow) if path else None
        arity = self.program.arities.get(resolved) if resolved else None
        if statement and arity is not None and len(params) == arity + 1:
            out = params[-1]
            out_span = span_of(out)
            cut = span_of(params[-2])["end"] if arity else span_of(fcn)["end"] + 1
            out_text = self.text(out_span)
            out_var = kind_of(out)
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


def _vars(node: Any) -> Iterator[str]:
    found = kind_of(node)
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
    found = kind_of(literal)
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
        expr = kind_of(body.get("expr"))
        if expr is not None and expr[0] == "AssignExpr" and expr[1].get("op") == "ColEq":
            yield from _vars(expr[1].get("lhs"))


def rewrite(module: ParsedModule, program: Program) -> str:
    """The module's text with every rewrite applied (same number of lines)."""
    return _Rewriter(module, program).run().decode("utf-8")


#: Builtins whose value, when they have one, is an array, set or object.
_COLLECTION_BUILTINS = frozenset(
    {
        "array.concat",
        "array.reverse",
        "array.slice",
        "graph.reachable",
        "intersection",
        "numbers.range",
        "object.filter",
        "object.keys",
        "object.remove",
        "object.union",
        "regex.find_n",
        "regex.split",
        "sort",
        "split",
        "union",
    }
)

_STRING_VERB = re.compile(r"%[sv]")


def _string_verbs(params: Sequence[Any]) -> int | None:
    """``n`` when a ``sprintf`` call is ``sprintf("…%s…%v…", [a1, …, an])``: a literal format
    whose only verbs are ``n`` plain ``%s``/``%v`` and a literal array of ``n`` items. With
    string arguments regorus formats those exactly as Go does, so the call may skip the
    Python override (``sprintf_strings``). Any other shape returns ``None``."""
    if len(params) != 2:
        return None
    fmt, args = kind_of(params[0]), kind_of(params[1])
    if fmt is None or args is None or fmt[0] not in ("String", "RawString") or args[0] != "Array":
        return None
    text = str(fmt[1].get("value", ""))
    verbs = _STRING_VERB.findall(text)
    if text.count("%") != len(verbs) or len(args[1].get("items") or []) != len(verbs):
        return None
    return len(verbs) if 0 < len(verbs) <= SPRINTF_STRINGS_MAX else None
