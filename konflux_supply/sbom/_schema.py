"""CycloneDX JSON-schema validation with the official schemas, in linear time.

The schemas are the ones cyclonedx-python-lib ships (``bom-1.x.SNAPSHOT.schema.json`` with the
SPDX licence-id, JSF and cryptography-definition schemas they reference), checked with
``jsonschema``'s Draft 7 validator and format checker, as cyclonedx-python-lib's own
``JsonStrictValidator`` does. Two checks are done differently, with the same verdicts
(``tests/unit/sbom/test_schema.py`` and ``test_iri.py`` compare them side by side):

* ``uniqueItems``: jsonschema compares every pair of items (quadratic: 30 s for 5,000
  components); we hash each item once.
* ``enum`` on a string: a membership test instead of one comparison call per member.
* the ``iri-reference`` format: jsonschema runs an Earley parser (~45 ms per URL, so minutes for
  an SBOM with a distribution URL per component); we use an equivalent regular expression.
"""

from __future__ import annotations

import copy
import functools
import json
from collections.abc import Iterator
from typing import Any

from konflux_supply.errors import BackendUnavailable, field_path

from ._common import ValidationIssue

__all__ = ["schema_issues"]

_PREFIX = "http://cyclonedx.org/schema/"
_REFERENCED = (
    "spdx.SNAPSHOT.schema.json",
    "jsf-0.82.SNAPSHOT.schema.json",
    "cryptography-defs.SNAPSHOT.schema.json",
)


def _freeze(value: Any) -> Any:
    """A hashable key equal for JSON values that JSON Schema calls equal (1 == 1.0, true != 1)."""
    if isinstance(value, dict):
        return ("o", frozenset((key, _freeze(item)) for key, item in value.items()))
    if isinstance(value, list):
        return ("a", tuple(_freeze(item) for item in value))
    if isinstance(value, bool):
        return ("b", value)
    if isinstance(value, (int, float)):
        return ("n", value)
    return ("s", value)


def _unique_items(validator: Any, unique: Any, instance: Any, schema: Any) -> Iterator[Any]:
    from jsonschema.exceptions import ValidationError

    if not unique or not validator.is_type(instance, "array"):
        return
    seen: dict[Any, int] = {}
    for index, item in enumerate(instance):
        first = seen.setdefault(_freeze(item), index)
        if first != index:
            yield ValidationError(f"items {first} and {index} are equal; items must be unique")
            return


def _schema_text(name: str) -> str:
    from importlib.resources import files

    try:
        return files("cyclonedx.schema").joinpath("_res", name).read_text(encoding="utf-8")
    except ModuleNotFoundError:
        raise BackendUnavailable.missing_extra("sbom", "cyclonedx-python-lib") from None
    except OSError:
        raise BackendUnavailable(
            f"the CycloneDX schema {name} is not where cyclonedx-python-lib kept it",
            hint="install a cyclonedx-python-lib release this version was tested with (8 to 11)",
        ) from None


@functools.lru_cache(maxsize=8)
def _validator(spec_version: str) -> Any:
    try:
        from jsonschema import Draft7Validator, validators
        from referencing import Registry
        from referencing.jsonschema import DRAFT7
    except ModuleNotFoundError:
        raise BackendUnavailable.missing_extra("sbom", "jsonschema") from None
    registry: Any = Registry().with_resources(
        (_PREFIX + name, DRAFT7.create_resource(json.loads(_schema_text(name))))
        for name in _REFERENCED
    )
    schema = json.loads(_schema_text(f"bom-{spec_version}.SNAPSHOT.schema.json"))
    original_enum = Draft7Validator.VALIDATORS["enum"]

    def enum(validator: Any, enums: Any, instance: Any, schema: Any) -> Any:
        # A string equals only an equal string, so a C-level `in` gives jsonschema's verdict
        # without one Python call per enum member (the SPDX licence list has ~700).
        if isinstance(instance, str) and isinstance(enums, list) and instance in enums:
            return iter(())
        return original_enum(validator, enums, instance, schema)

    linear = validators.extend(  # type: ignore[no-untyped-call]
        Draft7Validator, {"uniqueItems": _unique_items, "enum": enum}
    )
    return linear(schema, registry=registry, format_checker=_format_checker(Draft7Validator))


def _format_checker(draft: Any) -> Any:
    """Draft 7's format checker with ``iri-reference`` as a regular expression (see _iri)."""
    from ._iri import is_iri_reference

    checker = copy.copy(draft.FORMAT_CHECKER)
    checker.checkers = dict(checker.checkers)

    def iri(instance: object) -> bool:
        return not isinstance(instance, str) or is_iri_reference(instance)

    if "iri-reference" in checker.checkers:  # only when jsonschema can check it at all
        checker.checks("iri-reference")(iri)
    return checker


def _path(parts: Any) -> str:
    return field_path(*parts) if parts else ""


def _most_specific(error: Any) -> Any:
    """For ``oneOf``/``anyOf`` failures, the sub-error jsonschema ranks most relevant."""
    from jsonschema.exceptions import best_match

    while error.context:
        deeper = best_match(error.context)
        if deeper is None:
            break
        error = deeper
    return error


def _short(message: str, limit: int = 300) -> str:
    # jsonschema puts the whole offending value in its messages; a component can be large.
    return message if len(message) <= limit else message[: limit - 1] + "…"


def schema_issues(data: Any, spec_version: str, *, limit: int) -> list[ValidationIssue]:
    """Every schema violation of a CycloneDX document (up to ``limit``), with JSON paths."""
    validator = _validator(spec_version)
    out: list[ValidationIssue] = []
    for error in validator.iter_errors(data):
        specific = _most_specific(error)
        out.append(ValidationIssue(_path(specific.absolute_path), _short(specific.message)))
        if len(out) >= limit:
            break
    return out
