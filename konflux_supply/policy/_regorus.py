"""regorus, wrapped: parse and analyse modules once, compile once, evaluate with the input swapped.

This module runs in two places. In the calling process, :func:`analyse` parses every module
(errors name file and line), applies the static checks of ``_capabilities`` and prepares a
picklable :class:`CompileSpec`. In each worker process, :class:`Compiled` turns the spec into one
regorus engine and evaluates inputs on a clone of it (a clone costs about a microsecond and
leaves nothing behind from a previous input).

Custom builtins: each ``ns.name`` is registered under a private extension name and exposed as
a Rego function ``data.ns.name`` that is undefined when the Python function returns ``None``
(regorus cannot return *undefined* from an extension). Modules that mention ``ns.`` get an
``import data.ns`` on their package line (so line numbers stay), which also lets tests mock the
builtin with ``with ns.name as mock``.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import re
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from konflux_supply.errors import InputError, PolicyError
from konflux_supply.policy import _capabilities, _fold, _folder
from konflux_supply.policy._fold import FoldPlan
from konflux_supply.policy._types import (
    Builtins,
    Call,
    EngineResult,
    Module,
    ParsedModule,
    RuleSummary,
)

_LOCATION = re.compile(r"-->\s*(?P<file>[^\n]+?):(?P<line>\d+):(?P<col>\d+)")
_MESSAGE = re.compile(r"^error:\s*(?P<msg>.+)$", re.MULTILINE)
_DENY = re.compile(r"^(deny|violation)(_\w*)?$")
_WARN = re.compile(r"^warn(_\w*)?$")
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_EXT_PREFIX = "konflux_ext__"

#: Policy size limits (regorus' defaults reject long generated lines and big data-like files).
_LENGTH_LIMITS = {"max_col": 1_000_000, "max_file_bytes": 64 * 1024 * 1024, "max_lines": 1_000_000}


@dataclass(frozen=True)
class CompileSpec:
    """Everything a worker needs to build its engine (picklable)."""

    modules: tuple[Module, ...]
    data_json: str
    builtins: Builtins | None
    signatures: Mapping[str, int]
    #: the modules already parsed by the caller (saves the worker a second parse)
    parsed: tuple[ParsedModule, ...] | None = None
    #: register the compatibility layer's extensions (the modules are already prepared)
    compat: bool = False
    #: input-independent rules to evaluate once at load (``_fold``); ``None``: fold nothing
    fold: FoldPlan | None = None


def error_text(raw: str) -> str:
    """regorus' multi-line error (with a Rust backtrace) as ``file:line: message``."""
    raw = raw.split("Stack backtrace:", 1)[0]
    location = _LOCATION.search(raw)
    message = _MESSAGE.search(raw)
    text = message.group("msg").strip() if message else " ".join(raw.split())[:500]
    if location:
        return f"{location.group('file')}:{location.group('line')}: {text}"
    return text


def error_location(raw: str) -> tuple[str | None, int | None]:
    """The file and line a regorus error points at, when it names one."""
    location = _LOCATION.search(raw)
    if location is None:
        return None, None
    return location.group("file"), int(location.group("line"))


def _new_engine() -> Any:
    import regorus

    engine = regorus.Engine()
    engine.set_policy_length_config(**_LENGTH_LIMITS)
    return engine


@functools.cache
def standard_builtins() -> frozenset[str]:
    """Names of regorus' builtins (what ``opa.runtime()`` lists)."""
    engine = _new_engine()
    answer = json.loads(engine.eval_query_as_json("x := opa.runtime()"))
    return frozenset(answer["result"][0]["bindings"]["x"]["builtins"])


def _ref_path(node: Any) -> tuple[str, ...] | None:
    """``a.b["c"].d`` as ``("a", "b", "c", "d")``; ``None`` for a dynamic reference."""
    if not isinstance(node, dict) or len(node) != 1:
        return None
    ((kind, body),) = node.items()
    if kind == "Var":
        return (str(body["value"]),)
    if kind == "RefDot":
        head = _ref_path(body["refr"])
        return None if head is None else (*head, str(body["field"][1]))
    if kind == "RefBrack":
        head = _ref_path(body["refr"])
        index = body.get("index", {})
        if head is None or "String" not in index:
            return None
        return (*head, str(index["String"]["value"]))
    return None


def _ref_root(node: Any) -> str | None:
    while isinstance(node, dict) and len(node) == 1:
        ((kind, body),) = node.items()
        if kind == "Var":
            return str(body["value"])
        if kind not in ("RefDot", "RefBrack"):
            return None
        node = body["refr"]
    return None


