"""Compatibility layer: run Rego written for OPA/Conforma (``ec``) on the embedded engine.

regorus 0.13 cannot run Conforma's policy library as written (reference/conforma.md §6). This
module makes it, without changing what the policies mean:

- :func:`prepare` rewrites module sources when they are loaded (line numbers kept):
  ``rego.metadata.chain()`` / ``rule()`` inlined from ``# METADATA`` in OPA's shape, import
  aliases resolved to ``data.…`` references, ``ec.*`` calls routed through ``data.ec.*`` Rego
  functions (so ``with ec.oci.blob as mock`` works), calls of the builtins in
  :func:`overrides` and of type-guarded builtins routed to the support package,
  output-argument calls ``f(x, out)`` turned into ``out = f(x)``, locals that shadow imports
  or rules renamed, ``with`` values hoisted out of the ``with`` scope, ``some x in E`` guarded
  against non-collections; the support module is appended to the result. The full list, and
  why each is needed: docs/conforma-compatibility.md.
- :func:`extensions` are the Python functions behind the support package, registered under
  private names (nothing shadows a standard builtin); :func:`overrides` are the same
  functions under the builtin names they replace, for tests and documentation.
- :func:`untrusted_packages` turns a conformance run into the packages whose own tests do not
  pass on this engine: rules from those packages must be reported as errors, never as a pass
  (ADR 0059).

Usage by an engine::

    for name, (nargs, fn) in compat.extensions().items():
        engine.add_extension(name, nargs, fn)
    for path, text in compat.prepare(modules, routed={"ec.oci.blob": 1, ...}):
        engine.add_policy(path, text)
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from konflux_supply.policy import _compat_ast, _compat_builtins, _compat_rewrite, _compat_support

#: What an override returns for a defined ``null`` (``None`` means undefined).
NULL = _compat_builtins.NULL

__all__ = [
    "EXTENSION_PREFIX",
    "NULL",
    "SUPPORT_MODULE_PATH",
    "SUPPORT_PACKAGE",
    "extensions",
    "load_untrusted",
    "overrides",
    "prepare",
    "untrusted_packages",
    "uses_conforma_idioms",
]

#: Package of the Rego functions that front the overridden builtins.
SUPPORT_PACKAGE = _compat_support.SUPPORT_PACKAGE
#: Path (used in error messages) of the support module :func:`prepare` appends.
SUPPORT_MODULE_PATH = "<konflux-supply compat>"
#: Prefix of the private extension names behind the support package.
EXTENSION_PREFIX = "konflux_compat_ext__"

_Function = tuple[int, Callable[..., Any]]


def overrides() -> dict[str, _Function]:
    """``{builtin name: (nargs, fn)}``: OPA-exact versions.

    ``fn`` returns ``None`` for *undefined* and :data:`NULL` for a defined ``null``.
    """
    return dict(_compat_builtins.OVERRIDES)


def _boxed(function: Callable[..., Any]) -> Callable[..., Any]:
    def call(*args: Any) -> list[Any]:
        try:
            value = function(*args)
        except (ValueError, TypeError, KeyError, IndexError, OverflowError):
            return []
        if value is _compat_builtins.NULL:
            return [None]
        return [] if value is None else [_plain(value)]

    return call


def _plain(value: Any) -> Any:
    if isinstance(value, set | frozenset):
        from konflux_supply.policy._compat_sprintf import sort_key

        return [_plain(item) for item in sorted(value, key=sort_key)]
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    return value


#: Pure overrides worth remembering across evaluations (name: entries kept). Conforma validates
#: its rule data (large, the same for every component) with JSON schemas and parses every
#: trusted task's dates on every evaluation.
_MEMOISED = {"json.match_schema": 64, "json.verify_schema": 64, "time.parse_rfc3339_ns": 16384}


def _memoised(function: Callable[..., Any], size: int) -> Callable[..., Any]:
    from collections import OrderedDict

    memo: OrderedDict[str, list[Any]] = OrderedDict()

    def call(*args: Any) -> list[Any]:
        try:
            # regorus hands objects over with sorted keys: equal values, equal text
            key = json.dumps(args, separators=(",", ":"))
        except (TypeError, ValueError):
            return list(function(*args))
        found = memo.get(key)
        if found is None:
            found = function(*args)
            memo[key] = found
            if len(memo) > size:
                memo.popitem(last=False)
        else:
            memo.move_to_end(key)
        return found  # the engine copies it into its own values; nobody mutates it

    return call


def extensions() -> dict[str, _Function]:
    """``{private extension name: (nargs, fn)}`` to register on every engine that runs
    :func:`prepare`'d modules. Each returns ``[value]`` or ``[]`` (undefined). Schema
    validation results are remembered (keyed by the arguments' JSON) for the life of the
    returned table (schema validation, RFC 3339 parsing)."""
    return {
        EXTENSION_PREFIX + _compat_support.mangle(name): (
            nargs,
            _memoised(_boxed(function), _MEMOISED[name]) if name in _MEMOISED else _boxed(function),
        )
        for name, (nargs, function) in _compat_builtins.OVERRIDES.items()
    }


def support_module() -> tuple[str, str]:
    """The Rego module fronting :func:`extensions` (``data.konflux_compat.*``)."""
    signatures = {name: nargs for name, (nargs, _fn) in _compat_builtins.OVERRIDES.items()}
    return SUPPORT_MODULE_PATH, _compat_support.support_module(signatures, EXTENSION_PREFIX)


def prepare(
    modules: Sequence[tuple[str, str]],
    *,
    routed: Mapping[str, int] | None = None,
) -> list[tuple[str, str]]:
    """Modules as regorus must get them, plus the support module (last).

    ``routed`` names custom builtins (``{"ec.oci.blob": 1, ...}``) whose roots are rewritten
    to ``data.<root>`` references; the engine defines them as Rego functions. By default the
    ``ec`` root is routed. A module regorus cannot parse is returned unchanged (the engine
    reports it with its line).
    """
    import regorus

    parsed: list[_compat_ast.ParsedModule | None] = []
    for path, text in modules:
        engine = regorus.Engine()
        engine.set_policy_length_config(max_col=1_000_000, max_file_bytes=64 << 20, max_lines=10**6)
        try:
            engine.add_policy(path, text)
        except RuntimeError:
            parsed.append(None)
            continue
        ast = json.loads(engine.get_ast_as_json())[0]["ast"]
        parsed.append(_compat_ast.summarise(path, text, ast))
    good = [module for module in parsed if module is not None]
    _compat_ast.mark_duplicate_functions(good)
    arities = _compat_ast.arities(good)
    signatures = {name: nargs for name, (nargs, _fn) in _compat_builtins.OVERRIDES.items()}
    for name, nargs in signatures.items():
        arities[("data", SUPPORT_PACKAGE, _compat_support.mangle(name))] = nargs
    for name, (nargs, _condition) in _compat_support.GUARDS.items():
        arities[("data", SUPPORT_PACKAGE, _compat_support.mangle(name))] = nargs
    roots = {"ec"}
    for name, nargs in (routed or {}).items():
        roots.add(name.split(".", 1)[0])
        arities[("data", *name.split("."))] = nargs
    program = _compat_ast.Program(
        arities=arities,
        package_annotations=_compat_ast.package_annotations(good),
        routed_roots=frozenset(roots),
        overrides=signatures,
        collections=_compat_ast.collection_valued(good),
    )
    out = []
    for (path, text), module in zip(modules, parsed, strict=True):
        out.append((path, text if module is None else _compat_rewrite.rewrite(module, program)))
    out.append(support_module())
    return out


def untrusted_packages(results: Iterable[Mapping[str, Any]]) -> set[str]:
    """Packages whose own upstream tests did not all pass on this engine.

    ``results`` are conformance results (``{"package": "release.cve_test" | "cve_test",
    "status": "pass" | "fail" | "error", ...}``, as ``scripts/conforma-conformance --output
    json`` writes them). A test package ``x_test`` vouches for package ``x``; any test that is
    not a pass makes ``x`` untrusted. Rules from an untrusted package must be reported as an
    error for the component, never counted as a pass (ADR 0059).
    """
    untrusted: set[str] = set()
    for result in results:
        if result.get("status") == "pass":
            continue
        package = str(result.get("package", ""))
        untrusted.add(package.removesuffix("_test"))
    return untrusted


# Conforma's idioms: OPA's metadata builtins, or its library's layout (``import data.lib`` /
# ``import data.lib.<name>``), outside comments.
_IDIOM = re.compile(
    r"^[^#\n]*?(?:\brego\.metadata\.(?:chain|rule)\s*\(|^\s*import\s+data\.lib(?:\.[\w.]+)?\b)",
    re.MULTILINE,
)


def uses_conforma_idioms(texts: Iterable[str]) -> bool:
    """Whether Rego sources need :func:`prepare` to run as OPA runs them.

    True when any source (outside ``#`` comments) calls ``rego.metadata.chain()`` or
    ``rego.metadata.rule()``, or imports ``data.lib`` or a package under it (the layout of
    Conforma's policy library). A text match, so cheap and deterministic; the ``auto`` mode of
    ``validate image --conforma-compat`` uses it per source group.
    """
    return any(_IDIOM.search(text) for text in texts)


def load_untrusted(path: str, *, max_bytes: int = 16 << 20) -> frozenset[str]:
    """The untrusted packages listed in a file: a JSON array of package names (what
    ``scripts/conforma-conformance --untrusted FILE`` writes) or a conformance summary with
    ``results`` (``--output json``). ``InputError`` when it is neither."""
    from pathlib import Path

    from konflux_supply.errors import InputError

    try:
        raw = Path(path).read_bytes()[: max_bytes + 1]
    except OSError as error:
        raise InputError(f"cannot read: {error.strerror}", source=path) from None
    if len(raw) > max_bytes:
        raise InputError("file too large", source=path)
    try:
        value = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise InputError("not JSON", source=path) from None
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return frozenset(value)
    results = value.get("results") if isinstance(value, dict) else None
    if isinstance(results, list) and all(isinstance(item, dict) for item in results):
        return frozenset(untrusted_packages(results))
    raise InputError(
        "expected a JSON array of package names or a conformance summary with results",
        source=path,
    )
