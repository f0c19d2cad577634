"""Reading parsed Tekton JSON with the semantics of Go's ``encoding/json`` and Tekton's types.

Chains sees a run only after client-go decoded it into typed structs, so a value of the wrong
JSON type never reaches its formatters: the object fails to decode. We raise
:class:`~konflux_supply.errors.InputError` with the field path in that case. ``null`` reads as the
zero value, as it does in Go.
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from konflux_supply.errors import InputError

__all__ = [
    "MarshalError",
    "Path",
    "duration",
    "format_nano",
    "format_proto",
    "format_seconds",
    "go_number",
    "obj",
    "param_value",
    "parse_time",
    "seq",
    "string",
    "string_map",
]

Path = str


class MarshalError(InputError):
    """A value Go decodes but cannot encode again (a param/result without a value): Chains
    fails the payload, or skips the object where it logs the error instead."""


_EMPTY: dict[str, Any] = {}
_EMPTY_LIST: list[Any] = []


def _type_name(value: object) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def wrong_type(path: Path, expected: str, value: object) -> InputError:
    """The error for a value Go could not decode into the field's type."""
    return InputError(f"expected {expected}, found {_type_name(value)}", field=path)


def obj(parent: dict[str, Any], key: str, path: Path) -> dict[str, Any]:
    """``parent[key]`` as an object; absent or null reads as ``{}``."""
    value = parent.get(key)
    if value is None:
        return _EMPTY
    if type(value) is not dict:
        raise wrong_type(f"{path}.{key}" if path else key, "an object", value)
    return value


def seq(parent: dict[str, Any], key: str, path: Path) -> list[Any]:
    """``parent[key]`` as an array; absent or null reads as ``[]``."""
    value = parent.get(key)
    if value is None:
        return _EMPTY_LIST
    if type(value) is not list:
        raise wrong_type(f"{path}.{key}" if path else key, "an array", value)
    return value


def item(value: Any, path: Path) -> dict[str, Any]:
    """One array element that must be an object (null reads as ``{}``)."""
    if value is None:
        return _EMPTY
    if type(value) is not dict:
        raise wrong_type(path, "an object", value)
    return value


def string(parent: dict[str, Any], key: str, path: Path) -> str:
    """``parent[key]`` as a string; absent or null reads as ``""``."""
    value = parent.get(key)
    if value is None:
        return ""
    if type(value) is not str:
        raise wrong_type(f"{path}.{key}" if path else key, "a string", value)
    return value


def string_map(parent: dict[str, Any], key: str, path: Path) -> dict[str, str]:
    """``map[string]string``: null values read as ``""``."""
    value = obj(parent, key, path)
    for entry in value.values():
        if type(entry) is not str:
            break
    else:
        return value
    out: dict[str, str] = {}
    for name, entry in value.items():
        if entry is None:
            out[name] = ""
        elif type(entry) is str:
            out[name] = entry
        else:
            raise wrong_type(
                f"{path}.{key}[{name}]" if path else f"{key}[{name}]", "a string", entry
            )
    return out


def string_list(value: Any, path: Path) -> list[str] | None:
    """``[]string``: ``None`` for null/absent, null elements read as ``""``."""
    if value is None:
        return None
    if type(value) is not list:
        raise wrong_type(path, "an array of strings", value)
    out: list[str] = []
    for index, entry in enumerate(value):
        if entry is None:
            out.append("")
        elif type(entry) is str:
            out.append(entry)
        else:
            raise wrong_type(f"{path}[{index}]", "a string", entry)
    return out


# ---- Tekton ParamValue / ResultValue ------------------------------------------------------------

