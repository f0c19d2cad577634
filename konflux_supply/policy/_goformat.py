"""How Go prints values, for reports that must read byte for byte as Conforma's.

Conforma keeps results as ``map[string]interface{}`` decoded from JSON, so numbers are
``float64``, maps print with sorted keys, and ``fmt``'s ``%v`` has its own spelling
(``[a b]``, ``map[k:v]``, ``<nil>``, ``1e+06``). Text and JUnit renderings go through these
helpers; JSON goes through :func:`konflux_supply.models.canonical.dumps_go` after
:func:`go_value` has put every map in Go's order.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

__all__ = ["go_bool", "go_float_json", "go_s", "go_v", "go_value", "wrap"]


def go_bool(value: bool) -> str:
    return "true" if value else "false"


def _shortest(number: float) -> tuple[str, int]:
    """Shortest round-trip digits and decimal exponent (``d.ddd * 10**exp``)."""
    _, digits, exponent = Decimal(repr(number)).normalize().as_tuple()
    text = "".join(str(d) for d in digits) or "0"
    assert isinstance(exponent, int)
    return text, exponent + len(text) - 1


def _go_g(number: float) -> str:
    """``strconv.FormatFloat(f, 'g', -1, 64)`` — what ``%v`` prints for a float64."""
    if number == 0:
        return "0"
    sign = "-" if number < 0 else ""
    digits, exp = _shortest(abs(number))
    if exp < -4 or exp >= 6:  # shortest formatting decides with a precision of 6
        mantissa = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
        return f"{sign}{mantissa}e{'-' if exp < 0 else '+'}{abs(exp):02d}"
    return sign + _fixed(digits, exp)


def _fixed(digits: str, exp: int) -> str:
    if exp < 0:
        return "0." + "0" * (-exp - 1) + digits
    if len(digits) <= exp + 1:
        return digits + "0" * (exp + 1 - len(digits))
    return digits[: exp + 1] + "." + digits[exp + 1 :]


def go_float_json(number: float) -> int | float | str:
    """A float as Go's ``encoding/json`` would write it; integral values become ``int``."""
    if math.isfinite(number) and number == int(number) and abs(number) < 1e21:
        return int(number)
    return number


def go_v(value: Any) -> str:
    """``fmt.Sprintf("%v", value)`` for a value decoded from JSON by Go."""
    if value is None:
        return "<nil>"
    if isinstance(value, bool):
        return go_bool(value)
    if isinstance(value, int):
        return _go_g(float(value)) if abs(value) >= 10**6 else str(value)
    if isinstance(value, float):
        return _go_g(value)
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping):
        inner = " ".join(f"{key}:{go_v(value[key])}" for key in sorted(value))
        return f"map[{inner}]"
    if isinstance(value, list | tuple):
        return "[" + " ".join(go_v(item) for item in value) + "]"
    return str(value)


def go_s(value: Any) -> str:
    """``fmt.Sprintf("%s", value)``: strings as they are, ``%!s(<nil>)`` for a missing key."""
    if isinstance(value, str):
        return value
    if value is None:
        return "%!s(<nil>)"
    if isinstance(value, bool):
        return f"%!s(bool={go_bool(value)})"
    if isinstance(value, int | float):
        return f"%!s(float64={go_v(float(value))})"
    return go_v(value)


def go_value(value: Any) -> Any:
    """A JSON value with every map's keys sorted (Go's ``map`` order) and floats as Go writes."""
    if isinstance(value, Mapping):
        return {str(key): go_value(value[key]) for key in sorted(value, key=str)}
    if isinstance(value, list | tuple):
        return [go_value(item) for item in value]
    if isinstance(value, float):
        return go_float_json(value)
    return value


_NBSP = "\u00a0"
# Go's unicode.IsSpace (Python's str.isspace also counts U+001C..U+001F).
_SPACES = frozenset(
    "\t\n\v\f\r \x85\xa0\u1680\u2028\u2029\u202f\u205f\u3000"
    + "".join(chr(c) for c in range(0x2000, 0x200B))
)


def wrap(text: str, limit: int) -> str:
    """Word wrap at white space as ``github.com/mitchellh/go-wordwrap`` ``WrapString`` does.

    Lines break only at white space (never inside a word, so a long word overflows); existing
    newlines are kept; the spaces where a line breaks are dropped. Widths count characters.
    """
    out: list[str] = []
    current = 0
    word: list[str] = []
    space: list[str] = []
    for char in text:
        if char == "\n":
            if not word:
                if current + len(space) <= limit:
                    out.extend(space)
            else:
                out.extend(space)
                out.extend(word)
                word = []
            space = []
            out.append(char)
            current = 0
        elif char in _SPACES and char != _NBSP:
            if not space or word:
                current += len(space) + len(word)
                out.extend(space)
                out.extend(word)
                space = []
                word = []
            space.append(char)
        else:
            word.append(char)
            if current + len(space) + len(word) > limit and len(word) < limit:
                out.append("\n")
                current = 0
                space = []
    if not word:
        if current + len(space) <= limit:
            out.extend(space)
    else:
        out.extend(space)
        out.extend(word)
    return "".join(out)
