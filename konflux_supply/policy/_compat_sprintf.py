"""OPA's ``sprintf``: Go's ``fmt`` verbs over Rego values converted as OPA converts them.

OPA passes integers as Go integers, other numbers as ``float64``, strings as Go strings and
every other value (booleans, null, arrays, objects, sets) as its Rego text (``{"a": 1}``,
``{1, 2}``, ``set()``), then calls ``fmt.Sprintf``. Mismatched verbs print Go's ``%!d(string=x)``.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from typing import Any

_VERB = re.compile(r"%([-+# 0]*)(\*|\d+)?(?:\.(\*|\d*))?([a-zA-Z%])")


def _rank(value: Any) -> int:
    if value is None:
        return 0
    if isinstance(value, bool):
        return 1
    if isinstance(value, int | float):
        return 2
    if isinstance(value, str):
        return 3
    if isinstance(value, list | tuple):
        return 4
    if isinstance(value, dict):
        return 5
    return 6


def sort_key(value: Any) -> Any:
    """Rego's order of values: null < booleans < numbers < strings < arrays < objects < sets."""
    rank = _rank(value)
    if rank == 4:
        return (rank, [sort_key(v) for v in value])
    if rank == 5:
        return (rank, sorted((sort_key(k), sort_key(v)) for k, v in value.items()))
    if rank == 6:
        return (rank, sorted(sort_key(v) for v in value))
    return (rank, value)


def rego_text(value: Any) -> str:
    """A value as OPA's ``ast.Term.String()`` prints it."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _float_text(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(rego_text(v) for v in value) + "]"
    if isinstance(value, dict):
        items = sorted(value.items(), key=lambda kv: sort_key(kv[0]))
        return "{" + ", ".join(f"{rego_text(k)}: {rego_text(v)}" for k, v in items) + "}"
    items = sorted(value, key=sort_key)
    return "{" + ", ".join(rego_text(v) for v in items) + "}" if items else "set()"


def _float_text(value: float) -> str:
    if value.is_integer() and abs(value) < 1e21:
        return str(int(value))
    return repr(value)


def _go_float_v(value: float) -> str:
    """Go's ``%v`` for a float64: shortest repr, exponent form outside [1e-4, 1e21)."""
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if math.isnan(value):
        return "NaN"
    if value == 0:
        return "0"
    exponent = math.floor(math.log10(abs(value)))
    if -4 <= exponent < 21:
        text = repr(value)
        if "e" in text:
            text = format(value, "f")
        return text[:-2] if text.endswith(".0") else text
    mantissa, _, exp = f"{value:e}".partition("e")
    digits = repr(value / 10**exponent)
    mantissa = digits.rstrip("0").rstrip(".") if "." in digits else digits
    return f"{mantissa}e{int(exp):+03d}"


_ESCAPES = {7: "\\a", 8: "\\b", 12: "\\f", 10: "\\n", 13: "\\r", 9: "\\t", 11: "\\v", 92: "\\\\"}


def go_quote(text: str, quote: str = '"') -> str:
    """Go's ``strconv.Quote`` / ``QuoteRune``: printable runes kept, others escaped."""
    out = []
    for char in text:
        code = ord(char)
        if char == quote:
            out.append("\\" + char)
        elif code in _ESCAPES:
            out.append(_ESCAPES[code])
        elif code < 0x20 or code == 0x7F:
            out.append(f"\\x{code:02x}")
        elif not char.isprintable() and code != 0x20:
            out.append(f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}")
        else:
            out.append(char)
    return quote + "".join(out) + quote


