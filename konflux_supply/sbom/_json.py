"""Strict JSON loading for SBOMs: size cap, UTF-8, no duplicate keys, no NaN.

Every failure is an :class:`~konflux_supply.errors.InputError` that names the source and, where
there is one, the JSON path. Two parsers reading the same bytes must see the same document, so
an object with a repeated key is rejected rather than silently resolved to "last one wins".
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from konflux_supply.errors import InputError, field_path

__all__ = [
    "DEFAULT_MAX_BYTES",
    "ParseLimits",
    "clone_json",
    "dump_json",
    "iter_paths",
    "load_json",
]

#: cosign caps an attachment at 128 MiB; real image SBOMs are a few MB.
DEFAULT_MAX_BYTES = 128 * 1024 * 1024


@dataclass(frozen=True)
class ParseLimits:
    """Bounds applied before and while parsing an SBOM.

    ``max_bytes`` is checked before any byte is decoded, so an oversized document costs nothing.
    """

    max_bytes: int = DEFAULT_MAX_BYTES

    def __post_init__(self) -> None:
        if self.max_bytes <= 0:
            raise InputError("the SBOM size cap must be a positive number of bytes")


class _DuplicateKey(Exception):
    pass


class _Marked(dict[str, Any]):
    """A JSON object that had a repeated key (used only to locate it after a failure)."""

    duplicate: str = ""


def _strict_object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        raise _DuplicateKey
    return obj


def _marking_object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        marked = _Marked(obj)
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                marked.duplicate = key
                break
            seen.add(key)
        return marked
    return obj


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON value")


def iter_paths(root: Any) -> Iterator[tuple[str, Any]]:
    """Yield ``(path, value)`` for every value in a JSON tree, iteratively (no recursion)."""
    stack: list[tuple[str, Any]] = [("", root)]
    while stack:
        path, value = stack.pop()
        yield path, value
        if isinstance(value, dict):
            for key in reversed(list(value)):
                stack.append((field_path(path, key) if path else key, value[key]))
        elif isinstance(value, list):
            for index in range(len(value) - 1, -1, -1):
                stack.append((f"{path}[{index}]", value[index]))


def load_json(data: bytes, *, source: str | None = None, limits: ParseLimits | None = None) -> Any:
    """Parse JSON bytes strictly; raise :class:`InputError` naming what is wrong and where."""
    limits = limits or ParseLimits()
    if len(data) > limits.max_bytes:
        raise InputError(
            f"document is {len(data)} bytes, above the cap of {limits.max_bytes} bytes",
            source=source,
            hint="raise the cap (--max-bytes / ParseLimits.max_bytes) if the document is genuine",
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise InputError(
            f"not UTF-8 text (bad byte at offset {error.start})", source=source
        ) from None
    try:
        return json.loads(text, object_pairs_hook=_strict_object, parse_constant=_no_constants)
    except json.JSONDecodeError as error:
        raise InputError(
            f"invalid JSON at line {error.lineno} column {error.colno}: {error.msg}", source=source
        ) from None
    except _DuplicateKey:
        pass
    except RecursionError:
        raise InputError("JSON is nested too deeply", source=source) from None
    except ValueError as error:  # NaN/Infinity, integers beyond the digit limit
        raise InputError(f"invalid JSON value: {error}", source=source) from None
    # A repeated key: parse again, marking the offending objects, and report the first one.
    tree = json.loads(text, object_pairs_hook=_marking_object)
    for path, value in iter_paths(tree):
        if isinstance(value, _Marked):
            raise InputError(
                f"object has the key {value.duplicate!r} more than once",
                field=path or None,
                source=source,
                hint="parsers disagree on which value wins; fix the generator",
            )
    raise AssertionError("unreachable: duplicate key not found on second pass")  # pragma: no cover


def dump_json(data: Any, *, indent: int | None = 2) -> bytes:
    """``data`` as UTF-8 JSON in key insertion order, newline-terminated (compact if no indent)."""
    separators = (",", ": ") if indent is not None else (",", ":")
    text = json.dumps(data, indent=indent, ensure_ascii=False, separators=separators)
    return (text + "\n").encode("utf-8")


def clone_json(value: Any, *, source: str | None = None, field: str | None = None) -> Any:
    """A deep copy of a JSON tree through the C codec (no Python recursion, unlike deepcopy).

    A value that is not JSON (NaN, a set, …) or nested deeper than the codec allows is an
    :class:`InputError`.
    """
    try:
        return json.loads(json.dumps(value, allow_nan=False))
    except RecursionError:
        raise InputError("JSON is nested too deeply", field=field, source=source) from None
    except (TypeError, ValueError) as error:
        raise InputError(f"not a JSON value: {error}", field=field, source=source) from None
