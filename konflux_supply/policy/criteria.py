"""Which rules count for an image: include/exclude, volatile config, scoring, and the verdict lists.

Semantics are Conforma's (``internal/evaluator/criteria.go``, ``filters.go``,
``conftest_evaluator.go``; reference/conforma.md §3; ADR 0055):

* **Lists per source and image.** ``include`` = ``config.include`` + the active
  ``volatileConfig.include`` items that apply to this image (likewise ``exclude``). A volatile
  item is active when ``effectiveOn <= effective time <= effectiveUntil`` (RFC 3339 or
  ``YYYY-MM-DD``; missing = open; unparseable = skipped with a warning) and applies when it
  has no scope, or its ``imageUrl`` is the image's repository, its ``imageDigest``/``imageRef``
  the image's digest, or one of its ``componentNames`` the component's name, with or without
  the multi-arch suffix ``-sha256:<hex>-<arch>``. When the source selects nothing at all, the
  deprecated spec ``configuration`` is used (``collections: [c]`` = include ``@c``). An empty
  include list becomes ``["*"]``.
* **Matchers and scores.** A result with code ``pkg.rule`` and terms *T* is matched by ``pkg``,
  ``pkg.*``, ``pkg.rule``, each of those with ``:t`` for *t* in *T*, ``*`` and ``@c`` for its
  collections. Each list entry equal to a matcher scores: ``@c`` 10; otherwise ``:term`` +100,
  ``*`` 1, a package part 10 per dot (``pkg`` 10, ``*.rule`` 1) and a named rule +100. A rule
  or result is **included iff its include score is greater than its exclude score**.
* **Verdict lists** (:func:`score_results`): results without a code are always kept; a ``warn``
  with ``severity: failure`` is a violation, a ``deny`` with ``severity: warning`` a warning;
  a ``deny`` whose ``effective_on`` is not yet reached is a warning whose message says when it
  becomes a failure; every included annotated rule of an evaluated package that reported
  nothing is a success (``msg: Pass``); results of rules whose ``depends_on`` were all reported
  are dropped; violations get the exclude hint in their description; without ``info`` only
  ``code``, ``effective_on`` and ``term`` stay in the metadata; lists are sorted by code, term
  and message. Nothing at all to report is a :class:`~konflux_supply.errors.PolicyError`.
* **Better than Conforma:** an include or exclude entry that names no rule, package or
  collection that exists becomes a warning without code (``Include criterion 'x' doesn't match
  any policy rule``, likewise ``Exclude``) and is listed in :attr:`Outcome.unmatched_criteria`;
  :meth:`Outcome.with_strict_config` turns those warnings into violations (``--strict-config``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, Literal

from konflux_supply.errors import InputError, PolicyError
from konflux_supply.oci import parse_reference
from konflux_supply.policy import _results as res
from konflux_supply.policy._results import RuleInfoLike
from konflux_supply.policy.config import Configuration, Source, VolatileCriterion

__all__ = [
    "Criteria",
    "Outcome",
    "RuleInfoLike",
    "UnmatchedCriterion",
    "matchers_for_code",
    "original_component_name",
    "parse_volatile_time",
    "score",
    "score_results",
]

# The suffix image-index expansion appends to a component name ("-sha256:<hex>-<arch>");
# Go's RE2 ``\S`` is ASCII: anything but tab, newline, form feed, carriage return and space.
_MULTI_ARCH_SUFFIX = re.compile(r"-sha256:[0-9a-f]{64}-[^\t\n\f\r ]+\Z")
_RFC3339 = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:[.,](\d+))?(Z|[+-]\d{2}:\d{2})"
)
_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})")


def original_component_name(name: str) -> str:
    """``name`` without the multi-arch suffix ``-sha256:<64 hex>-<arch>`` (if it has one)."""
    return _MULTI_ARCH_SUFFIX.sub("", name)


def parse_volatile_time(text: str) -> datetime | None:
    """An ``effectiveOn``/``effectiveUntil``: RFC 3339, else ``YYYY-MM-DD`` (UTC midnight)."""
    match = _RFC3339.fullmatch(text)
    try:
        if match:
            year, month, day, hour, minute, second, fraction, zone = match.groups()
            micro = int((fraction or "0")[:6].ljust(6, "0"))
            stamp = f"{year}-{month}-{day}T{hour}:{minute}:{second}.{micro:06d}"
            return datetime.fromisoformat(stamp + ("+00:00" if zone == "Z" else zone))
        match = _DATE.fullmatch(text)
        if match:
            year, month, day = (int(part) for part in match.groups())
            return datetime(year, month, day, tzinfo=UTC)
    except ValueError:
        return None
    return None


def score(entry: str) -> int:
    """The specificity of one include/exclude entry (Conforma's ``LegacyScore``)."""
    if entry.startswith("@"):
        return 10
    value = 0
    name, _, term = entry.partition(":")
    if term:
        value += 100
    parts = name.split(".")
    if len(parts) == 1:
        value += 1 if name == "*" else 10
    else:
        package = ".".join(parts[:-1])
        value += 1 if package == "*" else 10 * (len(parts) - 1)
        if parts[-1] not in ("*", ""):
            value += 100
    return value


def matchers_for_code(
    code: str, *, terms: Iterable[str] = (), collections: Iterable[str] = ()
) -> list[str]:
    """Every entry that matches a rule or result (Conforma's ``LegacyMakeMatchers``).

    Only the last package segment of ``code`` counts: ``a.b.pkg.rule`` → ``pkg``, ``pkg.*``,
    ``pkg.rule``.
    """
    parts = code.split(".")
    package = parts[-2] if len(parts) >= 2 else ""
    found = [package, f"{package}.*", f"{package}.{parts[-1]}"] if package else []
    found += [f"{matcher}:{term}" for term in terms if term for matcher in list(found)]
    found.append("*")
    found += [f"@{collection}" for collection in collections]
    return found


def _result_matchers(result: Mapping[str, Any]) -> list[str]:
    collections = result.get("metadata", {}).get(res.COLLECTIONS)
    return matchers_for_code(
        res.first_string(result, res.CODE),
        terms=res.strings(result, res.TERM),
        collections=[c for c in collections if isinstance(c, str)]
        if isinstance(collections, list)
        else (),
    )


def _rule_matchers(rule: RuleInfoLike) -> list[str]:
    return matchers_for_code(rule.code, collections=rule.collections)


def _sum(matchers: Sequence[str], entries: Sequence[str]) -> int:
    return sum(score(entry) for matcher in matchers for entry in entries if entry == matcher)


@dataclass(frozen=True)
class Criteria:
    """The include and exclude lists of one source for one image (build with :meth:`for_image`).

    ``defaulted`` says ``include`` is the implicit ``["*"]``; ``warnings`` are the volatile
    criteria skipped because a date could not be read (for people, on stderr).
    """

    include: tuple[str, ...] = ("*",)
    exclude: tuple[str, ...] = ()
    defaulted: bool = True
    warnings: tuple[str, ...] = ()

    @classmethod
    def for_image(
        cls,
        source: Source,
        *,
        image_ref: str,
        effective_time: datetime,
        image_digest: str | None = None,
        component_name: str = "",
        configuration: Configuration | None = None,
    ) -> Criteria:
        """The lists for ``image_ref`` (best pinned, ``repo@sha256:…``) and its component.

        ``configuration`` is the spec's deprecated ``configuration`` (used only when the
        source selects nothing, not even through a volatile item for another image).
        """
        at = _aware(effective_time)
        config = source.config
        include: list[str] = []
        exclude: list[str] = []
        if config is not None and (config.include or config.exclude):
            include += config.include
            exclude += config.exclude
        warnings: list[str] = []
        volatile = source.volatile_config
        scoped_include: list[tuple[VolatileCriterion, str]] = []
        scoped_exclude: list[tuple[VolatileCriterion, str]] = []
        if volatile is not None:
            for items, plain, scoped in (
                (volatile.include, include, scoped_include),
                (volatile.exclude, exclude, scoped_exclude),
            ):
                for item in items:
                    if not _active(item, at, warnings):
                        continue
                    if _scoped(item):
                        names = item.component_names or ("",)
                        scoped.extend((item, name) for name in names)
                    else:
                        plain.append(item.value)
        if not (include or exclude or scoped_include or scoped_exclude) and configuration:
            include += configuration.include
            exclude += configuration.exclude
            include += [f"@{collection}" for collection in configuration.collections]
        defaulted = not (include or scoped_include)
        if defaulted:
            include.append("*")
        keys = _image_keys(image_ref, image_digest)
        wanted = [component_name] if component_name else []
        if component_name and original_component_name(component_name) != component_name:
            wanted.append(original_component_name(component_name))
        return cls(
            include=tuple(_for_image(scoped_include, keys, wanted) + include),
            exclude=tuple(_for_image(scoped_exclude, keys, wanted) + exclude),
            defaulted=defaulted,
            warnings=tuple(warnings),
        )

    def includes(self, matchers: Sequence[str]) -> bool:
        """Whether something with these matchers is in: include score > exclude score."""
        return _sum(matchers, self.include) > _sum(matchers, self.exclude)

    def includes_rule(self, rule: RuleInfoLike) -> bool:
        """Pre-evaluation: is this annotated rule in scope (its terms are not known yet)?"""
        return self.includes(_rule_matchers(rule))

    def includes_result(self, result: Mapping[str, Any]) -> bool:
        """Post-evaluation: is this result (code, terms, collections in its metadata) in?"""
        return self.includes(_result_matchers(result))

    def packages_to_evaluate(
        self, rules: Iterable[RuleInfoLike], packages: Iterable[str]
    ) -> frozenset[str]:
        """The packages to evaluate: those with at least one included rule.

        A package without annotated rules counts through its package matchers (``pkg``,
        ``pkg.*``, ``*``). When no package qualifies every package is evaluated, as Conforma
        does (results without a code are then still reported).
        """
        everything = frozenset(packages)
        by_package: dict[str, list[RuleInfoLike]] = {}
        for rule in rules:
            by_package.setdefault(rule.package, []).append(rule)
        chosen = set()
        for package in everything | by_package.keys():
            annotated = by_package.get(package)
            if annotated:
                if any(self.includes_rule(rule) for rule in annotated):
                    chosen.add(package)
            else:
                last = package.rsplit(".", 1)[-1]
                if self.includes([last, f"{last}.*", "*"]):
                    chosen.add(package)
        return frozenset(chosen) if chosen else everything | by_package.keys()


def _scoped(item: VolatileCriterion) -> bool:
    return bool(item.image_ref or item.image_url or item.image_digest or item.component_names)


def _aware(when: datetime) -> datetime:
    if when.tzinfo is None:
        raise InputError("the effective time must carry a time zone", field="effective_time")
    return when


def _active(item: VolatileCriterion, at: datetime, warnings: list[str]) -> bool:
    start, end = at, at
    for text, is_start in ((item.effective_on, True), (item.effective_until, False)):
        if text:
            when = parse_volatile_time(text)
            if when is None:
                warnings.append(
                    f"skipping volatile criterion {item.value!r}: unable to parse {text!r} "
                    "as RFC3339 or YYYY-MM-DD"
                )
                return False
            start, end = (when, end) if is_start else (start, when)
    return start <= at <= end


def _image_keys(image_ref: str, image_digest: str | None) -> list[str]:
    try:
        reference = parse_reference(image_ref, default_tag=None)
    except InputError:
        return []  # Conforma: an unreadable reference gets only the unscoped items
    keys = [reference.name]
    digest = image_digest or reference.digest
    if digest:
        keys.append(digest)
    return keys


def _for_image(
    scoped: Sequence[tuple[VolatileCriterion, str]], keys: Sequence[str], names: Sequence[str]
) -> list[str]:
    if not keys:
        return []
    out: list[str] = []
    for key in keys:  # repository first, then digest: Conforma's lookup order
        for item, _ in scoped:
            scope = item.image_ref or item.image_url or item.image_digest
            if scope and scope == key:
                out.append(item.value)
    for name in names:
        out += [item.value for item, component in scoped if component and component == name]
    return out


@dataclass(frozen=True)
class UnmatchedCriterion:
    """An include or exclude entry that names nothing that exists in the source."""

    kind: Literal["include", "exclude"]
    value: str

    @property
    def message(self) -> str:
        """The warning's text (Conforma's wording for includes)."""
        return f"{self.kind.capitalize()} criterion '{self.value}' doesn't match any policy rule"


@dataclass(frozen=True)
class Outcome:
    """The verdict lists of one source group for one image, as plain result dicts."""

    violations: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[dict[str, Any]] = field(default_factory=list)
    successes: list[dict[str, Any]] = field(default_factory=list)
    unmatched_criteria: tuple[UnmatchedCriterion, ...] = ()

    def with_strict_config(self) -> Outcome:
        """``--strict-config``: the unmatched-criterion warnings become violations."""
        texts = {criterion.message for criterion in self.unmatched_criteria}
        moved = [r for r in self.warnings if r["msg"] in texts and not r.get("metadata")]
        if not moved:
            return self
        return replace(
            self,
            violations=res.finish([*self.violations, *moved]),
            warnings=[r for r in self.warnings if not any(r is m for m in moved)],
        )


def score_results(
    raw: Mapping[str, Mapping[str, Sequence[Any]]],
    rules: Mapping[str, RuleInfoLike],
    criteria: Criteria,
    *,
    effective_time: datetime,
    info: bool = False,
    report_unmatched_excludes: bool = True,
) -> Outcome:
    """Turn one source group's raw Rego output for one image into Conforma's verdict lists.

    ``raw`` is ``{package: {"deny": [...], "warn": [...]}}`` for the evaluated packages;
    ``rules`` the source's annotated rules by code. ``info`` keeps all metadata.
    ``report_unmatched_excludes`` off gives Conforma's exact warnings (it checks includes
    only). Raises :class:`PolicyError` for a result that cannot be read or when there is
    nothing at all to report (``no successes, warnings, or failures, check input``).
    """
    at = _aware(effective_time)
    violations: list[dict[str, Any]] = []
    warnings: list[dict[str, Any]] = []
    successes: list[dict[str, Any]] = []
    known: set[str] = set()
    for package, kinds in raw.items():
        last = package.rsplit(".", 1)[-1]
        known.update((last, f"{last}.*", "*"))
        found: list[tuple[str, dict[str, Any]]] = []
        for kind in ("warn", "deny"):
            for element in kinds.get(kind, ()):
                result = res.to_result(element, package=package, rule=kind)
                code = res.string_code(result)
                if code is not None:
                    res.enrich(result, rules.get(code), at)
                known.update(_result_matchers(result))
                if res.first_string(result, res.CODE) and not criteria.includes_result(result):
                    continue
                found.append((kind, result))
        seen: set[str] = set()
        for kind, result in found:
            code = res.string_code(result)
            if code is not None:
                seen.add(code)
            flip = res.severity(result)
            if kind == "warn":
                (violations if flip == "failure" else warnings).append(result)
            elif flip == "warning":
                warnings.append(result)
            elif not res.is_effective(result, at):
                when = result["metadata"][res.EFFECTIVE_ON]
                result["msg"] = res.future_message(result["msg"], when)
                warnings.append(result)
            else:
                violations.append(result)
        successes += _successes(package, rules, seen, criteria)
    if not (violations or warnings or successes):
        raise PolicyError("no successes, warnings, or failures, check input")
    for rule in rules.values():
        known.update(_rule_matchers(rule))
    unmatched = _unmatched(criteria, known, report_unmatched_excludes)
    warnings += [{"msg": criterion.message} for criterion in unmatched]
    reported = {
        code for result in violations + warnings if (code := res.string_code(result)) is not None
    }
    violations = res.trim(violations, reported, rules)
    for result in violations:
        res.add_exclude_note(result)
    warnings = res.trim(warnings, reported, rules)
    successes = res.trim(successes, reported, rules)
    if not info:
        for result in (*violations, *warnings, *successes):
            res.keep_some_metadata(result)
    return Outcome(
        violations=res.finish(violations),
        warnings=res.finish(warnings),
        successes=res.finish(successes),
        unmatched_criteria=unmatched,
    )


def _successes(
    package: str, rules: Mapping[str, RuleInfoLike], seen: set[str], criteria: Criteria
) -> list[dict[str, Any]]:
    out = []
    for code, rule in rules.items():
        if code in seen or rule.package != package:
            continue
        metadata: dict[str, Any] = {res.CODE: code}
        if rule.title:
            metadata[res.TITLE] = rule.title
        if rule.description:
            metadata[res.DESCRIPTION] = rule.description
        if rule.collections:
            metadata[res.COLLECTIONS] = list(rule.collections)
        if rule.depends_on:
            metadata[res.DEPENDS_ON] = list(rule.depends_on)
        success = {"msg": "Pass", "metadata": metadata}
        if not criteria.includes_result(success):
            continue
        if rule.effective_on:
            metadata[res.EFFECTIVE_ON] = rule.effective_on
        out.append(success)
    return out


def _unmatched(
    criteria: Criteria, known: set[str], with_excludes: bool
) -> tuple[UnmatchedCriterion, ...]:
    lists: list[tuple[Literal["include", "exclude"], Sequence[str]]] = []
    if not criteria.defaulted:
        lists.append(("include", criteria.include))
    if with_excludes:
        lists.append(("exclude", criteria.exclude))
    out: list[UnmatchedCriterion] = []
    for kind, entries in lists:
        for entry in dict.fromkeys(entries):
            if entry in known or entry.partition(":")[0] in known:
                continue
            out.append(UnmatchedCriterion(kind, entry))
    return tuple(out)
