"""The release-gate report: Conforma's ``ec validate image`` report, field for field.

A :class:`Report` holds one :class:`ComponentReport` per Snapshot component. Results
(violations, warnings, successes) are plain dicts in Conforma's shape (ADR 0013)::

    {"msg": "...", "metadata": {"code": "pkg.rule", "term": "...", ...}}

:meth:`Report.to_json` gives the bytes Conforma's ``--output json`` gives for the same data
(Go's field order, ``omitempty`` rules and escaping), and :meth:`Report.from_json` reads them
back. One addition (ADR 0056): a component that could not be evaluated (a registry or the
policy engine did not answer) carries an ``error`` and is never a success; its cause is also a
violation with a ``builtin.*`` code, so tooling that only knows Conforma's keys still fails it.

Exit codes (:meth:`Report.exit_code`): 0 pass (or a policy failure with ``strict=False``),
1 a definite policy failure, 3 no verdict (a component error); 2 (bad input) is raised as
:class:`~konflux_supply.errors.InputError` before any report exists.

:func:`merge` joins the reports of the shards of one Snapshot (:func:`select_shard`) into the
report a single run would have given.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, TypeVar

from konflux_supply import __version__
from konflux_supply.errors import InputError
from konflux_supply.models.canonical import dumps_go
from konflux_supply.policy import _policyspec
from konflux_supply.policy._goformat import go_value

__all__ = [
    "BUILTIN_ATTESTATION_SIGNATURE_CHECK",
    "BUILTIN_ATTESTATION_SYNTAX_CHECK",
    "BUILTIN_IMAGE_ACCESSIBLE",
    "BUILTIN_IMAGE_SIGNATURE_CHECK",
    "BUILTIN_POLICY_EVALUATION",
    "EC_VERSION",
    "ERROR_PREFIX",
    "AttestationResult",
    "ComponentError",
    "ComponentReport",
    "Report",
    "format_effective_time",
    "keep_some_metadata",
    "merge",
    "parse_shard",
    "select_shard",
    "sort_results",
]

BUILTIN_IMAGE_ACCESSIBLE = "builtin.image.accessible"
BUILTIN_IMAGE_SIGNATURE_CHECK = "builtin.image.signature_check"
BUILTIN_ATTESTATION_SIGNATURE_CHECK = "builtin.attestation.signature_check"
BUILTIN_ATTESTATION_SYNTAX_CHECK = "builtin.attestation.syntax_check"
#: Ours: the policy engine could not give an answer (crash, timeout, nothing evaluated).
BUILTIN_POLICY_EVALUATION = "builtin.policy.evaluation"

#: What the report's ``ec-version`` says: which tool wrote it (ADR 0056).
EC_VERSION = f"konflux-supply {__version__}"

#: The prefix of the violation that stands for a component error (ADR 0056).
ERROR_PREFIX = "Could not be evaluated: "

Result = dict[str, Any]
T = TypeVar("T")


def _meta_string(result: Mapping[str, Any], key: str) -> str:
    # Conforma's ExtractStringFromMetadata: a non-empty string, or the first of a list.
    value = (result.get("metadata") or {}).get(key)
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        for item in value:
            if isinstance(item, str):
                return item
    return ""


def sort_results(results: Iterable[Mapping[str, Any]]) -> tuple[Result, ...]:
    """Results in Conforma's order: by ``code``, then ``term``, then ``msg``."""
    return tuple(
        sorted(
            (dict(r) for r in results),
            key=lambda r: (_meta_string(r, "code"), _meta_string(r, "term"), str(r.get("msg"))),
        )
    )


def keep_some_metadata(result: Mapping[str, Any]) -> Result:
    """A result as Conforma prints it without ``--info``: only code, effective_on and term."""
    out = dict(result)
    metadata = result.get("metadata")
    if isinstance(metadata, Mapping):
        out["metadata"] = {
            k: v for k, v in metadata.items() if k in ("code", "effective_on", "term")
        }
    return out


_RFC3339 = re.compile(r"^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$")