_raw_encoder = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def param_value(
    value: Any, path: Path, *, present: bool = True
) -> str | list[str] | dict[str, str]:
    """Decode a Tekton ``ParamValue`` the way its ``UnmarshalJSON`` does and return what its
    ``MarshalJSON`` emits: a string, an array of strings or an object of strings.

    Arrays/objects holding anything but strings fall back to their JSON text as a string value.
    A missing value (``present=False``) has no type; Go's ``MarshalJSON`` then fails, so that is
    an :class:`InputError`.
    """
    if not present:
        raise MarshalError(
            "missing value (Tekton cannot serialise a result or param without one)", field=path
        )
    if type(value) is str:
        return value
    if value is None:
        return ""
    if type(value) is list:
        if all(type(v) is str or v is None for v in value):
            return ["" if v is None else v for v in value]
    elif type(value) is dict and all(type(v) is str or v is None for v in value.values()):
        return {k: ("" if v is None else v) for k, v in value.items()}
    try:
        return _raw_encoder.encode(value)
    except (TypeError, ValueError):
        raise wrong_type(path, "a JSON value", value) from None


# ---- numbers -----------------------------------------------------------------------------------


def go_number(value: int | float) -> int | float:
    """A number as it comes out of a ``google.protobuf.Struct`` (float64, Go formatting).

    Go prints integral values below 1e21 without exponent, with the shortest digits that
    round-trip and zeros after them; the equal Python ``int`` makes ``json`` print the same.
    """
    number = float(value)
    if number.is_integer() and abs(number) < 1e21:
        if abs(number) < 1e16:
            return int(number)
        return int(Decimal(repr(number)))
    return number


def to_struct_values(value: Any) -> Any:
    """Numbers inside ``value`` as a protobuf ``Struct`` prints them (see :func:`go_number`)."""
    kind = type(value)
    if kind is dict:
        return {k: to_struct_values(v) for k, v in value.items()}
    if kind is list:
        return [to_struct_values(v) for v in value]
    if kind is int or kind is float:
        return go_number(value)
    return value


# ---- times -------------------------------------------------------------------------------------

_RFC3339 = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:[.,](\d+))?(Z|[+-]\d{2}:\d{2})"
)
_EPOCH = datetime(1970, 1, 1)


def parse_time(value: Any, path: Path) -> tuple[datetime, int] | None:
    """A ``metav1.Time`` (``time.RFC3339``): ``(UTC time to the second, nanoseconds)`` or ``None``.

    The time is a naive :class:`~datetime.datetime` in UTC, so that ``isoformat()`` prints it as
    RFC 3339 without an offset.

    ``None`` for absent/null. A malformed time fails Kubernetes decoding: :class:`InputError`.
    """
    if value is None:
        return None
    if type(value) is not str:
        raise wrong_type(path, "an RFC 3339 time string", value)
    match = _RFC3339.fullmatch(value)
    if match is None:
        raise InputError(f"not an RFC 3339 time: {value!r}", field=path)
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    try:
        stamp = datetime(int(year), int(month), int(day), int(hour), int(minute), int(second))
    except ValueError:
        raise InputError(f"not a valid time: {value!r}", field=path) from None
    if zone != "Z":
        hours, minutes = int(zone[1:3]), int(zone[4:6])
        if hours >= 24 or minutes >= 60:
            raise InputError(f"not a valid time zone offset: {value!r}", field=path)
        offset = timedelta(hours=hours, minutes=minutes)
        try:
            stamp = stamp - offset if zone[0] == "+" else stamp + offset
        except OverflowError:
            raise InputError(f"time out of range: {value!r}", field=path) from None
    nanos = int((fraction or "0")[:9].ljust(9, "0"))
    if not 1 <= stamp.year <= 9999:
        raise InputError(f"time out of range: {value!r}", field=path)
    return stamp, nanos


def _base(stamp: datetime) -> str:
    # "YYYY-MM-DDTHH:MM:SS": naive, no microseconds, years below 1000 zero-padded.
    return stamp.isoformat()


def format_seconds(parsed: tuple[datetime, int]) -> str:
    """``metav1.Time`` marshalling: RFC 3339 in UTC, whole seconds."""
    return _base(parsed[0]) + "Z"


