"""One hardened reader for JSON and YAML documents given by people (CLI files, inline text).

JSON is tried first; anything that is not JSON is read as YAML with a safe loader that keeps
timestamps as strings (as JSON would). The YAML hazards are closed: alias bombs (a node
budget proportional to the text), nesting too deep (``RecursionError``), non-scalar mapping
keys, several documents in one text and, on request, a key repeated in one mapping (two
parsers must never disagree on which value wins). Every failure is an
:class:`~konflux_supply.errors.InputError` naming the source and, where known, the field.
"""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Collection, Mapping
from typing import Any

from konflux_supply.errors import InputError

__all__ = [
    "expect_bool",
    "expect_mapping",
    "expect_str",
    "expect_str_list",
    "parse_document",
    "type_name",
]


def parse_document(data: bytes | str, *, source: str, unique_keys: bool = False) -> Any:
    """Parse one JSON or YAML document; errors become :class:`InputError`.

    ``unique_keys`` refuses a mapping that has the same key twice (JSON and YAML alike).
    """
    if isinstance(data, bytes):
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise InputError("not UTF-8 text", source=source) from None
    else:
        text = data.removeprefix("\ufeff")
    try:
        return _parse_text(text, source, unique_keys)
    except RecursionError:
        raise InputError("the document is nested too deeply", source=source) from None


class _DuplicateKey(Exception):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _unique_object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj: dict[str, Any] = {}
    for key, value in pairs:
        if key in obj:
            raise _DuplicateKey(key)
        obj[key] = value
    return obj


def _refuse_constant(name: str) -> Any:
    raise _NotStrictJson(name)


class _NotStrictJson(Exception):
    pass


def _parse_text(text: str, source: str, unique_keys: bool) -> Any:
    try:
        return json.loads(
            text,
            object_pairs_hook=_unique_object if unique_keys else None,
            parse_constant=_refuse_constant,
        )
    except _NotStrictJson as constant:
        raise InputError(
            f"invalid JSON: {constant} is not a JSON number (strict JSON has no NaN or Infinity)",
            source=source,
        ) from None
    except _DuplicateKey as duplicate:
        raise InputError(
            f"an object has the key {duplicate.key!r} more than once", source=source
        ) from None
    except json.JSONDecodeError as json_error:
        stripped = text.lstrip()
        if stripped.startswith(("{", "[")):
            raise InputError(
                f"invalid JSON at line {json_error.lineno} column {json_error.colno}: "
                f"{json_error.msg}",
                source=source,
            ) from None
    except ValueError:  # an integer longer than Python's int_max_str_digits
        raise InputError(
            f"invalid JSON: a number has more than {sys.get_int_max_str_digits()} digits",
            source=source,
        ) from None
    import yaml

    try:
        docs = [
            doc for doc in yaml.load_all(text, Loader=_plain_loader(unique_keys)) if doc is not None
        ]
    except _DuplicateKey as duplicate:
        raise InputError(
            f"a mapping has the key {duplicate.key!r} more than once", source=source
        ) from None
    except yaml.YAMLError as yaml_error:
        mark = getattr(yaml_error, "problem_mark", None)
        where = f" at line {mark.line + 1} column {mark.column + 1}" if mark else ""
        problem = getattr(yaml_error, "problem", None) or "malformed document"
        raise InputError(f"invalid JSON or YAML{where}: {problem}", source=source) from None
    except (ValueError, TypeError) as error:  # PyYAML's int() of a very long number
        reason = (
            f"a number has more than {sys.get_int_max_str_digits()} digits"
            if "digits" in str(error)
            else str(error)
        )
        raise InputError(f"invalid YAML: {reason}", source=source) from None
    if len(docs) != 1:
        raise InputError(f"expected one document, found {len(docs)}", source=source)
    # YAML aliases share nodes; expanded into a JSON tree they can grow exponentially (the
    # "billion laughs"). A tree without aliases has at most about one node per byte of text.
    budget = [2 * len(text) + 100_000]
    return _json_keys(docs[0], source, "", budget)