def format_effective_time(when: datetime, nanos: int = 0) -> str:
    """RFC3339Nano in UTC as Go writes it (trailing zeros of the fraction dropped)."""
    if when.tzinfo is None:
        raise InputError("effective time must be timezone-aware", field="effective-time")
    utc = when.astimezone(UTC)
    fraction = f"{utc.microsecond * 1000 + nanos:09d}".rstrip("0")
    return utc.strftime("%Y-%m-%dT%H:%M:%S") + (f".{fraction}" if fraction else "") + "Z"


def _parse_time(text: Any, field_name: str, source: str | None = None) -> tuple[datetime, int]:
    match = _RFC3339.match(text) if isinstance(text, str) else None
    if not match:
        raise InputError("not an RFC 3339 time", field=field_name, source=source)
    base, fraction, zone = match.groups()
    digits = (fraction or "").ljust(9, "0")
    try:
        when = datetime.fromisoformat(f"{base}.{digits[:6]}{'+00:00' if zone == 'Z' else zone}")
    except ValueError as error:
        raise InputError(
            f"not an RFC 3339 time: {error}", field=field_name, source=source
        ) from None
    return when.astimezone(UTC), int(digits[6:])


@dataclass(frozen=True)
class ComponentError:
    """Why a component has no verdict: the step's ``builtin.*`` code and the cause.

    ``kind`` names who could not answer (``"registry"``, ``"policy"``, ...), free text.
    """

    code: str
    cause: str
    kind: str = ""

    def violation(self) -> Result:
        """The violation that stands for this error in Conforma's keys."""
        return {"msg": ERROR_PREFIX + self.cause, "metadata": {"code": self.code}}

    def to_dict(self) -> dict[str, str]:
        out = {"code": self.code, "cause": self.cause}
        if self.kind:
            out["kind"] = self.kind
        return out


@dataclass(frozen=True)
class AttestationResult:
    """One attestation seen for the image, as the report lists it.

    ``statement`` (the raw in-toto statement bytes) is not part of the JSON; the
    ``attestation`` output format prints it.
    """

    type: str = ""
    predicate_type: str = ""
    predicate_build_type: str = ""
    signatures: tuple[Mapping[str, Any], ...] = ()
    statement: bytes | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.type:
            out["type"] = self.type
        if self.predicate_type:
            out["predicateType"] = self.predicate_type
        if self.predicate_build_type:
            out["predicateBuildType"] = self.predicate_build_type
        if self.signatures:
            out["signatures"] = [_signature(s) for s in self.signatures]
        return out


def _signature(sig: Mapping[str, Any]) -> dict[str, Any]:
    # Conforma's EntitySignature: keyid, sig, then certificate/chain/metadata when present.
    out: dict[str, Any] = {"keyid": sig.get("keyid", ""), "sig": sig.get("sig", "")}
    for key in ("certificate", "chain", "metadata"):
        if sig.get(key):
            out[key] = go_value(sig[key])
    return out


