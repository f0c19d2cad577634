"""``json.match_schema`` / ``json.verify_schema`` with OPA's results (gojsonschema wording).

OPA returns ``[ok, errors]`` where each error is ``{error, type, field, desc}``: ``field`` is the
dotted path of the value (``(Root)`` for the document itself), ``desc`` gojsonschema's
description and ``error`` = ``field: desc``. Policies compare these strings, so the wording here
follows gojsonschema's default locale, not Python ``jsonschema``'s.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterator
from typing import Any

import jsonschema
import jsonschema.exceptions
import jsonschema.validators

ROOT = "(Root)"

_DATE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")
_FORMAT = jsonschema.FormatChecker()


@_FORMAT.checks("date-time")
def _date_time(value: object) -> bool:
    return not isinstance(value, str) or bool(_DATE_TIME.match(value))


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int) or (isinstance(value, float) and value.is_integer()):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _field(path: Any) -> str:
    parts = [str(part) for part in path]
    return ".".join(parts) if parts else ROOT


def _number(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _decode(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def _embedded(schema: Any) -> Iterator[tuple[str, Any]]:
    """Every sub-schema with an absolute ``$id``, wherever it sits (gojsonschema finds them all)."""
    stack = [schema]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            identifier = node.get("$id")
            if isinstance(identifier, str) and "://" in identifier and node is not schema:
                yield identifier.rstrip("#"), node
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)


def _validator(schema: Any) -> Any:
    import referencing
    import referencing.jsonschema

    cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft7Validator)
    registry: Any = referencing.Registry()
    for uri, sub in _embedded(schema):
        resource = referencing.Resource.from_contents(
            sub, default_specification=referencing.jsonschema.DRAFT7
        )
        registry = registry.with_resource(uri, resource)
    return cls(schema, format_checker=_FORMAT, registry=registry)


def _score(errors: list[jsonschema.exceptions.ValidationError], depth: int) -> int:
    """gojsonschema's score of a failed alternative (the highest is reported).

    Its validator adds 1 per check group it completes on a node (schema, type-specific, common,
    the node itself: 4) and takes 2 per error raised on that node or its properties; a type
    mismatch ends the node at once (-2); errors of array items come from a separate result and
    do not count.
    """
    paths = [list(e.absolute_path)[depth:] for e in errors]
    if any(e.validator == "type" and not path for e, path in zip(errors, paths, strict=True)):
        return -2
    direct = [path for path in paths if not any(isinstance(p, int) for p in path)]
    return 4 - 2 * len(direct)


def _sub_errors(error: jsonschema.exceptions.ValidationError) -> Iterator[tuple[str, str, str]]:
    """The best failing alternative of an anyOf / oneOf (fewest errors), as gojsonschema merges."""
    groups: dict[int, list[jsonschema.exceptions.ValidationError]] = {}
    for sub in error.context or []:
        index = int(sub.schema_path[0]) if sub.schema_path else 0
        groups.setdefault(index, []).append(sub)
    if not groups:
        return
    depth = len(error.absolute_path)
    best = max(groups.values(), key=lambda errors: _score(errors, depth))  # first of equals
    for sub in best:
        yield from _translate(sub)


def _translate(error: jsonschema.exceptions.ValidationError) -> Iterator[tuple[str, str, str]]:
    """(type, field, desc) triples in gojsonschema's words for one Python error."""
    kind = str(error.validator)
    field = _field(error.absolute_path)
    value: Any = error.validator_value
    instance: Any = error.instance
    schema: Any = error.schema
    if kind == "required":
        for name in value:
            if isinstance(instance, dict) and name not in instance:
                yield "required", field, f"{name} is required"
        return
    if kind == "additionalProperties":
        known = set(schema.get("properties", {}))
        patterns = [re.compile(p) for p in schema.get("patternProperties", {})]
        for name in instance:
            if name not in known and not any(p.search(name) for p in patterns):
                yield (
                    "additional_property_not_allowed",
                    field,
                    f"Additional property {name} is not allowed",
                )
        return
    if kind == "type":
        types = value if isinstance(value, list) else [value]
        given = _json_type(instance)
        yield "invalid_type", field, f"Invalid type. Expected: {', '.join(types)}, given: {given}"
        return
    if kind == "enum":
        allowed = ", ".join(json.dumps(v, separators=(",", ":")) for v in value)
        yield "enum", field, f"{field} must be one of the following: {allowed}"
        return
    if kind == "const":
        yield "const", field, f"{field} does not match: {json.dumps(value)}"
        return
    if kind == "uniqueItems":
        seen: dict[str, int] = {}
        for index, item in enumerate(instance):
            key = json.dumps(item, sort_keys=True)
            if key in seen:
                desc = f"array items[{seen[key]},{index}] must be unique"
                yield "unique", field, desc
                return
            seen[key] = index
        return
    if kind in ("anyOf", "oneOf"):
        if kind == "anyOf":
            yield "number_any_of", field, "Must validate at least one schema (anyOf)"
        else:
            yield "number_one_of", field, "Must validate one and only one schema (oneOf)"
        yield from _sub_errors(error)
        return
    simple = {
        "minItems": ("array_min_items", "Array must have at least {} items"),
        "maxItems": ("array_max_items", "Array must have at most {} items"),
        "minLength": ("string_gte", "String length must be greater than or equal to {}"),
        "maxLength": ("string_lte", "String length must be less than or equal to {}"),
        "pattern": ("pattern", "Does not match pattern '{}'"),
        "format": ("format", "Does not match format '{}'"),
        "minimum": ("number_gte", "Must be greater than or equal to {}"),
        "maximum": ("number_lte", "Must be less than or equal to {}"),
        "exclusiveMinimum": ("number_gt", "Must be greater than {}"),
        "exclusiveMaximum": ("number_lt", "Must be less than {}"),
        "multipleOf": ("multiple_of", "Must be a multiple of {}"),
        "minProperties": ("array_min_properties", "Must have at least {} properties"),
        "maxProperties": ("array_max_properties", "Must have at most {} properties"),
        "allOf": ("number_all_of", "Must validate all the schemas (allOf)"),
        "not": ("number_not", "Must not validate the schema (not)"),
        "contains": ("contains", "At least one of the items must match"),
    }
    if kind in simple:
        name, template = simple[kind]
        shown = _number(value) if isinstance(value, int | float) else value
        yield name, field, template.format(shown)
        if kind == "allOf":
            for sub in error.context or []:
                yield from _translate(sub)
        return
    yield kind, field, error.message


