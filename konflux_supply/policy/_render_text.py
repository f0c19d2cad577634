"""The ``text`` rendering, line for line as Conforma's ``text_report.tmpl``.

Header (success, result, counts), the component list (one ``Component:`` block, or a
``Components:`` list with per-component counts), then ``Results:`` with one block per
violation, warning (``show_warnings``) and success (``show_successes``), each wrapped at 130
columns. Colour (ANSI) only when asked for. A component error (ADR 0056) adds an ``Error:``
line to its component entry.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from konflux_supply.policy._goformat import go_bool, go_s, wrap
from konflux_supply.policy._render_summary import test_report
from konflux_supply.policy.input_report import InputReport
from konflux_supply.policy.report import ComponentReport, Report

__all__ = ["Entry", "Labels", "render_entries", "render_input_text", "render_text"]

_WIDTH = 130
_INDENT = 2
_DOCS = (
    "For more information about policy issues, see the policy documentation: "
    "https://conforma.dev/docs/policy/\n"
)
_STYLE = {"Violation": ("31", "\u2715"), "Warning": ("33", "\u203a"), "Success": ("32", "\u2713")}


def _indent_wrap(text: str) -> str:
    pad = " " * _INDENT
    return pad + wrap(text, _WIDTH - _INDENT).replace("\n", "\n" + pad)


def _truthy(value: Any) -> bool:
    # Go template truth: false, 0, nil and empty strings/lists/maps are false.
    return bool(value) if value is not None else False


@dataclass(frozen=True)
class Entry:
    """One component (or input file) as the text report shows it."""

    ref: str
    violations: tuple[dict[str, Any], ...]
    warnings: tuple[dict[str, Any], ...]
    successes: tuple[dict[str, Any], ...]
    single: str  # the block when it is the only entry
    listed: str  # the block in a list of several


@dataclass(frozen=True)
class Labels:
    """What the report calls its entries (``ImageRef`` for images, ``FilePath`` for inputs)."""

    ref: str = "ImageRef"
    many: str = "Components:"


def _results_block(kind: str, entries: Sequence[Entry], labels: Labels, color: bool) -> str:
    code_color, mark = _STYLE[kind]

    def paint(text: str) -> str:
        return f"\x1b[{code_color}m{text}\x1b[0m" if color else text

    out: list[str] = []
    for entry in entries:
        results = {
            "Violation": entry.violations,
            "Warning": entry.warnings,
            "Success": entry.successes,
        }[kind]
        for result in results:
            metadata = result.get("metadata") or {}
            heading = f"[{kind}] {go_s(metadata.get('code'))}"
            out.append(f"{paint(mark)} {paint(heading)}\n")
            if entry.ref:
                out.append(f"{' ' * _INDENT}{labels.ref}: {entry.ref}\n")
            message = result.get("msg")
            if kind != "Success" and message:
                out.append(_indent_wrap(f"Reason: {message}") + "\n")
            term = metadata.get("term")
            if _truthy(term):
                if isinstance(term, str):
                    out.append(_indent_wrap(f"Term: {term}") + "\n")
                else:
                    joined = ", ".join(go_s(t) for t in term) if isinstance(term, list) else ""
                    if joined:
                        out.append(_indent_wrap(f"Terms: {joined}") + "\n")
            if _truthy(metadata.get("title")):
                out.append(_indent_wrap(f"Title: {go_s(metadata['title'])}") + "\n")
            if _truthy(metadata.get("description")):
                out.append(_indent_wrap(f"Description: {go_s(metadata['description'])}") + "\n")
            if kind != "Success" and _truthy(metadata.get("solution")):
                out.append(_indent_wrap(f"Solution: {go_s(metadata['solution'])}") + "\n")
            out.append("\n")
    return "".join(out)


def render_entries(
    entries: Sequence[Entry],
    *,
    success: bool,
    totals: tuple[str, int, int, int],
    labels: Labels,
    show_successes: bool,
    show_warnings: bool,
    show_policy_docs_link: bool,
    color: bool,
) -> bytes:
    """The text report of ``entries``; ``totals`` = (result, failures, warnings, successes)."""
    result, failures, warnings, successes = totals
    out = [
        f"Success: {go_bool(success)}\n",
        f"Result: {result}\n",
        f"Violations: {failures}, Warnings: {warnings}, Successes: {successes}\n",
    ]
    if len(entries) > 1:
        out.append(f"\n{labels.many}\n")
        out.extend(entry.listed for entry in entries)
    else:
        out.extend(entry.single for entry in entries)
    show_warn = warnings > 0 and show_warnings
    show_pass = successes > 0 and show_successes
    if failures > 0 or show_warn or show_pass:
        out.append("Results:\n")
        if failures > 0:
            out.append(_results_block("Violation", entries, labels, color))
        if show_warn:
            out.append(_results_block("Warning", entries, labels, color))
        if show_pass:
            out.append(_results_block("Success", entries, labels, color))
    if show_policy_docs_link and (failures > 0 or show_warn):
        out.append(_DOCS)
    return "".join(out).encode()


def _entry(c: ComponentReport) -> Entry:
    error = f"Error: {c.error.cause}\n" if c.error is not None else ""
    counts = (
        f"Violations: {len(c.violations)}, Warnings: {len(c.warnings)}, "
        f"Successes: {c.successes_total}\n\n"
    )
    return Entry(
        ref=c.container_image,
        violations=c.violations,
        warnings=c.warnings,
        successes=c.successes,
        single=f"Component: {c.name}\nImageRef: {c.container_image}\n{error}\n",
        listed=f"- Name: {c.name}\n  ImageRef: {c.container_image}\n"
        + (f"  {error}" if error else "")
        + f"  {counts}",
    )


def render_text(
    report: Report,
    *,
    show_successes: bool = False,
    show_warnings: bool = True,
    show_policy_docs_link: bool = False,
    color: bool = False,
) -> bytes:
    """The human-readable report."""
    totals = test_report(report)
    return render_entries(
        [_entry(c) for c in report.components],
        success=report.success,
        totals=(totals.result, totals.failures, totals.warnings, totals.successes),
        labels=Labels(),
        show_successes=show_successes,
        show_warnings=show_warnings,
        show_policy_docs_link=show_policy_docs_link,
        color=color,
    )


def render_input_text(
    report: InputReport,
    *,
    show_successes: bool = False,
    show_warnings: bool = True,
    show_policy_docs_link: bool = False,
    color: bool = False,
) -> bytes:
    """The human-readable ``validate input`` report."""
    entries = []
    for f in report.files:
        error = f"Error: {f.error.cause}\n" if f.error is not None else ""
        entries.append(
            Entry(
                ref=f.file_path,
                violations=f.violations,
                warnings=f.warnings,
                successes=f.successes or (),
                single=f"Input File: {f.file_path}\n{error}\n",
                listed=f"- FilePath: {f.file_path}\n"
                + (f"  {error}" if error else "")
                + f"  Violations: {len(f.violations)}, Warnings: {len(f.warnings)}, "
                f"Successes: {f.successes_total}\n\n",
            )
        )
    totals = (
        report.result(),
        sum(len(f.violations) for f in report.files),
        sum(len(f.warnings) for f in report.files),
        sum(f.successes_total for f in report.files),
    )
    return render_entries(
        entries,
        success=report.success,
        totals=totals,
        labels=Labels(ref="FilePath", many="Input Files:"),
        show_successes=show_successes,
        show_warnings=show_warnings,
        show_policy_docs_link=show_policy_docs_link,
        color=color,
    )