def _scan(node: Any, data_refs: set[tuple[str, ...]], roots: set[str]) -> tuple[Call, ...]:
    """One pass over a rule's AST: its calls; adds reference roots and ``data.…`` paths."""
    calls = []
    stack = [node]
    while stack:
        item = stack.pop()
        if type(item) is list:
            stack.extend(item)
            continue
        if type(item) is not dict:
            continue
        for key, value in item.items():
            if key == "span" or type(value) not in (dict, list):
                continue
            if key == "Call":
                target = _ref_path(value.get("fcn"))
                if target is not None:
                    calls.append(Call(target, int(value["span"]["line"])))
            elif key in ("RefDot", "RefBrack"):
                root = _ref_root(value["refr"])
                if root is not None:
                    roots.add(root)
                    if root == "data":
                        path = _ref_path({key: value})
                        if path is not None and len(path) > 1:
                            data_refs.add(path[1:])
            stack.append(value)
    return tuple(sorted(calls, key=lambda call: call.line))


def _summarise(module: Module, ast: dict[str, Any]) -> ParsedModule:
    package_node = ast["package"]
    package = _ref_path(package_node["refr"]) or ()
    imports: dict[str, tuple[str, ...]] = {}
    encoded = module.text.encode("utf-8")
    for entry in ast.get("imports", []):
        path = _ref_path(entry["refr"])
        if not path or path[0] != "data":
            continue
        alias = entry.get("as")
        name = encoded[alias["start"] : alias["end"]].decode() if alias else path[-1]
        imports[name] = path
    rules = []
    roots: set[str] = set()
    data_refs = {path[1:] for path in imports.values() if len(path) > 1}
    for rule in ast.get("rules", []):
        ((kind, body),) = rule.items()
        head = body.get("head", {}) if kind == "Spec" else {}
        head_kind, head_body = next(iter(head.items())) if head else (kind, body)
        head_path = _ref_path(head_body.get("refr"))
        name = head_path[0] if head_path else _ref_root(head_body.get("refr")) or ""
        rules.append(
            RuleSummary(
                name=name,
                line=int(body["span"]["line"]),
                is_function=head_kind == "Func",
                calls=_scan(body, data_refs, roots),
            )
        )
    # the package span's end is a byte offset into the UTF-8 source
    end = len(encoded[: package_node["span"]["end"]].decode("utf-8", errors="ignore"))
    return ParsedModule(
        module, package, end, imports, tuple(rules), frozenset(roots), frozenset(data_refs)
    )


def parse(modules: Sequence[Module]) -> list[ParsedModule]:
    """Parse every module; the first that does not parse raises ``InputError`` (file:line)."""
    return _parse(modules)[0]


def _parse(modules: Sequence[Module]) -> tuple[list[ParsedModule], list[dict[str, Any]]]:
    engine = _new_engine()
    for module in modules:
        try:
            engine.add_policy(module.path, module.text)
        except RuntimeError as error:
            raise _input_error(str(error), module.path) from None
    trees = [tree["ast"] for tree in json.loads(engine.get_ast_as_json())]
    parsed = [_summarise(module, tree) for module, tree in zip(modules, trees, strict=True)]
    return parsed, trees


def _input_error(raw: str, path: str) -> InputError:
    file, line = error_location(raw)
    text = error_text(raw)
    if file is not None:
        text = text.split(": ", 1)[1] if ": " in text else text
    return InputError(f"Rego does not compile: {text}", source=f"{file or path}:{line or 0}")


def analyse(
    modules: Sequence[Module], builtins: Mapping[str, int], *, check_recursion: bool = True
) -> list[ParsedModule]:
    """Parse and check modules as a load would (capabilities, recursion, builtin names)."""
    return analyse_and_plan(modules, builtins, check_recursion=check_recursion, fold=False)[0]


def analyse_and_plan(
    modules: Sequence[Module],
    builtins: Mapping[str, int],
    *,
    check_recursion: bool = True,
    fold: bool = True,
) -> tuple[list[ParsedModule], FoldPlan | None]:
    """:func:`analyse`, plus which rules to evaluate once at load (``fold``; see ``_fold``)."""
    _capabilities.check_builtin_names(builtins, standard_builtins())
    parsed, trees = _parse(modules)
    _capabilities.check_capabilities(parsed)
    if check_recursion:
        _capabilities.check_recursion(parsed)
    plan = None
    if fold:
        from konflux_supply.policy.compat import EXTENSION_PREFIX

        plan = _fold.plan(
            trees,
            [module.text for module in modules],
            builtins=standard_builtins(),
            pure_extension_prefixes=(EXTENSION_PREFIX,),
        )
    return parsed, plan


