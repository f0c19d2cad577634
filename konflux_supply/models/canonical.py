"""JSON encoders whose output bytes must match what the Go tools produce.

* :func:`dumps_compact` — ``json.dumps`` with compact separators and raw UTF-8, keys in the
  order given. This is what protojson emits for Chains statements (minus its random spaces).
* :func:`dumps_go` — Go ``encoding/json.Marshal``: compact, raw UTF-8, and ``<``, ``>``, ``&``,
  U+2028, U+2029 escaped as ``\\u003c`` and friends (HTML-safe escaping is on by default in Go).
  cosign's simple-signing payloads and go-securesystemslib DSSE envelopes are made this way.
* :func:`dumps_sorted` — compact with every object's keys sorted (Go marshals ``map`` keys
  sorted; protobuf ``Struct`` too).
"""

from __future__ import annotations

import json
import re
from typing import Any

__all__ = ["dumps_compact", "dumps_go", "dumps_sorted"]

_compact = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False)
_sorted = json.JSONEncoder(
    ensure_ascii=False, separators=(",", ":"), sort_keys=True, allow_nan=False
)
_GO_ESCAPES = (
    ("<", "\\u003c"),
    (">", "\\u003e"),
    ("&", "\\u0026"),
    ("\u2028", "\\u2028"),
    ("\u2029", "\\u2029"),
)


_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def _utf8(text: str) -> bytes:
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        # A lone surrogate (from a "\\ud800" escape in parsed JSON) is not valid Unicode;
        # Go's decoder turns it into U+FFFD, so do the same rather than fail.
        return _LONE_SURROGATE.sub("\ufffd", text).encode("utf-8")


def dumps_compact(obj: Any) -> bytes:
    """Compact JSON, raw UTF-8, keys in insertion order."""
    return _utf8(_compact.encode(obj))


def dumps_sorted(obj: Any) -> bytes:
    """Compact JSON, raw UTF-8, keys of every object sorted."""
    return _utf8(_sorted.encode(obj))


def _go_escape(text: str) -> str:
    # These characters can only occur inside JSON strings, so a plain replace is exact.
    for raw, escaped in _GO_ESCAPES:
        if raw in text:
            text = text.replace(raw, escaped)
    return text


def dumps_go(obj: Any, *, sort_keys: bool = False) -> bytes:
    """Bytes equal to Go's ``json.Marshal`` for the same value (struct order = dict order)."""
    encoder = _sorted if sort_keys else _compact
    return _utf8(_go_escape(encoder.encode(obj)))
