"""Reading a report back from JSON, checking every field (only InputError escapes)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from konflux_supply.errors import InputError
from konflux_supply.policy.report import (
    ERROR_PREFIX,
    AttestationResult,
    ComponentError,
    ComponentReport,
    Report,
    _parse_time,
)

__all__ = ["read_report"]


class _Reader:
    def __init__(self, source: str | None) -> None:
        self.source = source

    def fail(self, message: str, where: str) -> InputError:
        return InputError(message, field=where, source=self.source)

    def mapping(self, value: Any, where: str) -> Mapping[str, Any]:
        if not isinstance(value, Mapping):
            raise self.fail("must be an object", where)
        return value

    def string(self, doc: Mapping[str, Any], key: str, where: str, default: str = "") -> str:
        value = doc.get(key, default)
        if not isinstance(value, str):
            raise self.fail("must be a string", f"{where}.{key}" if where else key)
        return value

    def items(self, doc: Mapping[str, Any], key: str, where: str) -> list[Any]:
        value = doc.get(key)
        if value is None:
            return []
        if not isinstance(value, list):
            raise self.fail("must be an array", f"{where}.{key}" if where else key)
        return value

    def result(self, value: Any, where: str) -> dict[str, Any]:
        doc = self.mapping(value, where)
        if not isinstance(doc.get("msg", ""), str):
            raise self.fail("must be a string", f"{where}.msg")
        out: dict[str, Any] = {"msg": doc.get("msg", "")}
        if doc.get("metadata") is not None:
            out["metadata"] = dict(self.mapping(doc["metadata"], f"{where}.metadata"))
        if doc.get("outputs") is not None:
            outputs = doc["outputs"]
            if not isinstance(outputs, list) or not all(isinstance(o, str) for o in outputs):
                raise self.fail("must be an array of strings", f"{where}.outputs")
            out["outputs"] = outputs
        return out

    def signature(self, value: Any, where: str) -> dict[str, Any]:
        doc = self.mapping(value, where)
        out: dict[str, Any] = {
            "keyid": self.string(doc, "keyid", where),
            "sig": self.string(doc, "sig", where),
        }
        if doc.get("certificate"):
            out["certificate"] = self.string(doc, "certificate", where)
        if doc.get("chain"):
            chain = doc["chain"]
            if not isinstance(chain, list) or not all(isinstance(c, str) for c in chain):
                raise self.fail("must be an array of strings", f"{where}.chain")
            out["chain"] = chain
        if doc.get("metadata"):
            metadata = self.mapping(doc["metadata"], f"{where}.metadata")
            if not all(isinstance(v, str) for v in metadata.values()):
                raise self.fail("values must be strings", f"{where}.metadata")
            out["metadata"] = dict(metadata)
        return out

    def attestation(self, value: Any, where: str) -> AttestationResult:
        doc = self.mapping(value, where)
        return AttestationResult(
            type=self.string(doc, "type", where),
            predicate_type=self.string(doc, "predicateType", where),
            predicate_build_type=self.string(doc, "predicateBuildType", where),
            signatures=tuple(
                self.signature(s, f"{where}.signatures[{i}]")
                for i, s in enumerate(self.items(doc, "signatures", where))
            ),
        )

    def error(self, value: Any, where: str) -> ComponentError:
        doc = self.mapping(value, where)
        code = self.string(doc, "code", where)
        cause = self.string(doc, "cause", where)
        if not code.startswith("builtin.") or not cause:
            raise self.fail("needs a builtin.* code and a cause", where)
        return ComponentError(code, cause, self.string(doc, "kind", where))

    def component(self, value: Any, where: str) -> ComponentReport:
        doc = self.mapping(value, where)
        results = {
            key: tuple(
                self.result(r, f"{where}.{key}[{i}]")
                for i, r in enumerate(self.items(doc, key, where))
            )
            for key in ("violations", "warnings", "successes")
        }
        error = self.error(doc["error"], f"{where}.error") if "error" in doc else None
        if error is not None and error.violation() not in results["violations"]:
            raise self.fail(
                f"an error needs its violation ({ERROR_PREFIX!r} + cause)", f"{where}.violations"
            )
        component = ComponentReport(
            name=self.string(doc, "name", where),
            container_image=self.string(doc, "containerImage", where),
            source=dict(self.mapping(doc.get("source") or {}, f"{where}.source")),
            violations=results["violations"],
            warnings=results["warnings"],
            successes=results["successes"],
            signatures=tuple(
                self.signature(s, f"{where}.signatures[{i}]")
                for i, s in enumerate(self.items(doc, "signatures", where))
            ),
            attestations=tuple(
                self.attestation(a, f"{where}.attestations[{i}]")
                for i, a in enumerate(self.items(doc, "attestations", where))
            ),
            error=error,
        )
        if doc.get("success") is not component.success:
            raise self.fail(
                f"says {doc.get('success')!r} but the component "
                f"{'passes' if component.success else 'does not pass'}",
                f"{where}.success",
            )
        return component


def read_report(document: Any, *, source: str | None = None) -> Report:
    """Build a :class:`Report` from a parsed JSON report, or raise :class:`InputError`."""
    reader = _Reader(source)
    doc = reader.mapping(document, "(report)")
    components = tuple(
        reader.component(c, f"components[{i}]")
        for i, c in enumerate(reader.items(doc, "components", ""))
    )
    policy = doc.get("policy", {})
    if not isinstance(policy, Mapping):
        raise reader.fail("must be an object", "policy")
    when, nanos = _parse_time(doc.get("effective-time"), "effective-time", source)
    report = Report(
        components=components,
        policy=dict(policy),
        effective_time=when,
        key=reader.string(doc, "key", ""),
        snapshot=reader.string(doc, "snapshot", ""),
        ec_version=reader.string(doc, "ec-version", ""),
        effective_time_nanos=nanos,
    )
    if doc.get("success") is not report.success:
        raise reader.fail(
            f"says {doc.get('success')!r} but the components say {report.success}", "success"
        )
    return report
