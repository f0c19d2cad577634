"""Conforma's release policy (``policy/lib`` + ``policy/release``) on regorus, through compat.

Used by the conformance checks (acceptance scenarios, known-bad inputs) and the benchmark, and
a model of what the engine does in ``validate``: the modules are prepared and compiled once;
each component clones the compiled engine (about a microsecond), sets its input and asks one
query for every package's ``deny`` and ``warn``.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from konflux_supply.policy import _compat_metadata, _conformance, _fold, _folder, _regorus, compat

_PACKAGE = re.compile(r"^package\s+([\w.]+)", re.MULTILINE)
_RULE = re.compile(r"^(deny|warn)\s+contains\b", re.MULTILINE)


def release_modules(root: Path) -> list[tuple[str, str]]:
    """The non-test modules of ``policy/lib`` and ``policy/release`` (paths relative to root)."""
    out = []
    for tree in ("policy/lib", "policy/release"):
        for path in sorted((root / tree).rglob("*.rego")):
            if not path.name.endswith("_test.rego"):
                out.append((str(path.relative_to(root)), path.read_text()))
    return out


def example_data(root: Path) -> dict[str, Any]:
    """Every YAML/JSON file of ``example/data`` merged at the root (as a Conforma data source)."""
    merged: dict[str, Any] = {}
    for path in sorted((root / "example" / "data").iterdir()):
        if path.suffix in (".yml", ".yaml"):
            value = yaml.load(path.read_text(), Loader=_compat_metadata.DataYamlLoader)
        elif path.suffix == ".json":
            value = json.loads(path.read_text())
        else:
            continue
        if isinstance(value, dict):
            _merge(merged, value)
    return merged


def _merge(into: dict[str, Any], value: Mapping[str, Any]) -> None:
    """Deep merge of data documents (objects merge key by key, as OPA's data loader)."""
    for key, item in value.items():
        if isinstance(item, Mapping) and isinstance(into.get(key), dict):
            _merge(into[key], item)
        else:
            into[key] = item


def collected_packages(modules: Sequence[tuple[str, str]]) -> dict[str, set[str]]:
    """``{package: {"deny", "warn"}}`` for every package defining such rules."""
    found: dict[str, set[str]] = {}
    for _path, text in modules:
        package = _PACKAGE.search(text)
        rules = set(_RULE.findall(text))
        if package and rules:
            found.setdefault(package.group(1), set()).update(rules)
    return found


def _query(packages: Mapping[str, set[str]]) -> str:
    parts = []
    for package, rules in sorted(packages.items()):
        ref = "data." + package
        inner = ", ".join(
            f'"{rule}": [x | some x in {ref}.{rule}]' for rule in ("deny", "warn") if rule in rules
        )
        parts.append(f'"{package}": {{{inner}}}')
    return "result := {" + ", ".join(parts) + "}"


class ReleasePolicy:
    """The upstream release policy compiled once; :meth:`evaluate` per component input."""

    def __init__(
        self,
        modules: Sequence[tuple[str, str]],
        data: Mapping[str, Any],
        builtins: Mapping[str, tuple[int, Callable[..., Any]]] | None = None,
        *,
        fold: bool = True,
    ) -> None:
        import regorus

        table = dict(builtins if builtins is not None else _conformance.offline_builtins())

        def build(texts: Sequence[str], extra: Sequence[tuple[str, str]] = ()) -> Any:
            engine = regorus.Engine()
            engine.set_policy_length_config(
                max_col=1_000_000, max_file_bytes=64 << 20, max_lines=10**6
            )
            for name, (nargs, function) in compat.extensions().items():
                engine.add_extension(name, nargs, function)
            for name, (nargs, function) in table.items():
                private = _conformance._PRIVATE + name.replace(".", "__")
                engine.add_extension(private, nargs, function)
            for (path, _old), text in zip(loaded, texts, strict=True):
                engine.add_policy(path, text)
            for path, text in extra:
                engine.add_policy(path, text)
            return engine

        signatures = {name: nargs for name, (nargs, _fn) in table.items()}
        loaded = [
            *compat.prepare(modules, routed=signatures),
            *_conformance.ec_support_module(signatures),
        ]
        texts = [text for _path, text in loaded]
        data_json = json.dumps(data)
        engine = build(texts)
        engine.add_data_json(data_json)
        engine.eval_query_as_json("__warm := 1")  # clones of a prepared engine start prepared
        self.folder: _folder.Folder | None = None
        if fold:
            trees = [tree["ast"] for tree in json.loads(engine.get_ast_as_json())]
            plan = _fold.plan(
                trees,
                texts,
                builtins=_regorus.standard_builtins(),
                pure_extension_prefixes=(compat.EXTENSION_PREFIX,),
            )
            self.folder = _folder.Folder(engine, plan, texts, data_json, build, time.monotonic)
        self._engine = engine
        self.packages = collected_packages(modules)
        self._query = _query(self.packages)

    @classmethod
    def from_checkout(cls, root: Path, **kwargs: Any) -> ReleasePolicy:
        """The release policy of an upstream checkout with ``example/data`` as its data."""
        return cls(release_modules(root), example_data(root), **kwargs)

    def evaluate(self, input_json: str) -> dict[str, dict[str, list[Any]]]:
        """``{package: {"deny": [...], "warn": [...]}}`` for one component's input."""
        current = self.folder.current() if self.folder is not None else self._engine
        try:
            answer = _regorus.run_query(current, self._query, input_json)
        except RuntimeError:
            if current is self._engine:
                raise
            answer = _regorus.run_query(
                self._engine, self._query, input_json
            )  # as written decides (ADR 0085)
        results = answer.get("result") or []
        if not results:
            raise RuntimeError("the collection query gave no result")
        value: dict[str, dict[str, list[Any]]] = results[0]["bindings"]["result"]
        return value


def rule_catalog(modules: Sequence[tuple[str, str]]) -> dict[str, dict[str, Any]]:
    """``{code: {"package", "kind", "collections"}}`` from the rules' ``# METADATA``."""
    catalog: dict[str, dict[str, Any]] = {}
    for _path, text in modules:
        package = _PACKAGE.search(text)
        if package is None:
            continue
        lines = text.splitlines()
        for match in _RULE.finditer(text):
            line = text.count("\n", 0, match.start()) + 1
            raw = _compat_metadata.block_above(lines, line) or {}
            custom = raw.get("custom") or {}
            if "short_name" not in custom:
                continue
            name = package.group(1)
            code = f"{name.rsplit('.', 1)[-1] if '.' not in name else name.split('.', 1)[1]}"
            code = f"{name}.{custom['short_name']}"
            catalog[code] = {
                "package": name,
                "kind": match.group(1),
                "collections": list(custom.get("collections") or []),
            }
    return catalog
