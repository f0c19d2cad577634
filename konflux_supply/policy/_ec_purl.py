"""``ec.purl.is_valid`` and ``ec.purl.parse``: package URLs (packageurl-python).

Shapes as Conforma's (packageurl-go): every component is a string (empty when absent) and
``qualifiers`` is a list of ``{"key", "value"}`` objects sorted by key. Per-type
normalisation (``pkg:pypi/Django_x`` → name ``django-x``) is the library's, as upstream's.
"""

from __future__ import annotations

from typing import Any

from packageurl import PackageURL

__all__ = ["is_valid", "parse"]

#: What a malformed purl makes the parser raise (it is not ours: be wide, but not blind).
_PARSE_ERRORS = (ValueError, TypeError, AttributeError, KeyError, IndexError, UnicodeError)


def _parse(text: Any) -> PackageURL | None:
    if not isinstance(text, str):
        return None
    try:
        return PackageURL.from_string(text)
    except _PARSE_ERRORS:
        return None


def is_valid(text: Any) -> bool:
    """``ec.purl.is_valid(purl)``: whether ``purl`` parses (``false`` for a non-string)."""
    return _parse(text) is not None


def _qualifiers(value: Any) -> list[dict[str, str]]:
    if not value:
        return []
    if isinstance(value, str):  # the library keeps an unparsed string in some paths
        pairs = [part.partition("=") for part in value.split("&") if part]
        items = {key: val for key, _, val in pairs if key and val}
    else:
        items = {str(k): str(v) for k, v in dict(value).items() if v not in (None, "")}
    return [{"key": key, "value": items[key]} for key in sorted(items)]


def parse(text: Any) -> dict[str, Any] | None:
    """``ec.purl.parse(purl)``: ``{type, namespace, name, version, qualifiers, subpath}``,
    undefined (``None``) when ``purl`` does not parse."""
    purl = _parse(text)
    if purl is None:
        return None
    return {
        "type": purl.type or "",
        "namespace": purl.namespace or "",
        "name": purl.name or "",
        "version": purl.version or "",
        "qualifiers": _qualifiers(purl.qualifiers),
        "subpath": purl.subpath or "",
    }
