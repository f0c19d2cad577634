"""Standard Rego builtins with OPA's exact semantics where regorus 0.13 differs.

Each function takes Rego values as Python values and returns the value, ``NULL`` for a
defined ``null``, or ``None`` for *undefined*: OPA's default (non-strict) mode turns a
builtin error into undefined, where regorus aborts the whole query.
"""

from __future__ import annotations

import base64
import binascii
import calendar
import hashlib
import hmac
import json
import re
from collections.abc import Callable
from typing import Any

from konflux_supply.policy import _compat_schema, _compat_sprintf


class _Null:
    """A defined Rego ``null`` (``None`` means undefined)."""

    def __repr__(self) -> str:
        return "NULL"


#: Returned for a defined ``null``, where ``None`` would mean undefined.
NULL: Any = _Null()

_RFC3339 = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|([+-])(\d{2}):(\d{2}))$"
)
_NUMBER = re.compile(r"^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$")


def parse_rfc3339_ns(value: Any) -> int | None:
    """``time.parse_rfc3339_ns``: nanoseconds since the epoch; undefined when not RFC 3339."""
    if not isinstance(value, str):
        return None
    match = _RFC3339.match(value)
    if match is None:
        return None
    year, month, day, hour, minute, second = (int(match.group(i)) for i in range(1, 7))
    if not (1 <= month <= 12 and hour < 24 and minute < 60 and second < 60):
        return None
    leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
    days_in_month = [31, 29 if leap else 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1]
    if not 1 <= day <= days_in_month:
        return None
    fraction = int((match.group(7) or "").ljust(9, "0") or "0")
    offset = 0
    if match.group(8) != "Z":
        sign = -1 if match.group(9) == "-" else 1
        offset = sign * (int(match.group(10)) * 3600 + int(match.group(11)) * 60)
    seconds = calendar.timegm((year, month, day, hour, minute, second, 0, 0, 0)) - offset
    return seconds * 1_000_000_000 + fraction


_LAYOUT_TOKENS = [
    ("2006", r"(?P<year>\d{4})"),
    ("01", r"(?P<month>\d{2})"),
    ("02", r"(?P<day>\d{2})"),
    ("15", r"(?P<hour>\d{2})"),
    ("04", r"(?P<minute>\d{2})"),
    ("05", r"(?P<second>\d{2})"),
    ("Z07:00", r"(?P<zone>Z|[+-]\d{2}:\d{2})"),
    ("-07:00", r"(?P<zone>[+-]\d{2}:\d{2})"),
]


def parse_ns(layout: Any, value: Any) -> int | None:
    """``time.parse_ns`` for numeric Go layouts (``2006-01-02``, RFC 3339 shapes); else undefined.

    Go requires exactly the digits the layout shows (``2006`` = four), where regorus errors.
    """
    if not isinstance(layout, str) or not isinstance(value, str):
        return None
    pattern = ""
    rest = layout
    while rest:
        for token, regex in _LAYOUT_TOKENS:
            if rest.startswith(token) and f"(?P<{regex[4:].split('>')[0]}>" not in pattern:
                pattern += regex
                rest = rest[len(token) :]
                break
        else:
            if rest[0].isalnum() and rest[0] != "T":
                return None  # a layout element this subset does not know
            pattern += re.escape(rest[0])
            rest = rest[1:]
    match = re.fullmatch(pattern + r"(?P<fraction>\.\d{1,9})?", value)
    if match is None:
        return None
    parts = match.groupdict()
    text = "{}-{}-{}T{}:{}:{}{}{}".format(
        parts.get("year") or "0000",
        parts.get("month") or "01",
        parts.get("day") or "01",
        parts.get("hour") or "00",
        parts.get("minute") or "00",
        parts.get("second") or "00",
        parts.get("fraction") or "",
        parts.get("zone") or "Z",
    )
    return parse_rfc3339_ns(text)


def to_number(value: Any) -> int | float | None:
    """``to_number``: null → 0, booleans → 1/0, numeric strings parsed; undefined otherwise."""
    if value is None:
        return 0
    if isinstance(value, bool):
        return 1 if value else 0
    if isinstance(value, int | float):
        return value
    if not isinstance(value, str) or not _NUMBER.match(value):
        return None
    if re.fullmatch(r"[+-]?\d+", value):
        return int(value)
    number = float(value)
    return int(number) if number.is_integer() and abs(number) < 2**63 else number


def json_is_valid(value: Any) -> bool:
    """``json.is_valid``: ``false`` for anything that is not a string of valid JSON."""
    if not isinstance(value, str):
        return False
    try:
        json.loads(value)
    except ValueError:
        return False
    return True


