"""The ``text`` rendering, line for line as Conforma's ``text_report.tmpl``.

Header (success, result, counts), the component list (one ``Component:`` block, or a
``Components:`` list with per-component counts), then ``Results:`` with one block per
violation, warning (``show_warnings``) and success (``show_successes``), each wrapped at 130
columns. Colour (ANSI) only when asked for. A component error (ADR 0056) adds an ``Error:``
line to its component entry.
"""

from __future__ import annotations

from typing import Any

from konflux_supply.policy._goformat import go_bool, go_s, wrap
from konflux_supply.policy._render_summary import test_report
from konflux_supply.policy.report import ComponentReport, Report

__all__ = ["render_text"]

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


def _results_block(kind: str, components: tuple[ComponentReport, ...], color: bool) -> str:
    code_color, mark = _STYLE[kind]

    def paint(text: str) -> str:
        return f"\x1b[{code_color}m{text}\x1b[0m" if color else text

    out: list[str] = []
    for component in components:
        results = {
            "Violation": component.violations,
            "Warning": component.warnings,
            "Success": component.successes,
        }[kind]
        for result in results:
            metadata = result.get("metadata") or {}
            heading = f"[{kind}] {go_s(metadata.get('code'))}"
            out.append(f"{paint(mark)} {paint(heading)}\n")
            if component.container_image:
                out.append(f"{' ' * _INDENT}ImageRef: {component.container_image}\n")
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


def _components_block(components: tuple[ComponentReport, ...]) -> str:
    if len(components) > 1:
        out = ["\nComponents:\n"]
        for c in components:
            out.append(f"- Name: {c.name}\n  ImageRef: {c.container_image}\n")
            if c.error is not None:
                out.append(f"  Error: {c.error.cause}\n")
            out.append(
                f"  Violations: {len(c.violations)}, Warnings: {len(c.warnings)}, "
                f"Successes: {c.successes_total}\n\n"
            )
        return "".join(out)
    out = []
    for c in components:
        out.append(f"Component: {c.name}\nImageRef: {c.container_image}\n")
        if c.error is not None:
            out.append(f"Error: {c.error.cause}\n")
        out.append("\n")
    return "".join(out)


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
    components = report.components
    out = [
        f"Success: {go_bool(report.success)}\n",
        f"Result: {totals.result}\n",
        f"Violations: {totals.failures}, Warnings: {totals.warnings}, "
        f"Successes: {totals.successes}\n",
        _components_block(components),
    ]
    show_warn = totals.warnings > 0 and show_warnings
    show_pass = totals.successes > 0 and show_successes
    if totals.failures > 0 or show_warn or show_pass:
        out.append("Results:\n")
        if totals.failures > 0:
            out.append(_results_block("Violation", components, color))
        if show_warn:
            out.append(_results_block("Warning", components, color))
        if show_pass:
            out.append(_results_block("Success", components, color))
    if show_policy_docs_link and (totals.failures > 0 or show_warn):
        out.append(_DOCS)
    return "".join(out).encode()
