"""``konflux-supply policy lint``: the annotations a release policy library must carry.

Checks, one :class:`Problem` (``file:line: message``) each:

* every ``deny``/``warn``/``violation`` rule has a ``# METADATA`` block with ``title``,
  ``description``, ``custom.short_name``, ``custom.failure_msg``, ``custom.solution`` and a
  non-empty ``custom.collections``; no two rules share a code; ``custom.depends_on`` names codes
  that exist;
* every collection a rule names is **declared**. Two conventions declare a collection:
  a package annotation listing it under ``custom.collections_declared`` (a list), or, as
  Conforma's library does, a package named ``….collection.<name>`` (its package annotation's
  title and description document the collection);
* every rule-data key read with a literal key — ``rule_data("key")``, ``lib.rule_data("key")``
  or ``rule_data.get("key")`` — is **documented** in some package annotation's
  ``custom.rule_data``: a list of keys, or a mapping ``key: description``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from konflux_supply.errors import InputError
from konflux_supply.policy.annotations import (
    ModuleAnnotations,
    package_infos,
    parse_module,
    rule_infos,
)
from konflux_supply.policy.engine import Module

__all__ = ["Problem", "lint"]

_RULE_DATA_READ = re.compile(r"\brule_data(?:\.get)?\(\s*\"((?:[^\"\\]|\\.)+)\"")
_REQUIRED_CUSTOM = ("short_name", "failure_msg", "solution")


@dataclass(frozen=True, order=True)
class Problem:
    """One lint finding."""

    file: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}"


def _from_error(error: InputError, path: str) -> Problem:
    source = error.source or path
    file, _, line = source.rpartition(":")
    where = f"{error.field}: " if error.field else ""
    if file and line.isdigit():
        return Problem(file, int(line), where + error.message)
    return Problem(source, 0, where + error.message)


def _declared_collections(parsed: Iterable[ModuleAnnotations]) -> set[str]:
    declared = set()
    for module in parsed:
        segments = module.package.split(".")
        if len(segments) >= 2 and segments[-2] == "collection":
            declared.add(segments[-1])
    for info in package_infos(parsed):
        declared.update(info.collections_declared)
    return declared


def lint(modules: Iterable[Module]) -> list[Problem]:
    """Every problem found in ``modules`` (sorted by file and line; empty when clean)."""
    problems: list[Problem] = []
    parsed: list[ModuleAnnotations] = []
    sources = list(modules)
    for module in sources:
        try:
            parsed.append(parse_module(module))
        except InputError as error:
            problems.append(_from_error(error, module.path))
    for annotated in parsed:
        for name, line, annotation in annotated.deny_warn_rules:
            if annotation is None:
                problems.append(Problem(annotated.path, line, f"rule {name} has no METADATA"))
                continue
            missing = [key for key in ("title", "description") if not getattr(annotation, key)]
            missing += [
                f"custom.{key}" for key in _REQUIRED_CUSTOM if not annotation.custom.get(key)
            ]
            if not annotation.custom.get("collections"):
                missing.append("custom.collections")
            if missing:
                problems.append(
                    Problem(annotated.path, line, f"rule {name} lacks {', '.join(missing)}")
                )
    try:
        infos = rule_infos(parsed)
        documented: set[str] = set()
        for package in package_infos(parsed):
            documented.update(package.rule_data)
    except InputError as error:
        problems.append(_from_error(error, ""))
        return sorted(problems)
    declared = _declared_collections(parsed)
    for info in infos.values():
        for collection in info.collections:
            if collection not in declared:
                problems.append(
                    Problem(
                        info.file,
                        info.line,
                        f"{info.code}: collection {collection!r} is "
                        "not declared (custom.collections_declared or a collection.<name> "
                        "package)",
                    )
                )
        for code in info.depends_on:
            if code not in infos:
                problems.append(
                    Problem(
                        info.file, info.line, f"{info.code}: depends_on names unknown rule {code!r}"
                    )
                )
    for module in sources:
        for number, text in enumerate(module.text.splitlines(), start=1):
            if text.lstrip().startswith("#"):
                continue
            for match in _RULE_DATA_READ.finditer(text):
                if match.group(1) not in documented:
                    problems.append(
                        Problem(
                            module.path,
                            number,
                            f"rule data key {match.group(1)!r} is not "
                            "documented (list it in a package annotation's custom.rule_data)",
                        )
                    )
    return sorted(set(problems))