def collected_rules(parsed: Sequence[ParsedModule]) -> dict[str, tuple[str, ...]]:
    """``{package: (deny/warn rule names...)}`` for every package that has such rules."""
    found: dict[str, set[str]] = {}
    for module in parsed:
        for rule in module.rules:
            if not rule.is_function and (_DENY.match(rule.name) or _WARN.match(rule.name)):
                found.setdefault(module.package_name, set()).add(rule.name)
    return {package: tuple(sorted(names)) for package, names in sorted(found.items())}


def collected_packages(parsed: Sequence[ParsedModule]) -> tuple[str, ...]:
    return tuple(collected_rules(parsed))


def rego_ref(path: Sequence[str]) -> str:
    """``data["a"]["b-c"]``: a reference that works for any segment."""
    return "data" + "".join(f"[{json.dumps(segment)}]" for segment in path)


def collection_query(parsed: Sequence[ParsedModule], only: frozenset[str] | None = None) -> str:
    """One query whose value is ``{package: {rule: [elements...]}}`` for every deny/warn rule
    (of the packages in ``only``, when given)."""
    packages = []
    for package, names in collected_rules(parsed).items():
        if only is not None and package not in only:
            continue
        segments = tuple(package.split("."))
        rules = ", ".join(
            f"{json.dumps(name)}: [x | some x in {rego_ref((*segments, name))}]" for name in names
        )
        packages.append(f"{json.dumps(package)}: {{{rules}}}")
    return "{" + ", ".join(packages) + "}"


def merge_collected(value: Mapping[str, Mapping[str, list[Any]]]) -> EngineResult:
    """``{package: {rule: [...]}}`` (the collection query's value) as deny/warn lists."""
    out: EngineResult = {}
    for package, rules in value.items():
        entry: dict[str, list[Any]] = {"deny": [], "warn": []}
        for name, elements in sorted(rules.items()):
            entry["deny" if _DENY.match(name) else "warn"].extend(elements)
        out[package] = entry
    return out


def prepare(parsed: Sequence[ParsedModule], builtins: Mapping[str, int]) -> tuple[Module, ...]:
    """Sources as the engine gets them: builtin shims first, ``import data.ns`` injected."""
    roots = {name.split(".", 1)[0] for name in builtins}
    prepared = list(_shims(builtins))
    for module in parsed:
        missing = sorted(
            root
            for root in roots & module.roots
            if root not in module.imports and module.package[:1] != (root,)
        )
        text = module.module.text
        if missing:
            addition = "".join(f" import data.{root}" for root in missing)
            text = text[: module.package_end] + addition + text[module.package_end :]
        prepared.append(Module(module.module.path, text))
    return tuple(prepared)


def _private(name: str) -> str:
    return _EXT_PREFIX + name.replace(".", "__")


def _shims(builtins: Mapping[str, int]) -> Iterator[Module]:
    by_package: dict[str, list[str]] = {}
    for name, nargs in sorted(builtins.items()):
        package, _, short = name.rpartition(".")
        args = ", ".join(f"a{i}" for i in range(nargs))
        by_package.setdefault(package, []).append(
            f"{short}({args}) := r if {{\n\tr := {_private(name)}({args})\n\tr != null\n}}\n"
        )
    for package, functions in by_package.items():
        text = f"package {package}\n\n" + "\n".join(functions)
        yield Module(f"<konflux-supply builtins {package}>", text)


def _plain(value: Any) -> Any:
    """Python values regorus can take back: sets and tuples become lists."""
    if isinstance(value, set | frozenset):
        return [_plain(item) for item in sorted(value, key=repr)]
    if isinstance(value, tuple | list):
        return [_plain(item) for item in value]
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    return value


def run_query(engine: Any, query: str, input_json: str | None) -> Any:
    """One query on a clone of ``engine`` with ``input_json`` as the input (``RuntimeError``
    from regorus passes through)."""
    clone = engine.clone()
    if input_json is not None:
        clone.set_input_json(input_json)
    return json.loads(clone.eval_query_as_json(query))


