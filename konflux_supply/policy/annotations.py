"""``# METADATA`` annotations of Rego modules, read from the source text (as ``opa inspect``).

A block is a ``# METADATA`` comment line followed by comment lines holding YAML; it describes
the statement right after it: a rule (scope ``rule``, the default before a rule) or the package
(before the ``package`` line, or ``scope: package`` / ``subpackages``; ``scope: document`` is
kept with the rule it precedes). The YAML is read as OPA reads it: a plain timestamp or date
becomes the RFC 3339 text Go prints (``effective_on: 2025-07-01`` is ``2025-07-01T00:00:00Z``,
as Conforma sees it); everything else keeps its JSON type.

:func:`rule_infos` returns the deny/warn rules as :class:`RuleInfo` keyed by their code, which
is the last package segment, a dot, and ``custom.short_name`` (Conforma's ``attestation_type.
known_attestation_type``); two rules with the same code are an error. Package annotations give
:class:`PackageInfo` (title, description, declared collections, documented rule data; see
:mod:`konflux_supply.policy.lint` for the conventions).
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import yaml

from konflux_supply.errors import InputError
from konflux_supply.policy._compat_metadata import OpaYamlLoader
from konflux_supply.policy.engine import Module

__all__ = [
    "Annotation",
    "ModuleAnnotations",
    "PackageInfo",
    "RuleInfo",
    "package_infos",
    "parse_module",
    "rule_infos",
]

_SCOPES = frozenset({"rule", "document", "package", "subpackages"})
_PACKAGE = re.compile(r"^\s*package\s+([^\s#]+)")
_RULE_HEAD = re.compile(r"^(?:default\s+)?([A-Za-z_][A-Za-z0-9_]*)")
_DENY_WARN = re.compile(
    r"^(?P<name>(?:deny|violation|warn)(?:_\w+)?)(?=\s*(?:contains\b|\[|if\b|:=|=|\{))"
)
_SEGMENT = re.compile(r'\.?([A-Za-z_][A-Za-z0-9_]*)|\["((?:[^"\\]|\\.)*)"\]')


_Loader = OpaYamlLoader


@dataclass(frozen=True)
class Annotation:
    """One ``# METADATA`` block: ``line`` is the ``# METADATA`` line, ``target`` the rule name
    (or the package path for package scope) and ``target_line`` the statement's line."""

    scope: str
    title: str | None
    description: str | None
    custom: Mapping[str, Any]
    file: str
    line: int
    target: str
    target_line: int


@dataclass(frozen=True)
class RuleInfo:
    """A deny/warn rule as Conforma reports it (``code`` = ``<last pkg segment>.<short_name>``)."""

    package: str
    short_name: str
    code: str
    kind: Literal["deny", "warn"]
    title: str | None
    description: str | None
    failure_msg: str | None
    solution: str | None
    collections: tuple[str, ...]
    depends_on: tuple[str, ...]
    effective_on: str | None
    severity: str | None
    pipeline_intention: tuple[str, ...]
    file: str
    line: int


@dataclass(frozen=True)
class PackageInfo:
    """A package annotation: what the package is, collections it declares, rule data it reads."""

    package: str
    title: str | None
    description: str | None
    collections_declared: tuple[str, ...]
    rule_data: Mapping[str, str]
    custom: Mapping[str, Any]
    file: str
    line: int


@dataclass(frozen=True)
class ModuleAnnotations:
    """Everything :func:`parse_module` finds in one module."""

    path: str
    package: str
    package_line: int
    package_annotations: tuple[Annotation, ...]
    rule_annotations: tuple[Annotation, ...]
    #: every deny/warn rule head: (rule name, line, its annotation or None)
    deny_warn_rules: tuple[tuple[str, int, Annotation | None], ...] = field(default=())


def package_path(text: str) -> str:
    """``a.b["c-d"]`` as ``a.b.c-d`` (the dotted form used in codes and engine results)."""
    segments = []
    position = 0
    while position < len(text):
        match = _SEGMENT.match(text, position)
        if match is None:
            return text
        segments.append(match.group(1) or match.group(2))
        position = match.end()
    return ".".join(segments)


def _strings(value: Any, where: str, source: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return tuple(value)
    raise InputError("expected a list of strings", field=where, source=source)


def _string(value: Any, where: str, source: str) -> str | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, int | float | bool):
        return str(value)
    raise InputError("expected a string", field=where, source=source)


def _block(path: str, start: int, lines: list[str]) -> tuple[dict[str, Any], int]:
    """Parse the YAML of the block whose ``# METADATA`` line is ``lines[start]``."""
    body = []
    index = start + 1
    while index < len(lines) and lines[index].lstrip().startswith("#"):
        body.append(lines[index].lstrip()[1:])
        index += 1
    source = f"{path}:{start + 1}"
    try:
        loaded = yaml.load(textwrap.dedent("\n".join(body)), Loader=_Loader)
    except yaml.YAMLError as error:
        message = f"METADATA is not valid YAML: {error}".split("\n")[0]
        raise InputError(message, source=source) from None
    if loaded is None:
        loaded = {}
    if not isinstance(loaded, dict):
        raise InputError("METADATA must be a YAML mapping", source=source)
    return loaded, index