@functools.lru_cache(maxsize=128)
def _checked_validator(text: str) -> Any:
    """A validator for a schema given as JSON text, checked once (policies reuse few schemas)."""
    schema = json.loads(text)
    validator = _validator(schema)
    validator.check_schema(schema)
    return validator


def match_schema(document: Any, schema: Any) -> list[Any] | None:
    """``[ok, errors]`` as OPA's ``json.match_schema``; ``None`` (undefined) for a bad schema."""
    try:
        document = _decode(document)
        text = schema if isinstance(schema, str) else json.dumps(schema, sort_keys=True)
        validator = _checked_validator(text)
        errors = sorted(validator.iter_errors(document), key=lambda e: list(map(str, e.path)))
    except (
        ValueError,
        jsonschema.exceptions.SchemaError,
        jsonschema.exceptions.RefResolutionError,
    ):
        return None
    except Exception:
        return None
    out = []
    for error in errors:
        for kind, field, desc in _translate(error):
            out.append({"error": f"{field}: {desc}", "type": kind, "field": field, "desc": desc})
    return [not out, out]


def verify_schema(schema: Any) -> list[Any] | None:
    """``[ok, error-or-null]`` as OPA's ``json.verify_schema``."""
    if isinstance(schema, str):
        return list(_verify_text(schema))
    return _verify(schema)


@functools.lru_cache(maxsize=128)
def _verify_text(text: str) -> tuple[bool, str | None]:
    ok, error = _verify(text)
    return ok, error


def _verify(schema: Any) -> list[Any]:
    try:
        schema = _decode(schema)
    except ValueError as error:
        return [False, f"invalid JSON: {error}"]
    if not isinstance(schema, dict | bool):
        return [False, "jsonschema: wrong type, expected string or object"]
    try:
        cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft7Validator)
        cls.check_schema(schema)  # type: ignore[arg-type]  # booleans are schemas too
    except jsonschema.exceptions.SchemaError as error:
        return [False, error.message]
    return [True, None]