class Compiled:
    """One regorus engine built from a :class:`CompileSpec` (lives in one thread)."""

    def __init__(self, spec: CompileSpec, parsed: Sequence[ParsedModule] | None = None) -> None:
        if parsed is None:
            parsed = spec.parsed if spec.parsed is not None else parse(spec.modules)
        self._spec = spec
        self._table: Mapping[str, Callable[..., Any]] = {}
        self._parsed = tuple(parsed)
        self.query_text = collection_query(parsed)
        self._queries: dict[frozenset[str], str] = {}
        engine = self._build(parsed)
        try:
            engine.add_data_json(spec.data_json)
        except RuntimeError as error:
            raise InputError(f"data rejected by the engine: {error_text(str(error))}") from None
        # regorus prepares an engine (rule index, schedules) at its first evaluation, and a
        # clone of an unprepared engine prepares again: 10-40 ms per evaluation for a large
        # policy. One trivial query here makes every clone start prepared.
        try:
            engine.eval_query_as_json("__konflux_warm := 1")
        except RuntimeError as error:
            raise _input_error(str(error), "<engine>") from None
        self._engine = engine
        self._folder: _folder.Folder | None = None
        if spec.fold is not None and (spec.fold.rules or spec.fold.memo.sites):
            texts = [module.module.text for module in parsed]

            def build(folded: Sequence[str], extra: Sequence[tuple[str, str]]) -> Any:
                engine = self._build(
                    [
                        dataclasses.replace(module, module=Module(module.module.path, text))
                        for module, text in zip(parsed, folded, strict=True)
                    ]
                )
                for path, text in extra:
                    engine.add_policy(path, text)
                return engine

            self._folder = _folder.Folder(
                engine, spec.fold, texts, spec.data_json, build, time.monotonic
            )

    def _build(self, parsed: Sequence[ParsedModule]) -> Any:
        """An engine with our extensions and these modules (no data yet)."""
        spec = self._spec
        engine = _new_engine()
        engine.set_gather_prints(True)  # Rego print() output is not ours to show on stderr
        for name, nargs in spec.signatures.items():
            engine.add_extension(_private(name), nargs, self._trampoline(name))
        if spec.compat:
            from konflux_supply.policy import compat

            for name, (nargs, function) in compat.extensions().items():
                engine.add_extension(name, nargs, function)
        for module in prepare(parsed, spec.signatures):
            try:
                engine.add_policy(module.path, module.text)
            except RuntimeError as error:
                raise _input_error(str(error), module.path) from None
        return engine

    @property
    def folded(self) -> int:
        """How many rules were evaluated once at load (``_fold``)."""
        return len(self._folder.rules) if self._folder is not None else 0

    def _trampoline(self, name: str) -> Callable[..., Any]:
        def call(*args: Any) -> Any:
            return _plain(self._table[name](*args))

        return call

    def _use_builtins(self, context: Any) -> None:
        if self._spec.builtins is None:
            return
        table = self._spec.builtins.table(context)
        if set(table) != set(self._spec.signatures):
            raise PolicyError("the builtins factory returned other names than at load time")
        self._table = {name: fn for name, (_nargs, fn) in table.items()}

    def _evaluate(self, query: str, input_json: str | None, context: Any) -> Any:
        self._use_builtins(context)
        try:
            base = self._folder.current() if self._folder is not None else self._engine
            try:
                answer = run_query(base, query, input_json)
            except RuntimeError as error:
                if base is self._engine:
                    raise PolicyError(
                        f"policy evaluation failed: {error_text(str(error))}"
                    ) from None
                # The folded engine failed. A memo table computes a function for elements no
                # caller asked about (ADR 0085): the policy as written decides, and its error,
                # if any, names the author's line.
                try:
                    answer = run_query(self._engine, query, input_json)
                except RuntimeError as again:
                    raise PolicyError(
                        f"policy evaluation failed: {error_text(str(again))}"
                    ) from None
        finally:
            self._table = {}
        results = answer.get("result") or []
        if not results:
            return None
        return results[0]["expressions"][0]["value"]

    def collect(self, input_json: str, context: Any = None) -> EngineResult:
        """Every package's deny/warn elements for this input."""
        return self._collect(self.query_text, input_json, context)

    def collect_some(
        self, input_json: str, packages: frozenset[str], context: Any = None
    ) -> EngineResult:
        """The deny/warn elements of ``packages`` only (the others are not evaluated)."""
        query = self._queries.get(packages)
        if query is None:
            query = self._queries[packages] = collection_query(self._parsed, packages)
        return self._collect(query, input_json, context)

    def _collect(self, query: str, input_json: str, context: Any) -> EngineResult:
        value = self._evaluate(query, input_json, context)
        if not isinstance(value, dict):
            raise PolicyError("policy evaluation gave no result for the collection query")
        return merge_collected(value)

    def query(self, ref: str, input_json: str | None = None, context: Any = None) -> Any:
        """The value of ``ref`` (``None`` when undefined)."""
        return self._evaluate(ref, input_json, context)