def parse_module(module: Module) -> ModuleAnnotations:
    """Every annotation of ``module`` (``InputError`` with file and line on malformed YAML)."""
    lines = module.text.splitlines()
    package, package_line = "", 0
    packages: list[Annotation] = []
    rules: list[Annotation] = []
    heads: list[tuple[str, int, Annotation | None]] = []
    pending: Annotation | None = None
    index = 0
    while index < len(lines):
        line = lines[index]
        stripped = line.strip()
        if stripped == "# METADATA":
            raw, next_index = _block(module.path, index, lines)
            while next_index < len(lines) and not lines[next_index].strip():
                next_index += 1
            pending = _annotation(module.path, index + 1, raw, lines, next_index)
            (packages if pending.scope in ("package", "subpackages") else rules).append(pending)
            if pending.scope in ("package", "subpackages"):
                pending = None
            index = next_index
            continue
        match = _PACKAGE.match(line)
        if match and not package:
            package, package_line = package_path(match.group(1)), index + 1
        head = _DENY_WARN.match(line)
        if head:
            attached = pending if pending is not None and pending.target_line == index + 1 else None
            heads.append((head.group("name"), index + 1, attached))
        if stripped and not stripped.startswith("#"):
            pending = None
        index += 1
    packages = [
        Annotation(a.scope, a.title, a.description, a.custom, a.file, a.line, package, a.line)
        for a in packages
    ]
    return ModuleAnnotations(
        module.path, package, package_line, tuple(packages), tuple(rules), tuple(heads)
    )


def _annotation(
    path: str, line: int, raw: dict[str, Any], lines: list[str], target_index: int
) -> Annotation:
    source = f"{path}:{line}"
    target_text = lines[target_index] if target_index < len(lines) else ""
    is_package = _PACKAGE.match(target_text) is not None
    scope = raw.get("scope", "package" if is_package else "rule")
    if scope not in _SCOPES:
        raise InputError(f"unknown annotation scope {scope!r}", field="scope", source=source)
    custom = raw.get("custom") or {}
    if not isinstance(custom, dict):
        raise InputError("expected a mapping", field="custom", source=source)
    rule = _RULE_HEAD.match(target_text.strip()) if not is_package else None
    return Annotation(
        scope=str(scope),
        title=_string(raw.get("title"), "title", source),
        description=_string(raw.get("description"), "description", source),
        custom=custom,
        file=path,
        line=line,
        target=rule.group(1) if rule else "",
        target_line=target_index + 1,
    )


def _rule_info(package: str, name: str, annotation: Annotation) -> RuleInfo | None:
    custom = annotation.custom
    source = f"{annotation.file}:{annotation.line}"
    short_name = _string(custom.get("short_name"), "custom.short_name", source)
    if not short_name:
        return None
    return RuleInfo(
        package=package,
        short_name=short_name,
        code=f"{package.rsplit('.', 1)[-1]}.{short_name}",
        kind="warn" if name.startswith("warn") else "deny",
        title=annotation.title,
        description=annotation.description,
        failure_msg=_string(custom.get("failure_msg"), "custom.failure_msg", source),
        solution=_string(custom.get("solution"), "custom.solution", source),
        collections=_strings(custom.get("collections"), "custom.collections", source),
        depends_on=_strings(custom.get("depends_on"), "custom.depends_on", source),
        effective_on=_string(custom.get("effective_on"), "custom.effective_on", source),
        severity=_string(custom.get("severity"), "custom.severity", source),
        pipeline_intention=_strings(
            custom.get("pipeline_intention"), "custom.pipeline_intention", source
        ),
        file=annotation.file,
        line=annotation.target_line,
    )


def rule_infos(modules: Iterable[Module | ModuleAnnotations]) -> dict[str, RuleInfo]:
    """Every annotated deny/warn rule with a ``custom.short_name``, keyed by code."""
    found: dict[str, RuleInfo] = {}
    for item in modules:
        parsed = parse_module(item) if isinstance(item, Module) else item
        for name, _line, annotation in parsed.deny_warn_rules:
            if annotation is None:
                continue
            info = _rule_info(parsed.package, name, annotation)
            if info is None:
                continue
            if info.code in found:
                first = found[info.code]
                raise InputError(
                    f"two rules with the code {info.code} (the other is at "
                    f"{first.file}:{first.line})",
                    source=f"{info.file}:{info.line}",
                )
            found[info.code] = info
    return found


def _rule_data(value: Any, source: str) -> dict[str, str]:
    if value is None:
        return {}
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return dict.fromkeys(value, "")
    if isinstance(value, dict) and all(isinstance(key, str) for key in value):
        return {key: "" if text is None else str(text) for key, text in value.items()}
    raise InputError(
        "expected a list of keys or a mapping key -> description",
        field="custom.rule_data",
        source=source,
    )


def package_infos(modules: Iterable[Module | ModuleAnnotations]) -> list[PackageInfo]:
    """Every package annotation (one :class:`PackageInfo` per block)."""
    infos = []
    for item in modules:
        parsed = parse_module(item) if isinstance(item, Module) else item
        for annotation in parsed.package_annotations:
            source = f"{annotation.file}:{annotation.line}"
            custom = annotation.custom
            infos.append(
                PackageInfo(
                    package=parsed.package,
                    title=annotation.title,
                    description=annotation.description,
                    collections_declared=_strings(
                        custom.get("collections_declared"), "custom.collections_declared", source
                    ),
                    rule_data=_rule_data(custom.get("rule_data"), source),
                    custom=custom,
                    file=annotation.file,
                    line=annotation.line,
                )
            )
    return infos
