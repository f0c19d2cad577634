"""The machine renderings: ``json``, ``yaml``, ``policy-input`` and ``attestation``.

``json`` is :meth:`Report.to_json`. ``yaml`` is the same document as Conforma writes it
(``sigs.k8s.io/yaml``: the JSON converted, every map's keys sorted). ``policy-input`` and
``attestation`` are JSON Lines: one evaluated input per component, one raw in-toto
statement per attestation (the bytes as received).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import yaml

from konflux_supply.models.canonical import dumps_go
from konflux_supply.policy.input_report import InputReport
from konflux_supply.policy.report import Report

__all__ = ["render_attestations", "render_json", "render_policy_input", "render_yaml"]

_YAML_BREAKS = ("\x85", "\u2028", "\u2029", "\ufeff")


def render_json(report: Report | InputReport) -> bytes:
    return report.to_json()


def render_yaml(report: Report | InputReport) -> bytes:
    data = report.to_json()
    document = json.loads(data)
    # PyYAML writes these raw and then reads them as line breaks: escape everything then.
    raw = not any(c in data.decode() for c in _YAML_BREAKS)
    text = yaml.safe_dump(
        document, sort_keys=True, default_flow_style=False, allow_unicode=raw, width=1 << 30
    )
    return text.encode()


def render_policy_input(inputs: Sequence[bytes | Mapping[str, Any]]) -> bytes:
    """One input document per line, in the order given (bytes are written as they are)."""
    lines = [item if isinstance(item, bytes) else dumps_go(item) for item in inputs]
    return b"\n".join(line.rstrip(b"\n") for line in lines)


def render_attestations(report: Report) -> bytes:
    """Every attestation's raw statement, one per line (those without bytes are skipped)."""
    statements = [
        attestation.statement.rstrip(b"\n")
        for component in report.components
        for attestation in component.attestations
        if attestation.statement is not None
    ]
    return b"\n".join(statements)
