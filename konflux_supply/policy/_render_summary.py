"""The condensed renderings: ``appstudio`` (Konflux TEST_OUTPUT), ``summary`` and
``summary-markdown``.

Counts are Conforma's: violations and warnings as listed, successes as counted (listed or
not). Two differences, both ADR 0056: the summary's top-level ``success`` is the report's
(Conforma's stays ``false`` by a bug), and a component error makes the appstudio result
``ERROR`` with a note naming it, unless a definite failure already makes it ``FAILURE``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from konflux_supply.models.canonical import dumps_go
from konflux_supply.policy._goformat import go_v
from konflux_supply.policy.input_report import InputReport
from konflux_supply.policy.report import ComponentReport, Report

__all__ = [
    "TestReport",
    "render_appstudio",
    "render_input_summary",
    "render_markdown",
    "render_summary",
    "test_report",
]


@dataclass(frozen=True)
class TestReport:
    """Konflux's TEST_OUTPUT document."""

    __test__ = False  # not a pytest class

    timestamp: str
    successes: int
    failures: int
    warnings: int
    result: str
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "timestamp": self.timestamp,
            "namespace": "",
            "successes": self.successes,
            "failures": self.failures,
            "warnings": self.warnings,
            "result": self.result,
        }
        if self.note:
            out["note"] = self.note
        return out


def created(report: Report) -> datetime:
    return report.created or report.effective_time


def test_report(report: Report) -> TestReport:
    """Counts and result as Conforma's ``toAppstudioReport`` derives them."""
    failures = sum(len(c.violations) for c in report.components)
    warnings = sum(len(c.warnings) for c in report.components)
    successes = sum(c.successes_total for c in report.components)
    note = ""
    if report.failed:
        result = "FAILURE"
    elif report.errors:
        result = "ERROR"
        first = report.errors[0]
        assert first.error is not None
        more = f" (and {len(report.errors) - 1} more)" if len(report.errors) > 1 else ""
        note = f"Error: {first.container_image}: {first.error.cause}{more}"
    elif not report.success:
        result = "FAILURE"
    elif warnings:
        result = "WARNING"
    elif successes == 0:
        result = "SKIPPED"
    else:
        result = "SUCCESS"
    return TestReport(
        timestamp=str(int(created(report).timestamp())),
        successes=successes,
        failures=failures,
        warnings=warnings,
        result=result,
        note=note,
    )


def render_appstudio(report: Report) -> bytes:
    return dumps_go(test_report(report).to_dict())


def _condensed(results: tuple[dict[str, Any], ...]) -> dict[str, list[str]]:
    firsts: dict[str, list[str]] = {}
    counts: dict[str, int] = {}
    for result in results:
        metadata = result.get("metadata") or {}
        if "code" not in metadata:
            continue
        code = go_v(metadata["code"])
        if counts.get(code, 0) < 1:
            firsts.setdefault(code, []).append(str(result.get("msg", "")))
        counts[code] = counts.get(code, 0) + 1
    for code, count in counts.items():
        if count > 1:
            firsts[code].append(f'There are {count - 1} more "{code}" messages')
    return {code: firsts[code] for code in sorted(firsts)}


def _component_summary(component: ComponentReport) -> dict[str, Any]:
    out: dict[str, Any] = {
        "name": component.name,
        "success": component.success,
        "violations": _condensed(component.violations),
        "warnings": _condensed(component.warnings),
        "successes": _condensed(component.successes),
        "total_violations": len(component.violations),
        "total_warnings": len(component.warnings),
        "total_successes": component.successes_total,
    }
    if component.error is not None:
        out["error"] = component.error.to_dict()
    return out


def render_input_summary(report: InputReport) -> bytes:
    """Conforma's input summary (its ``success``, never set there, is the report's here)."""
    files = []
    for f in report.files:
        entry: dict[str, Any] = {
            "name": f.file_path,
            "success": f.success,
            "violations": _condensed(f.violations),
            "warnings": _condensed(f.warnings),
            "successes": _condensed(f.successes or ()),
            "total_violations": len(f.violations),
            "total_warnings": len(f.warnings),
            "total_successes": f.successes_total,
        }
        if f.error is not None:
            entry["error"] = f.error.to_dict()
        files.append(entry)
    return dumps_go({"filepaths": files or None, "success": report.success, "key": ""})


def render_summary(report: Report) -> bytes:
    out: dict[str, Any] = {}
    if report.snapshot:
        out["snapshot"] = report.snapshot
    out["components"] = [_component_summary(c) for c in report.components] or None
    out["success"] = report.success
    out["key"] = report.key
    return dumps_go(out)


def render_markdown(report: Report) -> bytes:
    violations = sum(len(c.violations) for c in report.components)
    warnings = sum(len(c.warnings) for c in report.components)
    successes = sum(c.successes_total for c in report.components)

    def icon(ok: bool) -> str:
        return ":white_check_mark:" if ok else ":x:"

    rows = [
        "| Field     | Value |Status|",
        "|-----------|-------|-------|",
        f"| Time | {created(report).astimezone(UTC).strftime('%Y-%m-%d %H:%M:%S')} |  |",
        f"| Successes | {successes} | {icon(successes >= 1 and violations == 0)} |",
        f"| Failures | {violations} | {icon(violations == 0)} |",
        f"| Warnings | {warnings} | {icon(warnings == 0)} |",
        f"| Result |  | {icon(report.success)} |",
    ]
    return ("\n".join(rows) + "\n").encode()