def format_nano(parsed: tuple[datetime, int]) -> str:
    """Go ``time.Time`` marshalling (RFC 3339 nano, trailing zeros trimmed) in UTC."""
    stamp, nanos = parsed
    if nanos:
        return f"{_base(stamp)}.{str(nanos).rjust(9, '0').rstrip('0')}Z"
    return _base(stamp) + "Z"


def format_proto(parsed: tuple[datetime, int]) -> str:
    """protojson ``Timestamp``: UTC with 0, 3, 6 or 9 fractional digits."""
    stamp, nanos = parsed
    if not nanos:
        return _base(stamp) + "Z"
    digits = str(nanos).rjust(9, "0")
    if digits.endswith("000000"):
        digits = digits[:3]
    elif digits.endswith("000"):
        digits = digits[:6]
    return f"{_base(stamp)}.{digits}Z"


# ---- durations (metav1.Duration) --------------------------------------------------------------

_UNITS = {
    "ns": 1,
    "us": 1_000,
    "\u00b5s": 1_000,
    "\u03bcs": 1_000,
    "ms": 1_000_000,
    "s": 1_000_000_000,
    "m": 60_000_000_000,
    "h": 3_600_000_000_000,
}
_DURATION_PART = re.compile(r"(\d*)(?:\.(\d*))?(ns|us|\u00b5s|\u03bcs|ms|s|m|h)")
_MAX_NS = 2**63 - 1


def _parse_duration(text: str) -> int | None:
    """Go ``time.ParseDuration`` in nanoseconds, ``None`` when Go would reject it."""
    body = text
    sign = 1
    if body[:1] in "+-" and body:
        sign = -1 if body[0] == "-" else 1
        body = body[1:]
    if body == "0":
        return 0
    if not body:
        return None
    total = 0
    position = 0
    while position < len(body):
        match = _DURATION_PART.match(body, position)
        if match is None or (not match.group(1) and not match.group(2)):
            return None
        whole, frac, unit = match.groups()
        scale = _UNITS[unit]
        value = int(whole or "0") * scale
        if frac:
            value += int(frac) * scale // 10 ** len(frac)
        total += value
        if total > _MAX_NS + (sign < 0):
            return None
        position = match.end()
    return sign * total


def _format_duration(nanos: int) -> str:
    """Go ``time.Duration.String``."""
    if nanos == 0:
        return "0s"
    negative = nanos < 0
    magnitude = -nanos if negative else nanos
    if magnitude < 1_000_000_000:
        for unit, scale in (("ns", 1), ("\u00b5s", 1_000), ("ms", 1_000_000)):
            if magnitude < scale * 1000:
                text = _fraction(magnitude, scale) + unit
                break
    else:
        seconds_ns = magnitude % 60_000_000_000
        minutes = magnitude // 60_000_000_000
        text = _fraction(seconds_ns, 1_000_000_000) + "s"
        if minutes:
            text = f"{minutes % 60}m" + text
            if minutes >= 60:
                text = f"{minutes // 60}h" + text
    return ("-" if negative else "") + text


def _fraction(value: int, scale: int) -> str:
    whole, rest = divmod(value, scale)
    if not rest:
        return str(whole)
    digits = str(rest).rjust(len(str(scale)) - 1, "0").rstrip("0")
    return f"{whole}.{digits}"


def duration(value: Any, path: Path) -> str | None:
    """A ``metav1.Duration`` re-marshalled (``"1h"`` → ``"1h0m0s"``); ``None`` for null."""
    if value is None:
        return None
    if type(value) is not str:
        raise wrong_type(path, "a duration string", value)
    nanos = _parse_duration(value)
    if nanos is None:
        raise InputError(f"not a Go duration: {value!r}", field=path)
    return _format_duration(nanos)


def seconds_since_epoch(parsed: tuple[datetime, int]) -> float:
    """For ordering only."""
    return (parsed[0] - _EPOCH).total_seconds() + parsed[1] / 1e9
