"""Load ``policies/`` into a regorus engine, list its ``test_*`` rules, read its annotations.

A local stand-in until ``konflux-supply policy test`` (engine branch) lands; it also serves as a
regression test of the embedded engine on our own library.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import json
import re
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import regorus

REPO = Path(__file__).resolve().parents[3]
POLICIES = REPO / "policies"
_PACKAGE = re.compile(r"^package\s+([\w.]+)", re.MULTILINE)
_TEST_RULE = re.compile(r"^(test_\w+)\b", re.MULTILINE)


@dataclass(frozen=True)
class RegoTest:
    package: str
    name: str
    file: Path

    @property
    def rule(self) -> str:
        return f"data.{self.package}.{self.name}"


def rego_files(*, tests: bool) -> list[Path]:
    """Every ``.rego`` file of ``policies/`` (with or without the ``_test.rego`` files)."""
    files = sorted(POLICIES.rglob("*.rego"))
    return [p for p in files if tests or not p.name.endswith("_test.rego")]


def package_of(text: str) -> str:
    match = _PACKAGE.search(text)
    assert match, "no package clause"
    return match.group(1)


def new_engine(*, tests: bool, data: dict[str, Any] | None = None) -> Any:
    """A regorus engine holding ``policies/`` (and ``data`` as the data document)."""
    engine = regorus.Engine()
    for path in rego_files(tests=tests):
        engine.add_policy(str(path.relative_to(REPO)), path.read_text())
    if data:
        engine.add_data_json(json.dumps(data))
    return engine


def rego_tests() -> list[RegoTest]:
    found: list[RegoTest] = []
    for path in rego_files(tests=True):
        if not path.name.endswith("_test.rego"):
            continue
        text = path.read_text()
        package = package_of(text)
        names = dict.fromkeys(_TEST_RULE.findall(text))
        found.extend(RegoTest(package, name, path) for name in names)
    return found


def release_packages() -> list[str]:
    """The packages under ``policies/release`` that hold rules (not the collections)."""
    packages = []
    for path in rego_files(tests=False):
        rel = path.relative_to(POLICIES)
        if rel.parts[0] == "release" and rel.parts[1] != "collection":
            packages.append(package_of(path.read_text()))
    return sorted(packages)


def evaluate(engine: Any, policy_input: dict[str, Any]) -> dict[str, dict[str, list[Any]]]:
    """``{package: {"deny": [...], "warn": [...]}}`` for every release package."""
    engine.set_input_json(json.dumps(policy_input))
    out: dict[str, dict[str, list[Any]]] = {}
    for package in release_packages():
        out[package] = {}
        for kind in ("deny", "warn"):
            value = json.loads(engine.eval_query_as_json(f"data.{package}.{kind}"))
            results = value.get("result", [])
            out[package][kind] = results[0]["expressions"][0]["value"] if results else []
    return out


def load_data(*directories: Path) -> dict[str, Any]:
    """The YAML/JSON files of ``directories`` merged at the root of one data document."""
    import yaml

    merged: dict[str, Any] = {}
    for directory in directories:
        for path in sorted(directory.iterdir()):
            if path.suffix not in {".yml", ".yaml", ".json"}:
                continue
            document = yaml.safe_load(path.read_text())
            assert isinstance(document, dict), path
            for key, value in document.items():
                if isinstance(value, dict) and isinstance(merged.get(key), dict):
                    merged[key] = {**merged[key], **value}
                else:
                    merged[key] = value
    return merged


def load_docs_script() -> ModuleType:
    """``scripts/gen-policy-docs`` as a module (its annotation reader is shared with the tests)."""
    path = REPO / "scripts" / "gen-policy-docs"
    loader = importlib.machinery.SourceFileLoader("gen_policy_docs", str(path))
    spec = importlib.util.spec_from_loader("gen_policy_docs", loader)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("gen_policy_docs", module)
    loader.exec_module(module)
    return sys.modules["gen_policy_docs"]


def first_line(error: BaseException) -> str:
    lines = [line for line in str(error).splitlines() if line.strip()]
    return " | ".join(lines[:4]) if lines else repr(error)


def ids(items: Iterable[RegoTest]) -> list[str]:
    return [f"{t.package}.{t.name}" for t in items]
