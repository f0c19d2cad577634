"""Evaluate once, when a policy is loaded, the rules that cannot depend on the input.

Conforma's library recomputes on every component what only its data decides: the trusted
tasks with expired records pruned (hundreds of RFC 3339 parses), JSON-schema checks of the
rule data, the required-task lists. regorus keeps a rule's value for one query only, so each
component pays for all of it again. A rule whose value depends only on data (and on the clock,
see below) has the same value for every component, so it is *folded*: evaluated once on the
loaded engine, its definitions blanked in the source (line numbers kept), and one definition
put in their place that reads the value from ``data.__konflux_folded``.

What may be folded is decided on regorus' own AST of the modules as loaded:

* a rule is *input-dependent* when it (or anything it reaches: rules, functions, whole
  packages by prefix) mentions ``input``, uses ``with``, calls a builtin with effects
  (``http.send``, ``net.*``, ``opa.runtime``, ``rand.*``, ``uuid.rfc4122``) or any function that
  is neither a standard builtin, a compat override, nor a rule of the policy (custom builtins
  such as ``ec.*``), or reaches data through a reference that is not static (``data[x]``);
* a rule that calls ``time.now_ns`` (directly or through others) is *clock-dependent*: it is
  folded, and the engine evaluates it again when the folded value is older than
  :data:`CLOCK_TTL` seconds (OPA reads the clock once per query; a release validation fixes
  ``data.config.policy.when_ns`` once per run anyway);
* only complete rules, partial sets and partial objects with a single-name head are folded,
  never functions; a value with a set nested inside it is left alone (JSON cannot say "set").

Folding changes no answer: the folded value *is* the rule's value. If evaluating the folded
rules fails, nothing is folded and the policy runs as written.

The same analysis finds the calls :mod:`._memo` memoises (``FoldPlan.memo``);
:class:`._folder.Folder` builds the engine that runs both (ADR 0085).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from konflux_supply.policy import _memo
from konflux_supply.policy._compat_ast import kind_of, ref_text
from konflux_supply.policy._compat_support import SUPPORT_PACKAGE

__all__ = ["CLOCK_TTL", "DATA_KEY", "FoldPlan", "FoldedRule", "plan"]

#: The data document the folded values live under.
DATA_KEY = "__konflux_folded"
#: Seconds a clock-dependent folded value is used before it is evaluated again.
CLOCK_TTL = 30.0

#: Standard builtins whose value is not a function of their arguments.
_EFFECTS = frozenset(
    {
        "http.send",
        "net.lookup_ip_addr",
        "opa.runtime",
        "rand.intn",
        "uuid.rfc4122",
        "trace",
    }
)
_CLOCK = "time.now_ns"
#: Numbers above this are not folded: regorus' JSON carries integers beyond 64 bits as floats
#: (``99999999999999999999 + 1`` would come back as ``1e+20``, no longer above the literal).
_EXACT_INT = 2**63 - 1

_Path = tuple[str, ...]


@dataclass(frozen=True)
class FoldedRule:
    """One rule to fold: where its definitions are, and how its value is read back."""

    path: _Path  # ("data", *package, name)
    name: str
    #: (module index, start, end) of every definition, ``default`` ones included
    spans: tuple[tuple[int, int, int], ...]
    clock: bool

    @property
    def key(self) -> str:
        return ".".join(self.path[1:])


@dataclass(frozen=True)
class FoldPlan:
    """The rules to fold in one set of modules (picklable; computed where the AST is)."""

    rules: tuple[FoldedRule, ...] = ()
    memo: _memo.MemoPlan = field(default_factory=_memo.MemoPlan)

    @property
    def clock(self) -> bool:
        """Whether some folded value depends on the clock."""
        return any(rule.clock for rule in self.rules)

    def query(self, rules: Iterable[FoldedRule] | None = None) -> str:
        """One query giving, per rule, ``[]`` (undefined) or ``[{"v", "set", "nested"}]``."""
        parts = []
        for rule in self.rules if rules is None else rules:
            ref = ref_text(rule.path)
            parts.append(
                f"{json.dumps(rule.key)}: [{{"
                f'"v": v, "set": is_set(v), '
                f'"sets": count([1 | walk(v, [_, y]); is_set(y)]), '
                f'"keys": count([1 | walk(v, [_, y]); is_object(y); some k, _ in y; '
                f"not is_string(k)]), "
                f'"big": count([1 | walk(v, [_, y]); is_number(y); abs(y) > {_EXACT_INT}])'
                f"}} | v := {ref}]"
            )
        return "__konflux_fold := {" + ", ".join(parts) + "}"

    def values(self, answer: Mapping[str, Any]) -> tuple[dict[str, Any], tuple[FoldedRule, ...]]:
        """``(data under DATA_KEY, the rules that can be folded)`` from :meth:`query`'s value.

        A rule whose value JSON cannot carry back exactly is not folded: a set below its top
        level, an object key that is not a string (``{1: "a"}`` would come back as
        ``{"1": "a"}``), an integer beyond 64 bits (regorus' JSON carries those as floats)."""
        data: dict[str, Any] = {}
        kept: list[FoldedRule] = []
        for rule in self.rules:
            found = answer.get(rule.key)
            if not isinstance(found, list):
                continue
            if found:
                item = found[0]
                if item["sets"] > (1 if item["set"] else 0) or item["keys"] or item["big"]:
                    continue
                data[rule.key] = {"v": item["v"], "set": bool(item["set"])}
            kept.append(rule)
        return data, tuple(kept)

    def apply(
        self, texts: Sequence[str], folded: Mapping[str, Any], rules: Sequence[FoldedRule]
    ) -> tuple[list[str], list[tuple[str, str]]]:
        """The module texts with ``rules`` replaced by reads of their folded values and the
        memoised calls (``memo``) by lookups, plus the modules to add (the memo rules)."""
        edits: dict[int, list[tuple[int, int, bytes | None]]] = {}
        tails: dict[int, list[str]] = {}
        for rule in rules:
            for index, start, end in rule.spans:
                edits.setdefault(index, []).append((start, end, None))
            home = rule.spans[0][0]
            source = f"data.{DATA_KEY}[{json.dumps(rule.key)}]"
            entry = folded.get(rule.key)
            if entry is not None and entry["set"]:
                line = f"{rule.name} := {{x | some x in {source}.v}}"
            else:  # undefined stays undefined: a read of a missing document is undefined
                line = f"{rule.name} := {source}.v"
            tails.setdefault(home, []).append(line)
        for index, lines in self.memo.tails().items():
            tails.setdefault(index, []).extend(lines)
        for index, sites in self.memo.edits().items():
            blanked = [(start, end) for start, end, text in edits.get(index, []) if text is None]
            for start, end, text in sites:
                if not any(a <= start and end <= b for a, b in blanked):
                    edits.setdefault(index, []).append((start, end, text))
        out = list(texts)
        for index in set(edits) | set(tails):
            data = out[index].encode("utf-8")
            for start, end, replacement in sorted(edits.get(index, []), reverse=True):
                if replacement is None:
                    if data[end : end + 1] in (b'"', b"`"):
                        end += 1  # regorus ends a rule's span before its closing quote
                    data = data[:start] + _blank(data[start:end]) + data[end:]
                else:  # a memo lookup, followed by the call's line breaks (lines stay)
                    breaks = b"\n" * data[start:end].count(b"\n")
                    data = data[:start] + replacement + breaks + data[end:]
            rewritten = data.decode("utf-8")
            if tails.get(index):
                rewritten = rewritten.rstrip("\n") + "\n\n" + "\n".join(tails[index]) + "\n"
            out[index] = rewritten
        module = self.memo.module()
        return out, [module] if module is not None else []


def _blank(chunk: bytes) -> bytes:
    """Spaces for everything but line breaks (line numbers stay)."""
    return bytes(byte if byte == 0x0A else 0x20 for byte in chunk)


# -- analysis ---------------------------------------------------------------------------------


@dataclass
class _Rule:
    path: _Path
    function: bool
    foldable: bool
    spans: list[tuple[int, int, int]] = field(default_factory=list)
    deps: set[_Path] = field(default_factory=set)
    prefixes: set[_Path] = field(default_factory=set)  # data refs: any rule under or above
    input: bool = False  # reads the input
    effects: bool = False  # `with`, builtins with effects, custom builtins, dynamic calls
    clock: bool = False
    collection: bool = False  # deny/warn/violation: queried by the collection query
    withs: bool = False  # a `with` in one of its own bodies
    arities: set[int] = field(default_factory=set)
    #: (module, start, end) of the name in each function head (``f`` in ``f(x) := ...``)
    names: list[tuple[int, int, int]] = field(default_factory=list)
    default: bool = False


def _chain(node: Any) -> tuple[str | None, _Path, list[Any]]:
    """A reference as (root variable, static path after it, nodes still to visit)."""
    rest: list[Any] = []
    segments: list[str | None] = []
    while True:
        found = kind_of(node)
        if found is None:
            return None, (), [node, *rest]
        kind, body = found
        if kind == "Var":
            static: list[str] = []
            for segment in reversed(segments):
                if segment is None:
                    break
                static.append(segment)
            return str(body["value"]), tuple(static), rest
        if kind == "RefDot":
            segments.append(str(body["field"][1]))
        elif kind == "RefBrack":
            index = kind_of(body.get("index"))
            if index is not None and index[0] == "String":
                segments.append(str(index[1]["value"]))
            else:
                segments.append(None)
                rest.append(body.get("index"))
        else:
            return None, (), [node, *rest]
        node = body["refr"]


class _Analyser:
    def __init__(
        self,
        package: _Path,
        rules: Mapping[_Path, _Rule],
        local_names: frozenset[str],
        imports: Mapping[str, _Path],
        builtins: frozenset[str],
        pure_extension_prefixes: tuple[str, ...],
    ) -> None:
        self.package = package
        self.rules = rules
        self.local_names = local_names
        self.imports = imports
        self.builtins = builtins
        self.pure_prefixes = pure_extension_prefixes

    def visit(self, node: Any, rule: _Rule) -> None:
        if isinstance(node, list):
            for item in node:
                self.visit(item, rule)
            return
        if not isinstance(node, dict):
            return
        if node.get("with_mods"):
            rule.effects = rule.withs = True
        found = kind_of(node)
        if found is None:
            for key, value in node.items():
                if key not in ("span", "with_mods"):
                    self.visit(value, rule)
            return
        kind, body = found
        if kind == "Call":
            self.call(body, rule)
        elif kind in ("Var", "RefDot", "RefBrack"):
            self.reference(node, rule)
        else:
            for key, value in body.items():
                if key != "span":
                    self.visit(value, rule)

    def resolve(self, root: str, path: _Path) -> _Path | None:
        """The absolute path (``data.…``/``input.…``) a reference names in this module."""
        if root == "input":
            return ("input", *path)
        return self._resolve(root, path)

    def _resolve(self, root: str, path: _Path) -> _Path | None:
        if root == "data":
            return ("data", *path)
        if root in self.imports:
            return (*self.imports[root], *path)
        if root in self.local_names:
            return ("data", *self.package, root, *path)
        return None

    def reference(self, node: Any, rule: _Rule) -> None:
        root, path, rest = _chain(node)
        if root == "input":
            rule.input = True
        elif root is not None:
            resolved = self._resolve(root, path)
            if resolved is not None:
                if resolved[:1] == ("input",):
                    rule.input = True
                else:
                    rule.prefixes.add(resolved)
        for item in rest:
            self.visit(item, rule)

    def call(self, body: Mapping[str, Any], rule: _Rule) -> None:
        root, path, rest = _chain(body["fcn"])
        for item in rest:
            self.visit(item, rule)
        self.visit(body.get("params"), rule)
        if root is None:
            rule.effects = True
            return
        resolved = self._resolve(root, path)
        if resolved is not None and resolved[:1] == ("data",):
            if resolved not in self.rules:
                rule.effects = True  # a function that is not a rule here: a builtin's shim
            rule.prefixes.add(resolved)
            return
        name = ".".join((root, *path))
        if name == _CLOCK:
            rule.clock = True
        elif name in _EFFECTS:
            rule.effects = True
        elif name not in self.builtins and not name.startswith(self.pure_prefixes):
            rule.effects = True  # a custom builtin (ec.*, a private extension): not ours to call


def _head(spec: Mapping[str, Any]) -> tuple[_Path | None, bool, bool]:
    """(name path of the head, is a function, has a single-name head)."""
    head = kind_of(spec.get("head"))
    if head is None:
        return None, False, False
    kind, body = head
    refr = body.get("refr")
    if kind == "Compr":
        found = kind_of(refr)
        if found is not None and found[0] == "RefBrack":  # partial object: o[k] := v
            refr = found[1]["refr"]
    root, path, rest = _chain(refr)
    if root is None:
        return None, kind == "Func", False
    # a ref head with variables (``x[a][b] contains y``) is named by its static part
    return (root, *path), kind == "Func", not path and not rest


_COLLECTION_NAMES = ("deny", "warn", "violation")


def plan(
    trees: Sequence[Mapping[str, Any]],
    texts: Sequence[str],
    *,
    builtins: frozenset[str],
    pure_extension_prefixes: tuple[str, ...] = (),
) -> FoldPlan:
    """Which rules of these modules (regorus ASTs and their sources, in load order) to fold.

    Only the *frontier* is folded: foldable rules that an input-dependent rule or function
    reads, and foldable ``deny``/``warn`` rules themselves. ``builtins``: the engine's
    standard builtin names; ``pure_extension_prefixes``: extensions that are pure functions
    of their arguments (the compat overrides)."""
    rules: dict[_Path, _Rule] = {}
    bodies: list[tuple[_Path, dict[str, Any], _Path, int]] = []
    imports: list[dict[str, _Path]] = []
    for index, (tree, text) in enumerate(zip(trees, texts, strict=True)):
        package = _package(tree)
        found_imports = _imports(tree, text)
        if package is None or found_imports is None:
            return FoldPlan()
        imports.append(found_imports)
        for entry in tree.get("rules", []):
            found = kind_of(entry)
            if found is None:
                return FoldPlan()
            kind, spec = found
            if kind == "Default":
                root, rest_path, rest = _chain(spec.get("refr"))
                name = None if root is None or rest else (root, *rest_path)
                function, single = False, name is not None and len(name) == 1
            else:
                name, function, single = _head(spec)
            if name is None:
                return FoldPlan()  # a head we do not understand: fold nothing
            path = ("data", *package, *name)
            rule = rules.setdefault(path, _Rule(path, function, foldable=single))
            rule.function = rule.function or function
            rule.foldable = rule.foldable and single and not rule.function
            rule.collection = name[-1].startswith(_COLLECTION_NAMES)
            head = kind_of(spec.get("head"))
            rule.default = rule.default or kind == "Default"
            if head is not None and head[0] == "Func":
                rule.arities.add(len(head[1].get("args") or []))
                var = kind_of(head[1].get("refr"))
                if var is not None and var[0] == "Var":
                    named = var[1]["span"]
                    rule.names.append((index, int(named["start"]), int(named["end"])))
            span = spec["span"]
            rule.spans.append((index, int(span["start"]), int(span["end"])))
            bodies.append((path, spec, package, index))
    local_names: dict[_Path, set[str]] = {}
    for path in rules:
        for cut in range(2, len(path)):
            local_names.setdefault(path[1:cut], set()).add(path[cut])
    sites: list[tuple[_Path, tuple[int, Mapping[str, Any], _memo.Resolve, bytes]]] = []
    sources = [text.encode("utf-8") for text in texts]
    for path, spec, package, index in bodies:
        analyser = _Analyser(
            package,
            rules,
            frozenset(local_names.get(package, ())),
            imports[index],
            builtins,
            pure_extension_prefixes,
        )
        for key, value in spec.items():
            if key != "span":
                analyser.visit(value, rules[path])
        if "head" in spec:
            sites.append((path, (index, spec, analyser.resolve, sources[index])))
    _link(rules)
    _propagate(rules)
    # `with` replaces the input or data for what it reaches; a folded value or a memo table
    # could then hold a value computed outside that scope: any `with` turns both off
    if any(rule.withs for rule in rules.values()):
        return FoldPlan()
    memo = _memo.find(
        [site for _path, site in sites],
        memoisable=lambda path: _memoisable(rules, path),
        domains=lambda path: _domain(rules, path),
        names=lambda path: tuple(rules[path].names),
    )
    memo = _memo.safe_redirects(memo, {path: rule.deps for path, rule in rules.items()})
    readers: set[_Path] = set()
    for rule in rules.values():
        if rule.input or rule.effects or rule.function:
            readers.update(rule.deps)
    chosen = [
        FoldedRule(path, path[-1], tuple(rule.spans), rule.clock)
        for path, rule in sorted(rules.items())
        if rule.foldable
        and not (rule.input or rule.effects)
        and (path in readers or rule.collection)
    ]
    return FoldPlan(tuple(chosen), memo)


def _memoisable(rules: Mapping[_Path, _Rule], path: _Path) -> bool:
    """A function of one argument that cannot have effects (not the compat layer's own
    wrappers: they cost less than a lookup)."""
    rule = rules.get(path)
    if path[:2] == ("data", SUPPORT_PACKAGE) or rule is None or rule.default:
        return False
    single_names = len(rule.names) == len(rule.spans)  # every head is a plain `f(x)`
    return rule.function and rule.arities == {1} and not rule.effects and single_names


def _domain(rules: Mapping[_Path, _Rule], path: _Path) -> bool:
    """What a memo may iterate: the input, data, or (inside) a rule that is not a function."""
    if path[:1] == ("input",):
        return True
    if path[:1] != ("data",) or len(path) < 2:
        return False
    for cut in range(2, len(path) + 1):
        rule = rules.get(path[:cut])
        if rule is not None:
            return not rule.function
    return not any(other[: len(path)] == path for other in rules)  # not a package


def _package(tree: Mapping[str, Any]) -> _Path | None:
    package = tree.get("package")
    if not isinstance(package, dict):
        return None
    root, path, rest = _chain(package.get("refr"))
    if root is None or rest:
        return None
    return (root, *path)


def _imports(tree: Mapping[str, Any], text: str) -> dict[str, _Path] | None:
    """alias → imported path (``data.…`` and ``input.…``; ``rego.v1`` and ``future`` skipped)."""
    encoded = text.encode("utf-8")
    found: dict[str, _Path] = {}
    for entry in tree.get("imports", []):
        root, path, rest = _chain(entry.get("refr"))
        if root is None or rest:
            return None
        if root not in ("data", "input"):
            continue
        alias = entry.get("as")
        full = (root, *path)
        name = encoded[alias["start"] : alias["end"]].decode() if alias else full[-1]
        found[name] = full
    return found


def _link(rules: dict[_Path, _Rule]) -> None:
    """Turn data prefixes into rule dependencies; ``data`` alone (or a dynamic ``data[x]``
    reaching more than data) depends on everything under it."""
    by_first: dict[str, list[_Path]] = {}
    for path in rules:
        by_first.setdefault(path[1] if len(path) > 1 else "", []).append(path)
    every = list(rules)
    for rule in rules.values():
        for prefix in rule.prefixes:
            candidates = every if len(prefix) < 2 else by_first.get(prefix[1], [])
            for path in candidates:
                shorter = min(len(path), len(prefix))
                if path[:shorter] == prefix[:shorter] and path != rule.path:
                    rule.deps.add(path)


def _propagate(rules: Mapping[_Path, _Rule]) -> None:
    """Spread input-dependence and clock-dependence to everything that reaches them."""
    readers: dict[_Path, list[_Rule]] = {}
    for rule in rules.values():
        for dep in rule.deps:
            readers.setdefault(dep, []).append(rule)
    for attribute in ("input", "effects", "clock"):
        queue = [rule for rule in rules.values() if getattr(rule, attribute)]
        while queue:
            current = queue.pop()
            for reader in readers.get(current.path, []):
                if not getattr(reader, attribute):
                    setattr(reader, attribute, True)
                    queue.append(reader)