def _go_type(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float64"
    return "string"


def _pad(text: str, flags: str, width: int | None, numeric: bool = False) -> str:
    if width is None or len(text) >= width:
        return text
    if "-" in flags:
        return text.ljust(width)
    if "0" in flags and numeric:
        sign = text[0] if text[:1] in "+-" else ""
        return sign + text[len(sign) :].rjust(width - len(sign), "0")
    return text.rjust(width)


def _format_int(value: int, verb: str, flags: str, precision: int | None) -> str:
    if verb in "dv":
        digits = str(abs(value))
    elif verb == "x":
        digits = format(abs(value), "x")
    elif verb == "X":
        digits = format(abs(value), "X")
    elif verb == "o":
        digits = format(abs(value), "o")
    elif verb == "b":
        digits = format(abs(value), "b")
    elif verb == "c":
        return _rune(value)
    elif verb == "q":
        return go_quote(_rune(value), "'")
    else:
        return f"%!{verb}(int={value})"
    if precision is not None:
        digits = digits.rjust(precision, "0")
    if "#" in flags and verb in "xX":
        digits = "0" + verb + digits
    sign = "-" if value < 0 else ("+" if "+" in flags else (" " if " " in flags else ""))
    return sign + digits


def _format_float(value: float, verb: str, flags: str, precision: int | None) -> str:
    if verb == "v":
        text = _go_float_v(value)
    elif verb in "fF":
        text = format(value, f".{6 if precision is None else precision}f")
    elif verb in "eE":
        text = format(value, f".{6 if precision is None else precision}{verb}")
        text = re.sub(r"([eE][+-])(\d)$", r"\g<1>0\2", text)
    elif verb in "gG":
        text = _go_float_v(value) if precision is None else format(value, f".{precision}{verb}")
    else:
        return f"%!{verb}(float64={_go_float_v(value)})"
    if "+" in flags and not text.startswith("-"):
        text = "+" + text
    return text


def _format_str(value: str, verb: str, flags: str, precision: int | None) -> str:
    if precision is not None and verb in "sv":
        value = value[:precision]
    if verb == "v" and "#" in flags:
        return go_quote(value)
    if verb in "sv":
        return value
    if verb == "q":
        if "#" in flags and "`" not in value:
            return f"`{value}`"
        return go_quote(value)
    if verb in "xX":
        text = value.encode().hex()
        return text.upper() if verb == "X" else text
    return f"%!{verb}(string={value})"


#: How the support module passes a set (regorus cannot hand Python a set of objects).
SET_MARKER = "__konflux_set__"


def _convert(value: Any) -> Any:
    if isinstance(value, dict) and list(value) == [SET_MARKER]:
        items = sorted(value[SET_MARKER], key=sort_key)
        return "{" + ", ".join(rego_text(v) for v in items) + "}" if items else "set()"
    if isinstance(value, bool) or value is None:
        return rego_text(value)
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**63:
        return int(value)
    if isinstance(value, int | float | str):
        return value
    return rego_text(value)


def sprintf(template: Any, args: Any) -> str | None:
    """OPA's ``sprintf(format, values)``; ``None`` (undefined) for non-string / non-array input."""
    if not isinstance(template, str) or not isinstance(args, Sequence) or isinstance(args, str):
        return None
    values = [_convert(v) for v in args]
    out: list[str] = []
    index = 0
    position = 0
    for match in _VERB.finditer(template):
        out.append(template[position : match.start()])
        position = match.end()
        flags, width_text, precision_text, verb = match.groups()
        if verb == "%":
            out.append("%")
            continue
        width = int(width_text) if width_text and width_text != "*" else None
        precision = None
        if precision_text is not None and precision_text != "*":
            precision = int(precision_text) if precision_text else 0
        if index >= len(values):
            out.append(f"%!{verb}(MISSING)")
            continue
        value = values[index]
        index += 1
        if verb == "T":
            text = _go_type(value)
        elif isinstance(value, int):
            text = _format_int(value, verb, flags, precision)
            if verb in "dxXob" and "0" in flags and precision is None and "-" not in flags:
                out.append(_pad(text, flags, width, numeric=True))
                continue
        elif isinstance(value, float):
            text = _format_float(value, verb, flags, precision)
            if "0" in flags and "-" not in flags:
                out.append(_pad(text, flags, width, numeric=True))
                continue
        else:
            text = _format_str(value, verb, flags, precision)
        out.append(_pad(text, flags.replace("0", ""), width))
    out.append(template[position:])
    if index < len(values):
        extra = ", ".join(f"{_go_type(v)}={v}" for v in values[index:])
        out.append(f"%!(EXTRA {extra})")
    return "".join(out)


def _rune(value: int) -> str:
    """Go's ``%c``/``%q`` of an integer: not a Unicode scalar value prints U+FFFD."""
    if 0 <= value <= 0x10FFFF and not 0xD800 <= value <= 0xDFFF:
        return chr(value)
    return "\ufffd"
