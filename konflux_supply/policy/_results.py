"""Result dicts in Conforma's shape: reading Rego output, metadata, time, trimming and order.

Private helpers of :mod:`konflux_supply.policy.criteria`; each mirrors one function of
Conforma's evaluator (named in its docstring) so the semantics can be checked side by side.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from konflux_supply.errors import PolicyError

CODE = "code"
COLLECTIONS = "collections"
DEPENDS_ON = "depends_on"
DESCRIPTION = "description"
EFFECTIVE_ON = "effective_on"
SEVERITY = "severity"
SOLUTION = "solution"
TERM = "term"
TITLE = "title"

#: ``effective_on`` older than effective time minus this is dropped from the metadata.
EFFECTIVE_ON_RELEVANCE = timedelta(days=90)
_KEPT_WITHOUT_INFO = frozenset({CODE, EFFECTIVE_ON, TERM})

# Go's time.Parse with layout "2006-01-02T15:04:05Z": the hour may have one digit, a
# fractional second may follow the seconds, the zone is the literal "Z".
_EFFECTIVE_ON = re.compile(r"(\d{4})-(\d{2})-(\d{2})T(\d{1,2}):(\d{2}):(\d{2})(?:[.,](\d+))?Z")


class RuleInfoLike(Protocol):
    """What the criteria need of a rule's ``# METADATA`` (``policy.annotations.RuleInfo``)."""

    @property
    def package(self) -> str: ...
    @property
    def short_name(self) -> str: ...
    @property
    def code(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def title(self) -> str | None: ...
    @property
    def description(self) -> str | None: ...
    @property
    def solution(self) -> str | None: ...
    @property
    def collections(self) -> Sequence[str]: ...
    @property
    def depends_on(self) -> Sequence[str]: ...
    @property
    def effective_on(self) -> str | None: ...
    @property
    def severity(self) -> str | None: ...


def to_result(element: Any, *, package: str, rule: str) -> dict[str, Any]:
    """One element of a ``deny``/``warn`` set: a string is the message; an object carries
    ``msg`` and every other key is metadata (conftest's reading). Anything else cannot be
    reported, so it is a :class:`PolicyError`, never silently dropped."""
    if isinstance(element, str):
        return {"msg": element, "metadata": {}}
    if isinstance(element, dict):
        if "msg" not in element:
            raise PolicyError(f"a {rule} result of package {package} has no msg field")
        message = element["msg"]
        if not isinstance(message, str):
            raise PolicyError(
                f"a {rule} result of package {package} has a msg that is not a string"
            )
        metadata = {key: value for key, value in element.items() if key != "msg"}
        return {"msg": message, "metadata": metadata}
    raise PolicyError(
        f"a {rule} result of package {package} is neither a string nor an object: "
        f"{json.dumps(element, default=str)[:80]}"
    )


def strings(result: Mapping[str, Any], key: str) -> list[str]:
    """A metadata value as strings: a non-empty string, or the non-empty strings of a list
    (Conforma's ``extractStringsFromMetadata``)."""
    value = result.get("metadata", {}).get(key)
    if isinstance(value, str):
        return [value] if value else []
    if isinstance(value, list):
        return [item for item in value if isinstance(item, str) and item]
    return []


def first_string(result: Mapping[str, Any], key: str) -> str:
    """The first of :func:`strings` or ``""`` (``ExtractStringFromMetadata``)."""
    found = strings(result, key)
    return found[0] if found else ""


def string_code(result: Mapping[str, Any]) -> str | None:
    """The ``code`` when it is a string (possibly empty), as Go's ``.(string)`` assertion."""
    code = result.get("metadata", {}).get(CODE)
    return code if isinstance(code, str) else None


def parse_effective_on(text: str) -> datetime | None:
    """``effective_on`` in Conforma's one accepted layout, or ``None``."""
    match = _EFFECTIVE_ON.fullmatch(text)
    if not match:
        return None
    year, month, day, hour, minute, second, fraction = match.groups()
    try:
        micro = int((fraction or "0")[:6].ljust(6, "0"))
        return datetime(
            int(year), int(month), int(day), int(hour), int(minute), int(second), micro, UTC
        )
    except ValueError:
        return None


def enrich(result: dict[str, Any], rule: RuleInfoLike | None, effective_time: datetime) -> None:
    """Add the rule's annotations to a result that has a string code (``addMetadataToResults``):
    collections normalised to strings, then title, effective_on, severity, description,
    solution, collections and depends_on from the annotations, then an ``effective_on`` older
    than 90 days before the effective time dropped."""
    metadata = result["metadata"]
    if COLLECTIONS in metadata:
        value = metadata[COLLECTIONS]
        if isinstance(value, list):
            metadata[COLLECTIONS] = [
                item if isinstance(item, str) else json.dumps(item) for item in value
            ]
        else:
            del metadata[COLLECTIONS]
    if rule is not None:
        for key, value in (
            (TITLE, rule.title),
            (EFFECTIVE_ON, rule.effective_on),
            (SEVERITY, rule.severity),
            (DESCRIPTION, rule.description),
            (SOLUTION, rule.solution),
        ):
            if value:
                metadata[key] = value
        if rule.collections:
            metadata[COLLECTIONS] = list(rule.collections)
        if rule.depends_on:
            metadata[DEPENDS_ON] = list(rule.depends_on)
    effective_on = metadata.get(EFFECTIVE_ON)
    if isinstance(effective_on, str):
        when = parse_effective_on(effective_on)
        if when is not None and when < effective_time - EFFECTIVE_ON_RELEVANCE:
            del metadata[EFFECTIVE_ON]


def severity(result: Mapping[str, Any]) -> str:
    """``"failure"``, ``"warning"`` or ``""`` (any other value is ignored, as Conforma)."""
    value = result.get("metadata", {}).get(SEVERITY)
    return value if value in ("failure", "warning") else ""


def is_effective(result: Mapping[str, Any], effective_time: datetime) -> bool:
    """Whether a failure is in force: no (readable) ``effective_on``, or one strictly before
    the effective time (``isResultEffective``)."""
    value = result.get("metadata", {}).get(EFFECTIVE_ON)
    if not isinstance(value, str):
        return True
    when = parse_effective_on(value)
    return when is None or when < effective_time


def future_message(message: str, effective_on: str) -> str:
    """``formatEffectiveOnMessage``."""
    return f"{message.removesuffix('.')}. This will become a failure starting on {effective_on}"


def exclude_directive(code: str, term: Any) -> str:
    """What to add to ``exclude`` to silence a failure (``excludeDirectives``)."""
    terms: list[str] = []
    if isinstance(term, str) and term:
        terms.append(f'"{code}:{term}"')
    if isinstance(term, list):
        terms.extend(f'"{code}:{item}"' for item in term if isinstance(item, str) and item)
    if not terms:
        return f'"{code}"'
    prefix = "one or more of " if len(terms) > 1 else ""
    return prefix + ", ".join(terms)


def add_exclude_note(result: dict[str, Any]) -> None:
    """Append the exclude hint to a failure's description (``trim``'s ``addNote``)."""
    metadata = result.get("metadata", {})
    description = metadata.get(DESCRIPTION)
    code = metadata.get(CODE)
    if not isinstance(description, str) or not isinstance(code, str):
        return
    metadata[DESCRIPTION] = (
        f"{description.removesuffix('.')}. To exclude this rule add "
        f"{exclude_directive(code, metadata.get(TERM))} to the `exclude` section of the policy "
        "configuration."
    )


def trim(
    results: list[dict[str, Any]], reported: set[str], rules: Mapping[str, RuleInfoLike]
) -> list[dict[str, Any]]:
    """Drop results whose rule depends on codes that were all reported as failure or warning.

    Conforma (``trim``) keeps a result once per dependency that was *not* reported, so a
    result with several dependencies survives while any of them passed (and is repeated);
    we keep the decision and drop the repetition.
    """
    kept = []
    for result in results:
        code = string_code(result)
        rule = rules.get(code) if code is not None else None
        depends_on = list(rule.depends_on) if rule is not None else []
        if depends_on and all(dependency in reported for dependency in depends_on):
            continue
        kept.append(result)
    return kept


def keep_some_metadata(result: dict[str, Any]) -> None:
    """Without ``--info`` only ``code``, ``effective_on``, ``term`` stay (``keepSomeMetadata``)."""
    metadata = result.get("metadata")
    if metadata:
        result["metadata"] = {k: v for k, v in metadata.items() if k in _KEPT_WITHOUT_INFO}


def finish(results: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Drop empty metadata and sort by code, term, message (``sortResults``)."""
    out = []
    for result in results:
        if not result.get("metadata"):
            result = {"msg": result["msg"]}
        out.append(result)
    out.sort(key=lambda r: (first_string(r, CODE), first_string(r, TERM), r["msg"]))
    return out
