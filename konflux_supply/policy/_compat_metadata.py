"""``# METADATA`` blocks as OPA reads them, for inlining ``rego.metadata.chain()`` / ``rule()``.

OPA attaches a ``# METADATA`` comment block to the statement right below it: a rule (scope
``rule``) or the ``package`` line (scope ``package``). The YAML after the marker is read the way
OPA reads it (through JSON: timestamps and dates stay strings). ``rego.metadata.chain()`` is
``[{path, annotations}, ...]``: the active rule first (``annotations`` absent when the rule has
none), then the package entry when the package is annotated. ``rego.metadata.rule()`` is the
rule's annotations object, ``{}`` when it has none.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

import yaml

_MARKER = re.compile(r"^\s*#\s*METADATA\s*$")
_COMMENT = re.compile(r"^\s*#")

#: Annotation keys OPA keeps, in the order it emits them (JSON objects are unordered anyway).
_KEYS = (
    "scope",
    "title",
    "description",
    "related_resources",
    "authors",
    "organizations",
    "schemas",
    "entrypoint",
    "custom",
)


class _JsonishLoader(yaml.SafeLoader):
    """YAML as OPA reads annotations: no timestamp or date values, only JSON types."""


_JsonishLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


class AnnotationError(ValueError):
    """A ``# METADATA`` block that is not a YAML mapping (OPA refuses to compile it)."""


def block_above(lines: Sequence[str], line: int) -> dict[str, Any] | None:
    """The annotations of the statement on 1-based ``line``, or ``None`` without a block.

    The block is the comment lines directly above ``line``, from the last ``# METADATA`` marker.
    """
    index = line - 2
    start = None
    while index >= 0 and _COMMENT.match(lines[index]):
        if _MARKER.match(lines[index]):
            start = index
            break
        index -= 1
    if start is None:
        return None
    body = []
    for text in lines[start + 1 : line - 1]:
        stripped = text.lstrip()[1:]
        body.append(stripped[1:] if stripped.startswith(" ") else stripped)
    try:
        value = yaml.load("\n".join(body), Loader=_JsonishLoader)
    except yaml.YAMLError as error:
        raise AnnotationError(f"line {start + 1}: METADATA is not YAML: {error}") from None
    if value is None:
        value = {}
    if not isinstance(value, dict):
        raise AnnotationError(f"line {start + 1}: METADATA is not a mapping")
    return value


def normalise(raw: Mapping[str, Any], default_scope: str) -> dict[str, Any]:
    """OPA's annotations object: known keys only, ``scope`` always present."""
    out: dict[str, Any] = {"scope": raw.get("scope", default_scope)}
    for key in _KEYS[1:]:
        if key in raw and raw[key] is not None:
            out[key] = raw[key]
    return out


def chain(
    rule_path: Sequence[str],
    rule_annotations: Mapping[str, Any] | None,
    package_path: Sequence[str],
    package_annotations: Mapping[str, Any] | None,
) -> list[dict[str, Any]]:
    """``rego.metadata.chain()`` for a rule: the rule's entry, then its package's if annotated."""
    first: dict[str, Any] = {"path": ["data", *rule_path]}
    if rule_annotations is not None:
        first["annotations"] = dict(rule_annotations)
    entries = [first]
    if package_annotations is not None:
        entries.append({"path": ["data", *package_path], "annotations": dict(package_annotations)})
    return entries
