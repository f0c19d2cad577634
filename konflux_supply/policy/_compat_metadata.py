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
import math
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
    """YAML as OPA reads annotations: only JSON types, plain scalars resolved as yaml.v3 does
    (``yes``/``on`` stay strings, ``0o17`` and ``1e3`` are numbers, ``1:20`` is a string),
    timestamps as Go prints them."""

    def construct_yaml_str(self, node: yaml.ScalarNode) -> Any:
        value = str(super().construct_yaml_str(node))
        if node.style is None:  # a plain scalar: yaml.v3 resolves it
            return go_scalar(value)
        return value


_TAGS_V3_RESOLVES = frozenset(
    "tag:yaml.org,2002:" + name for name in ("timestamp", "bool", "int", "float")
)
_SAFE_RESOLVERS = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
OpaYamlLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag not in _TAGS_V3_RESOLVES]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
OpaYamlLoader.add_constructor("tag:yaml.org,2002:str", OpaYamlLoader.construct_yaml_str)

_BOOLS = {"true": True, "True": True, "TRUE": True, "false": False, "False": False, "FALSE": False}
# Go's strconv.ParseInt(s, 0, 64) syntax (yaml.v3 drops underscores first)
_GO_INT = re.compile(r"^([+-]?)(0[bB][01]+|0[oO][0-7]+|0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)$")
_YAML_FLOAT = re.compile(r"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$")
_BASES = {"b": 2, "o": 8, "x": 16}


def go_scalar(text: str) -> Any:
    """A plain YAML scalar as yaml.v3 (OPA's annotation reader) resolves it: a bool, number or
    timestamp text, else the string itself (``null`` is left to the YAML loader)."""
    if text in _BOOLS:
        return _BOOLS[text]
    if not text:
        return text
    if text[0] == ".":
        if _YAML_FLOAT.match(text) and not math.isinf(float(text)):
            return float(text)
        return text  # .inf/.nan: OPA cannot represent them either
    if not (text[0].isdigit() and text[0].isascii()) and text[0] not in "+-":
        return text
    stamp = go_timestamp(text)
    if stamp is not None:
        return stamp
    plain = text.replace("_", "")
    found = _GO_INT.match(plain)
    if found is not None:
        sign, digits = found.groups()
        if len(digits) > 1 and digits[1] in "bBoOxX":
            number = int(digits[2:], _BASES[digits[1].lower()])
        else:
            number = int(digits, 8) if digits.startswith("0") else int(digits)
        number = -number if sign == "-" else number
        if -(2**63) <= number < 2**63 or (not sign and 0 <= number < 2**64):
            return number
    if _YAML_FLOAT.match(plain):
        number_f = float(plain)
        if not math.isinf(number_f):
            return number_f
    return text


class DataYamlLoader(yaml.SafeLoader):
    """YAML data documents: only JSON types, timestamps kept as the text written."""


DataYamlLoader.yaml_implicit_resolvers = _SAFE_RESOLVERS

# the layouts yaml.v3 tries on a plain scalar (2006-1-2T15:4:5.999999999Z07:00, the same with
# a lower-case t, 2006-1-2 15:4:5.999999999 in UTC, and 2006-1-2)
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