def _source(source: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    git = source.get("git")
    if isinstance(git, Mapping) and git:
        order = ("url", "revision", "context", "dockerfileUrl")
        out["git"] = {k: git[k] for k in order if k in git and (k == "url" or git[k])}
        out["git"].update({k: v for k, v in git.items() if k not in order})
    out.update({k: v for k, v in source.items() if k != "git"})
    return out


def _result(result: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"msg": result.get("msg", "")}
    if result.get("metadata"):
        out["metadata"] = go_value(result["metadata"])
    if result.get("outputs"):
        out["outputs"] = list(result["outputs"])
    return out


@dataclass(frozen=True)
class ComponentReport:
    """One component's outcome. Results are kept sorted as Conforma sorts them.

    ``successes`` is what the JSON lists (Conforma lists them only with
    ``--show-successes``); ``success_count`` is how many there were (it defaults to
    ``len(successes)`` and is what the text, summary and appstudio counts show).
    """

    name: str
    container_image: str
    source: Mapping[str, Any] = field(default_factory=dict)
    violations: tuple[Result, ...] = ()
    warnings: tuple[Result, ...] = ()
    successes: tuple[Result, ...] = ()
    success_count: int | None = None
    signatures: tuple[Mapping[str, Any], ...] = ()
    attestations: tuple[AttestationResult, ...] = ()
    error: ComponentError | None = None

    def __post_init__(self) -> None:
        violations = list(self.violations)
        if self.error is not None and self.error.violation() not in violations:
            violations.append(self.error.violation())
        object.__setattr__(self, "violations", sort_results(violations))
        object.__setattr__(self, "warnings", sort_results(self.warnings))
        object.__setattr__(self, "successes", sort_results(self.successes))
        count = len(self.successes) if self.success_count is None else self.success_count
        if count < len(self.successes):
            raise InputError("success count is below the successes listed", field="successes")
        object.__setattr__(self, "success_count", count)

    @property
    def success(self) -> bool:
        """No violation and no error (Conforma: ``err == nil && len(violations) == 0``)."""
        return self.error is None and not self.violations

    @property
    def successes_total(self) -> int:
        """``success_count`` as an ``int`` (it is never ``None`` after construction)."""
        return self.success_count or 0

    def to_dict(self) -> dict[str, Any]:
        """The component as Conforma's JSON has it (field order and omissions included)."""
        out: dict[str, Any] = {
            "name": self.name,
            "containerImage": self.container_image,
            "source": _source(self.source),
        }
        for key, results in (
            ("violations", self.violations),
            ("warnings", self.warnings),
            ("successes", self.successes),
        ):
            if results:
                out[key] = [_result(r) for r in results]
        out["success"] = self.success
        if self.error is not None:
            out["error"] = self.error.to_dict()
        if self.signatures:
            out["signatures"] = [_signature(s) for s in self.signatures]
        if self.attestations:
            out["attestations"] = [a.to_dict() for a in self.attestations]
        return out


def _components_order(components: Iterable[ComponentReport]) -> tuple[ComponentReport, ...]:
    # Conforma sorts by containerImage, descending; the name breaks ties here (deterministic).
    return tuple(sorted(components, key=lambda c: (c.container_image, c.name), reverse=True))


@dataclass(frozen=True)
class Report:
    """The report of one ``validate image`` run (or of merged shards).

    ``effective_time`` must be timezone-aware; ``effective_time_nanos`` keeps the
    sub-microsecond digits of a time read back from JSON. ``created`` (when the report was
    made; not in the JSON) dates the JUnit, appstudio and markdown renderings; it defaults
    to the effective time.
    """

    components: tuple[ComponentReport, ...]
    policy: Mapping[str, Any]
    effective_time: datetime
    key: str = ""
    snapshot: str = ""
    ec_version: str = EC_VERSION
    effective_time_nanos: int = 0
    created: datetime | None = None

    def __post_init__(self) -> None:
        if self.effective_time.tzinfo is None:
            raise InputError("effective time must be timezone-aware", field="effective-time")
        if not 0 <= self.effective_time_nanos < 1000:
            raise InputError("sub-microsecond part out of range", field="effective-time")
        object.__setattr__(self, "components", _components_order(self.components))

    @property
    def success(self) -> bool:
        """Every component passed (vacuously true for an empty shard, as Conforma)."""
        return all(c.success for c in self.components)

    @property
    def errors(self) -> tuple[ComponentReport, ...]:
        """Components that could not be evaluated."""
        return tuple(c for c in self.components if c.error is not None)

    @property
    def failed(self) -> bool:
        """A definite "no": a component evaluated without error has a violation."""
        return any(c.error is None and c.violations for c in self.components)

    def exit_code(self, *, strict: bool = True) -> int:
        """0 pass, 1 policy failure (0 when not ``strict``), 3 when no verdict was reached.

        A definite failure outranks an error (retrying cannot turn it into a pass); an
        error is never a pass, ``strict`` or not.
        """
        if self.failed and strict:
            return 1
        if self.errors:
            return 3
        return 0

    @property
    def effective_time_text(self) -> str:
        return format_effective_time(self.effective_time, self.effective_time_nanos)

    def to_dict(self) -> dict[str, Any]:
        """The report as Conforma's JSON has it (field order and omissions included)."""
        out: dict[str, Any] = {"success": self.success}
        if self.snapshot:
            out["snapshot"] = self.snapshot
        out["components"] = [c.to_dict() for c in self.components] or None
        out["key"] = self.key
        out["policy"] = _policyspec.canonical(self.policy)
        out["ec-version"] = self.ec_version
        out["effective-time"] = self.effective_time_text
        return out

    def to_json(self) -> bytes:
        """Compact JSON, byte for byte as Go's ``json.Marshal`` of Conforma's report."""
        return dumps_go(self.to_dict())

    @classmethod
    def from_json(cls, data: bytes | str, *, source: str | None = None) -> Report:
        """Read a report written by :meth:`to_json` (or by Conforma).

        Raises :class:`InputError` naming the field for anything malformed or inconsistent
        (a ``success`` that does not follow from the components, for one).
        """
        from konflux_supply.policy._report_reader import read_report

        def refuse(constant: str) -> None:
            raise ValueError(f"{constant} is not JSON")

        try:
            document = json.loads(data, parse_constant=refuse)
        except (ValueError, RecursionError) as error:
            raise InputError(f"not JSON: {error}", source=source) from None
        return read_report(document, source=source)


def merge(reports: Sequence[Report], *, created: datetime | None = None) -> Report:
    """Join shard reports of one Snapshot into the report one run would have given.

    Every report must share policy, key, effective time, snapshot and ec-version (else
    :class:`InputError` naming the field); a component present in two reports is refused
    (a shard merged twice would count twice).
    """
    if not reports:
        raise InputError("no reports to merge")
    first = reports[0]
    checks: tuple[tuple[str, Callable[[Report], Any]], ...] = (
        ("policy", lambda r: json.dumps(_policyspec.canonical(r.policy), sort_keys=True)),
        ("key", lambda r: r.key),
        ("effective-time", lambda r: r.effective_time_text),
        ("snapshot", lambda r: r.snapshot),
        ("ec-version", lambda r: r.ec_version),
    )
    for index, report in enumerate(reports[1:], start=1):
        for name, get in checks:
            if get(report) != get(first):
                raise InputError(
                    f"report {index + 1} differs from report 1 in {name!r}; only shards of "
                    "one run can be merged",
                    field=name,
                )
    seen: set[tuple[str, str]] = set()
    components: list[ComponentReport] = []
    for report in reports:
        for component in report.components:
            identity = (component.name, component.container_image)
            if identity in seen:
                raise InputError(
                    f"component {component.name!r} ({component.container_image}) is in "
                    "more than one report",
                    field="components",
                )
            seen.add(identity)
            components.append(component)
    return replace(first, components=tuple(components), created=created or first.created)


def parse_shard(text: str) -> tuple[int, int]:
    """``"I/N"`` (0 ≤ I < N) as ``(I, N)``; :class:`InputError` otherwise."""
    match = re.fullmatch(r"\s*(\d{1,6})\s*/\s*(\d{1,6})\s*", text)
    if not match:
        raise InputError(f"shard must be I/N (e.g. 0/4), got {text!r}", field="--shard")
    index, count = int(match.group(1)), int(match.group(2))
    if count < 1 or index >= count:
        raise InputError(f"shard index must be in 0..N-1, got {text!r}", field="--shard")
    return index, count


def _component_key(component: Any) -> tuple[str, str]:
    if isinstance(component, Mapping):
        return str(component.get("containerImage", "")), str(component.get("name", ""))
    return (
        str(getattr(component, "container_image", "")),
        str(getattr(component, "name", "")),
    )


def select_shard(
    components: Sequence[T],
    index: int,
    count: int,
    *,
    key: Callable[[T], Any] | None = None,
) -> list[T]:
    """Shard ``index`` of ``count``: sorted by containerImage (then name), every
    ``count``-th component starting at ``index``.

    ``key`` defaults to ``(containerImage, name)`` of a Snapshot component mapping or of an
    object with ``container_image``/``name`` attributes. The shards of one Snapshot are
    disjoint and together hold every component, whatever order the Snapshot lists them in.
    """
    if count < 1 or not 0 <= index < count:
        raise InputError(f"shard {index}/{count} is out of range", field="--shard")
    ordered = sorted(components, key=key or _component_key)
    return ordered[index::count]