def _json_keys(value: Any, source: str, path: str, budget: list[int]) -> Any:
    """Turn YAML's non-string mapping keys into JSON strings, as Kubernetes' YAML reader does.

    ``1: x`` becomes ``"1": x`` and ``true: x`` becomes ``"true": x``; keys that JSON cannot
    hold (lists, mappings) are an :class:`InputError` naming where. ``budget`` (a one-item
    list, decremented per node) stops alias bombs.
    """
    budget[0] -= 1
    if budget[0] < 0:
        raise InputError(
            "the document expands to too many nodes (excessive YAML aliasing)",
            field=path or "(root)",
            source=source,
        )
    if isinstance(value, float) and not math.isfinite(value):
        raise InputError(
            f"{value} is not a JSON number (YAML's .nan and .inf are refused as in JSON)",
            field=path or "(root)",
            source=source,
        )
    if isinstance(value, list):
        return [_json_keys(item, source, f"{path}[{i}]", budget) for i, item in enumerate(value)]
    if not isinstance(value, dict):
        return value
    out: dict[str, Any] = {}
    for key, item in value.items():
        if isinstance(key, bool):
            name = "true" if key else "false"
        elif key is None:
            name = "null"
        elif isinstance(key, int | float | str):
            name = key if isinstance(key, str) else json.dumps(key)
        else:
            raise InputError(
                "a mapping key must be a scalar", field=path or "(root)", source=source
            )
        out[name] = _json_keys(item, source, f"{path}.{name}" if path else name, budget)
    return out


def _plain_loader(unique_keys: bool) -> Any:
    """A safe YAML loader that keeps timestamps as the strings they were (as JSON would)."""
    import yaml

    class PlainLoader(yaml.SafeLoader):
        pass

    PlainLoader.yaml_implicit_resolvers = {
        first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }
    if unique_keys:
        PlainLoader.add_constructor("tag:yaml.org,2002:map", _unique_mapping)
    return PlainLoader


def _unique_mapping(loader: Any, node: Any) -> Any:
    """SafeConstructor's mapping constructor, refusing a key written twice in one mapping.

    Checked on the mapping's own keys, before ``<<`` merge keys are flattened in (a merged
    key overridden locally is what merge keys are for).
    """
    import yaml

    seen: set[Any] = set()
    for key_node, _ in node.value:
        if not isinstance(key_node, yaml.ScalarNode) or key_node.tag == "tag:yaml.org,2002:merge":
            continue
        key = loader.construct_object(key_node)
        if key in seen:
            raise _DuplicateKey(str(key))
        seen.add(key)
    # As SafeConstructor.construct_yaml_map: a generator, so recursive structures work.
    data: dict[Any, Any] = {}
    yield data
    data.update(loader.construct_mapping(node))


# ---------------------------------------------------------------------------------------------
# Typed field access for models read from such documents (each error names the field path).


def type_name(value: Any) -> str:
    """The JSON name of ``value``'s type, for error messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def expect_mapping(
    value: Any, field: str, *, source: str | None, allowed: Collection[str] | None = None
) -> Mapping[str, Any]:
    """``value`` as a JSON object; with ``allowed``, any other key is an :class:`InputError`."""
    if not isinstance(value, dict):
        raise InputError(
            f"expected an object, found {type_name(value)}", field=field, source=source
        )
    if allowed is not None:
        for key in value:
            if key not in allowed:
                where = f"{field}.{key}" if field else str(key)
                raise InputError(
                    f"unknown field (expected one of: {', '.join(sorted(allowed))})",
                    field=where,
                    source=source,
                )
    return value


def expect_str(value: Any, field: str, *, source: str | None, non_empty: bool = False) -> str:
    """``value`` as a string (optionally not empty) or an :class:`InputError` naming ``field``."""
    if not isinstance(value, str):
        raise InputError(f"expected a string, found {type_name(value)}", field=field, source=source)
    if non_empty and not value:
        raise InputError("must not be empty", field=field, source=source)
    return value


def expect_bool(value: Any, field: str, *, source: str | None) -> bool:
    """``value`` as a boolean or an :class:`InputError` naming ``field``."""
    if not isinstance(value, bool):
        raise InputError(
            f"expected a boolean, found {type_name(value)}", field=field, source=source
        )
    return value


def expect_str_list(
    value: Any, field: str, *, source: str | None, non_empty_items: bool = False
) -> tuple[str, ...]:
    """``value`` as a list of strings; a wrong item is named by its index."""
    if not isinstance(value, list):
        raise InputError(f"expected an array, found {type_name(value)}", field=field, source=source)
    return tuple(
        expect_str(item, f"{field}[{index}]", source=source, non_empty=non_empty_items)
        for index, item in enumerate(value)
    )
