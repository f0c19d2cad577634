"""The ``junit`` rendering, byte for byte as Conforma's (go-junit-report types, Go's XML).

One ``<testsuite>`` per component named ``"<name> (<image>)"`` with properties image, key,
success and, per signature, keyId, signature and ``metadata.*``; one ``<testcase>`` per
result (successes, then violations with ``<failure>``, then warnings with ``<skipped>``).
A component error (ADR 0056) is an ``<error>`` test case, which JUnit readers count apart
from failures.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC
from typing import Any

from konflux_supply.policy._goformat import go_bool, go_v
from konflux_supply.policy._render_summary import created
from konflux_supply.policy.report import ComponentReport, Report

__all__ = ["render_junit"]


def _in_range(code: int) -> bool:
    return (
        code in (0x09, 0x0A, 0x0D)
        or 0x20 <= code <= 0xD7FF
        or 0xE000 <= code <= 0xFFFD
        or 0x10000 <= code <= 0x10FFFF
    )


_ESCAPES = {
    '"': "&#34;",
    "'": "&#39;",
    "&": "&amp;",
    "<": "&lt;",
    ">": "&gt;",
    "\t": "&#x9;",
    "\n": "&#xA;",
    "\r": "&#xD;",
}


def _attr(text: str) -> str:
    """Go's ``xml.EscapeString``."""
    out = []
    for char in text:
        if char in _ESCAPES:
            out.append(_ESCAPES[char])
        elif not _in_range(ord(char)):
            out.append("\ufffd")
        else:
            out.append(char)
    return "".join(out)


def _cdata(text: str) -> str:
    # Go writes CDATA bytes unchecked; a character XML forbids becomes U+FFFD here, so the
    # document stays well-formed.
    if not text:
        return ""
    text = "".join(c if _in_range(ord(c)) else "\ufffd" for c in text)
    return "<![CDATA[" + text.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def _case_name(result: Mapping[str, Any]) -> str:
    metadata = dict(result.get("metadata") or {})
    code = metadata.pop("code", None)
    described = sorted(f"{key}={go_v(value)}" for key, value in metadata.items())
    name = str(result.get("msg", "")) + (f" [{', '.join(described)}]" if described else "")
    if isinstance(code, str):
        name = f"{code}: {name}"
    return name


def _case(result: Mapping[str, Any], child: str | None) -> str:
    name = _attr(_case_name(result))
    inner = ""
    if child:
        message = str(result.get("msg", ""))
        inner = f'<{child} message="{_attr(message)}">{_cdata(message)}</{child}>'
    return f'<testcase name="{name}" classname="{name}">{inner}</testcase>'


def _suite(component: ComponentReport, key: str, timestamp: str) -> tuple[str, dict[str, int]]:
    properties = [
        ("image", component.container_image),
        ("key", key),
        ("success", go_bool(component.success)),
    ]
    for signature in component.signatures:
        properties.append(("keyId", str(signature.get("keyid", ""))))
        properties.append(("signature", str(signature.get("sig", ""))))
        metadata = signature.get("metadata") or {}
        properties.extend((f"metadata.{k}", str(metadata[k])) for k in sorted(metadata))
    error_violation = component.error.violation() if component.error else None
    cases = [_case(r, None) for r in component.successes]
    counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    for violation in component.violations:
        is_error = violation == error_violation
        cases.append(_case(violation, "error" if is_error else "failure"))
        counts["errors" if is_error else "failures"] += 1
    cases.extend(_case(r, "skipped") for r in component.warnings)
    counts["skipped"] = len(component.warnings)
    counts["tests"] = len(cases)
    props = "".join(
        f'<property name="{_attr(n)}" value="{_attr(v)}"></property>' for n, v in properties
    )
    skipped = f' skipped="{counts["skipped"]}"' if counts["skipped"] else ""
    stamp = f' timestamp="{timestamp}"' if timestamp else ""
    name = _attr(f"{component.name} ({component.container_image})")
    head = (
        f'<testsuite name="{name}" tests="{counts["tests"]}" failures="{counts["failures"]}" '
        f'errors="{counts["errors"]}" id="0"{skipped} time=""{stamp}>'
    )
    return f"{head}<properties>{props}</properties>{''.join(cases)}</testsuite>", counts


def render_junit(report: Report) -> bytes:
    """JUnit XML (no XML declaration, as Go's ``xml.Marshal``)."""
    timestamp = created(report).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    suites = []
    totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    for component in report.components:
        text, counts = _suite(component, report.key, timestamp)
        suites.append(text)
        for name, value in counts.items():
            totals[name] += value
    attrs = "".join(
        f' {name}="{totals[name]}"'
        for name in ("tests", "errors", "failures", "skipped")
        if totals[name]
    )
    return f"<testsuites{attrs}>{''.join(suites)}</testsuites>".encode()
