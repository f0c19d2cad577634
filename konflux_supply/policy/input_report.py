"""The report of ``validate input``: Conforma's ``ec validate input`` report, field for field.

One :class:`InputFileReport` per evaluated file, in the order given. Its JSON differs from the
image report's on purpose (it is Conforma's): ``violations`` and ``warnings`` are always
arrays, ``successes`` is ``null`` unless listed, and ``success-count`` is written. Formats:
``json``, ``yaml``, ``text`` and ``summary`` (:func:`konflux_supply.policy.outputs.render`).
A file whose evaluation failed carries an ``error`` as components do (ADR 0056).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from konflux_supply.errors import InputError
from konflux_supply.models.canonical import dumps_go
from konflux_supply.policy import _policyspec
from konflux_supply.policy.report import (
    EC_VERSION,
    ComponentError,
    _result,
    format_effective_time,
    sort_results,
)

__all__ = ["InputFileReport", "InputReport"]

Result = dict[str, Any]


@dataclass(frozen=True)
class InputFileReport:
    """One input file's outcome. ``successes`` ``None`` = not listed (``null`` in the JSON)."""

    file_path: str
    violations: tuple[Result, ...] = ()
    warnings: tuple[Result, ...] = ()
    successes: tuple[Result, ...] | None = None
    success_count: int | None = None
    error: ComponentError | None = None

    def __post_init__(self) -> None:
        violations = list(self.violations)
        if self.error is not None and self.error.violation() not in violations:
            violations.append(self.error.violation())
        object.__setattr__(self, "violations", sort_results(violations))
        object.__setattr__(self, "warnings", sort_results(self.warnings))
        listed = 0
        if self.successes is not None:
            object.__setattr__(self, "successes", sort_results(self.successes))
            listed = len(self.successes)
        count = listed if self.success_count is None else self.success_count
        if count < listed:
            raise InputError("success count is below the successes listed", field="successes")
        object.__setattr__(self, "success_count", count)

    @property
    def success(self) -> bool:
        return self.error is None and not self.violations

    @property
    def successes_total(self) -> int:
        return self.success_count or 0

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "filepath": self.file_path,
            "violations": [_result(r) for r in self.violations],
            "warnings": [_result(r) for r in self.warnings],
            "successes": None if self.successes is None else [_result(r) for r in self.successes],
            "success": self.success,
        }
        if self.error is not None:
            out["error"] = self.error.to_dict()
        out["success-count"] = self.successes_total
        return out


@dataclass(frozen=True)
class InputReport:
    """The report of one ``validate input`` run."""

    files: tuple[InputFileReport, ...]
    policy: Mapping[str, Any]
    effective_time: datetime
    ec_version: str = EC_VERSION
    effective_time_nanos: int = 0
    created: datetime | None = None

    def __post_init__(self) -> None:
        if self.effective_time.tzinfo is None:
            raise InputError("effective time must be timezone-aware", field="effective-time")

    @property
    def success(self) -> bool:
        return all(f.success for f in self.files)

    @property
    def errors(self) -> tuple[InputFileReport, ...]:
        return tuple(f for f in self.files if f.error is not None)

    @property
    def failed(self) -> bool:
        return any(f.error is None and f.violations for f in self.files)

    def exit_code(self, *, strict: bool = True) -> int:
        """As :meth:`Report.exit_code`: 0 pass, 1 failure (0 unless strict), 3 no verdict."""
        if self.failed and strict:
            return 1
        return 3 if self.errors else 0

    def result(self) -> str:
        """The text report's ``Result:`` (Conforma: FAILURE, WARNING or SUCCESS)."""
        if self.failed:
            return "FAILURE"
        if self.errors:
            return "ERROR"
        if any(f.warnings for f in self.files):
            return "WARNING"
        return "SUCCESS"

    def to_dict(self) -> dict[str, Any]:
        return {
            "success": self.success,
            "filepaths": [f.to_dict() for f in self.files] or None,
            "policy": _policyspec.canonical(self.policy),
            "ec-version": self.ec_version,
            "effective-time": format_effective_time(self.effective_time, self.effective_time_nanos),
        }

    def to_json(self) -> bytes:
        """Compact JSON, byte for byte as Go's ``json.Marshal`` of Conforma's input report."""
        return dumps_go(self.to_dict())