def json_unmarshal(value: Any) -> Any:
    """``json.unmarshal``: undefined (not an error) for a non-string or invalid JSON."""
    if not isinstance(value, str):
        return None
    try:
        decoded = json.loads(value)
    except ValueError:
        return None
    return NULL if decoded is None else decoded


def _segments(path: Any) -> list[str] | None:
    if isinstance(path, str):
        trimmed = path.strip("/")
        if not trimmed:
            return []
        return [part.replace("~1", "/").replace("~0", "~") for part in trimmed.split("/")]
    if isinstance(path, list):
        return [json.dumps(p) if not isinstance(p, str) else p for p in path]
    return None


def json_remove(document: Any, paths: Any) -> Any:
    """``json.remove``: paths are JSON pointers (``/a/b``), ``a/b`` or arrays of segments."""
    if not isinstance(document, dict | list) or not isinstance(paths, list | set | frozenset):
        return None
    tree: dict[str, Any] = {}
    for path in paths:
        segments = _segments(path)
        if segments is None:
            return None
        if not segments:
            return None
        node = tree
        for segment in segments[:-1]:
            child = node.setdefault(segment, {})
            if child is True:
                break
            node = child
        else:
            node[segments[-1]] = True
    return _remove(document, tree)


def _remove(value: Any, tree: dict[str, Any]) -> Any:
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            rule = tree.get(key if isinstance(key, str) else json.dumps(key))
            if rule is True:
                continue
            out[key] = _remove(item, rule) if rule else item
        return out
    if isinstance(value, list):
        kept = []
        for index, item in enumerate(value):
            rule = tree.get(str(index))
            if rule is True:
                continue
            kept.append(_remove(item, rule) if rule else item)
        return kept
    return value


def _x509_certificates(value: Any) -> list[Any] | None:
    from cryptography import x509

    if not isinstance(value, str):
        return None
    try:
        if "-----BEGIN" in value:
            return list(x509.load_pem_x509_certificates(value.encode()))
        der = base64.b64decode(value, validate=False)
        return [x509.load_der_x509_certificate(der)]
    except (ValueError, binascii.Error):
        return None


def parse_certificates(value: Any) -> list[Any] | None:
    """``crypto.x509.parse_certificates``: Go's ``x509.Certificate`` JSON for each certificate."""
    from konflux_supply.policy import _compat_x509

    certificates = _x509_certificates(value)
    if not certificates:
        return None
    return [_compat_x509.go_certificate(cert) for cert in certificates]


def _digest(algorithm: str) -> Callable[[Any], str | None]:
    def digest(value: Any) -> str | None:
        if not isinstance(value, str):
            return None
        return hashlib.new(algorithm, value.encode()).hexdigest()

    return digest


def _hmac(algorithm: str) -> Callable[[Any, Any], str | None]:
    def mac(value: Any, key: Any) -> str | None:
        if not isinstance(value, str) or not isinstance(key, str):
            return None
        return hmac.new(key.encode(), value.encode(), algorithm).hexdigest()

    return mac


def hmac_equal(left: Any, right: Any) -> bool | None:
    """``crypto.hmac.equal``: constant-time comparison of two MACs (strings)."""
    if not isinstance(left, str) or not isinstance(right, str):
        return None
    return hmac.compare_digest(left.encode(), right.encode())


#: ``name → (number of arguments, function)``; functions return ``None`` for undefined.
OVERRIDES: dict[str, tuple[int, Callable[..., Any]]] = {
    # missing from regorus 0.13
    "crypto.md5": (1, _digest("md5")),
    "crypto.sha1": (1, _digest("sha1")),
    "crypto.sha256": (1, _digest("sha256")),
    "crypto.hmac.md5": (2, _hmac("md5")),
    "crypto.hmac.sha1": (2, _hmac("sha1")),
    "crypto.hmac.sha256": (2, _hmac("sha256")),
    "crypto.hmac.sha512": (2, _hmac("sha512")),
    "crypto.hmac.equal": (2, hmac_equal),
    "crypto.x509.parse_certificates": (1, parse_certificates),
    "json.is_valid": (1, json_is_valid),
    "json.match_schema": (2, _compat_schema.match_schema),
    "json.remove": (2, json_remove),
    "json.unmarshal": (1, json_unmarshal),
    "json.verify_schema": (1, _compat_schema.verify_schema),
    "sprintf": (2, _compat_sprintf.sprintf),
    "time.parse_ns": (2, parse_ns),
    "time.parse_rfc3339_ns": (1, parse_rfc3339_ns),
    "to_number": (1, to_number),
}
