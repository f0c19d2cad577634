"""``# METADATA`` blocks as OPA reads them, for inlining ``rego.metadata.chain()`` / ``rule()``.

OPA attaches a ``# METADATA`` comment block to the statement right below it: a rule (scope
``rule``) or the ``package`` line (scope ``package``). The YAML after the marker is read the way
OPA reads it (YAML through JSON: a plain timestamp or date becomes the RFC 3339 text Go prints
for it, ``2025-07-01`` → ``2025-07-01T00:00:00Z``). ``rego.metadata.chain()`` is
``[{path, annotations}, ...]``: the active rule first (``annotations`` absent when the rule has
none), then the package entry when the package is annotated. ``rego.metadata.rule()`` is the
rule's annotations object, ``{}`` when it has none.
"""

from __future__ import annotations

import datetime
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


class OpaYamlLoader(yaml.SafeLoader):
    """YAML as OPA reads annotations: only JSON types; timestamps as Go prints them."""

    def construct_yaml_str(self, node: yaml.ScalarNode) -> str:
        value = str(super().construct_yaml_str(node))
        if node.style is None:  # a plain scalar: yaml.v3 may read it as a timestamp
            return go_timestamp(value) or value
        return value


OpaYamlLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
OpaYamlLoader.add_constructor("tag:yaml.org,2002:str", OpaYamlLoader.construct_yaml_str)


# the layouts yaml.v3 tries on a plain scalar (2006-1-2T15:4:5.999999999Z07:00, the same with
# a lower-case t, 2006-1-2 15:4:5.999999999 in UTC, and 2006-1-2)
class DataYamlLoader(yaml.SafeLoader):
    """YAML data documents: only JSON types, timestamps kept as the text written."""


DataYamlLoader.yaml_implicit_resolvers = OpaYamlLoader.yaml_implicit_resolvers

_DATE = r"(\d{4})-(\d{1,2})-(\d{1,2})"
# Go reads a fraction after ``.`` or ``,`` with any number of digits (nanoseconds kept), and a
# space of the layout matches a run of spaces
_CLOCK = r"(\d{1,2}):(\d{1,2}):(\d{1,2})(?:[.,](\d+))?"
_TIMESTAMP = re.compile(rf"^{_DATE}(?:(?:[Tt]{_CLOCK}(Z|[+-]\d{{2}}:\d{{2}}))|(?: +{_CLOCK}))?$")


def go_timestamp(text: str) -> str | None:
    """``text`` as OPA's annotations carry a YAML timestamp (Go's RFC 3339 with nanoseconds),
    or ``None`` when yaml.v3 would keep it a string."""
    found = _TIMESTAMP.match(text)
    if found is None:
        return None
    year, month, day = (int(part) for part in found.group(1, 2, 3))
    if found.group(4) is not None:
        clock, fraction, zone = found.group(4, 5, 6), found.group(7), found.group(8)
    elif found.group(9) is not None:
        clock, fraction, zone = found.group(9, 10, 11), found.group(12), "Z"
    else:
        clock, fraction, zone = ("0", "0", "0"), None, "Z"
    hour, minute, second = (int(part) for part in clock)
    try:
        datetime.date(year, month, day)
    except ValueError:
        return None
    if hour > 23 or minute > 59 or second > 59:
        return None
    if zone not in ("Z", "z"):
        hours, minutes = int(zone[1:3]), int(zone[4:6])
        if hours > 23 or minutes > 59:
            return None
        zone = "Z" if hours == minutes == 0 else zone
    digits = (fraction or "")[:9].rstrip("0")
    stamp = f"{year:04d}-{month:02d}-{day:02d}T{hour:02d}:{minute:02d}:{second:02d}"
    return stamp + (f".{digits}" if digits else "") + zone


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
        value = yaml.load("\n".join(body), Loader=OpaYamlLoader)
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
