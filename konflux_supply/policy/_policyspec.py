"""The ECP spec in the order Conforma's report writes it (Go struct order, ``omitempty``).

The report's ``policy`` is the ``EnterpriseContractPolicySpec`` Go struct marshalled again,
so its keys come in the struct's order whatever order the ECP file used, and empty
optional strings and lists disappear. Keys this table does not know are kept, after the
known ones, in the order given. ``ruleData`` is raw JSON in Go and keeps its own order.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["canonical"]

# (key, kind): "s" string omitempty, "l" list omitempty, "r" required string,
# "o" object pointer (kept when present), "raw" raw JSON, or a nested table name.
_Table = tuple[tuple[str, str], ...]
_TABLES: dict[str, _Table] = {
    "spec": (
        ("name", "s"),
        ("description", "s"),
        ("sources", "[source"),
        ("configuration", "configuration"),
        ("rekorUrl", "s"),
        ("publicKey", "s"),
        ("identity", "identity"),
    ),
    "source": (
        ("name", "s"),
        ("policy", "l"),
        ("data", "l"),
        ("ruleData", "raw"),
        ("config", "sourceconfig"),
        ("volatileConfig", "volatile"),
    ),
    "configuration": (("exclude", "l"), ("include", "l"), ("collections", "l")),
    "sourceconfig": (("exclude", "l"), ("include", "l")),
    "volatile": (("exclude", "[criteria"), ("include", "[criteria")),
    "criteria": (
        ("value", "r"),
        ("effectiveOn", "s"),
        ("effectiveUntil", "s"),
        ("imageRef", "s"),
        ("imageDigest", "s"),
        ("imageUrl", "s"),
        ("componentNames", "l"),
        ("reference", "s"),
    ),
    "identity": (
        ("subject", "s"),
        ("subjectRegExp", "s"),
        ("issuer", "s"),
        ("issuerRegExp", "s"),
    ),
}


def _value(kind: str, value: Any) -> tuple[bool, Any]:
    """(keep, value) for one field of ``kind``."""
    if kind in ("s", "l"):
        return bool(value), value
    if kind in ("r", "raw"):
        return value is not None or kind == "r", value
    if value is None:
        return False, None
    if kind.startswith("["):
        if not value:
            return False, None
        if isinstance(value, list):
            return True, [_ordered(kind[1:], item) for item in value]
        return True, value
    return True, _ordered(kind, value)


def _ordered(table: str, document: Any) -> Any:
    if not isinstance(document, Mapping):
        return document
    out: dict[str, Any] = {}
    known = _TABLES[table]
    for key, kind in known:
        if key in document or kind == "r":
            keep, value = _value(kind, document.get(key, ""))
            if keep:
                out[key] = value
    names = {key for key, _ in known}
    out.update({k: v for k, v in document.items() if k not in names})
    return out


def canonical(spec: Mapping[str, Any]) -> Any:
    """The ECP spec as Conforma's report prints it."""
    return _ordered("spec", spec)
