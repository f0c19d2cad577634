"""Report builders and Hypothesis strategies shared by the report, outputs and CLI tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import strategies as st

from konflux_supply.policy import AttestationResult, ComponentError, ComponentReport, Report

WHEN = datetime(2026, 3, 4, 5, 6, 7, 123456, tzinfo=UTC)
POLICY: dict[str, Any] = {
    "sources": [{"policy": ["oci::registry.local/policy@sha256:" + "a" * 64]}],
    "publicKey": "k8s://ns/key",
}


def result(code: str, msg: str = "Fails", **metadata: Any) -> dict[str, Any]:
    return {"msg": msg, "metadata": {"code": code, **metadata}}


def component(
    image: str,
    *,
    name: str = "app",
    violations: int = 0,
    warnings: int = 0,
    successes: int = 0,
    error: ComponentError | None = None,
) -> ComponentReport:
    return ComponentReport(
        name=name,
        container_image=image,
        violations=tuple(result(f"pkg.v{i}") for i in range(violations)),
        warnings=tuple(result(f"pkg.w{i}", "Warns") for i in range(warnings)),
        successes=tuple(result(f"pkg.s{i}", "Pass") for i in range(successes)),
        signatures=({"keyid": "", "sig": "MEUC"},),
        attestations=(
            AttestationResult(
                type="https://in-toto.io/Statement/v0.1",
                predicate_type="https://slsa.dev/provenance/v0.2",
                signatures=({"keyid": "k", "sig": "c2ln"},),
                statement=b'{"_type":"https://in-toto.io/Statement/v0.1"}',
            ),
        ),
        error=error,
    )


def report(*components: ComponentReport, **fields: Any) -> Report:
    return Report(components, fields.pop("policy", POLICY), fields.pop("when", WHEN), **fields)


_text = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=12)
_code = st.from_regex(r"[a-z]{1,6}\.[a-z_]{1,8}", fullmatch=True)
_scalar = st.one_of(st.none(), st.booleans(), st.integers(-(10**6), 10**6), _text)
_metadata = st.fixed_dictionaries(
    {"code": _code},
    optional={
        "term": st.one_of(_text, st.lists(_text, max_size=3)),
        "title": _text,
        "description": _text,
        "solution": _text,
        "collections": st.lists(_text, max_size=3),
        "effective_on": _text,
        "extra": st.dictionaries(_text, _scalar, max_size=3),
    },
)
results = st.builds(lambda msg, md: {"msg": msg, "metadata": md}, _text, _metadata)
_signature = st.fixed_dictionaries(
    {"keyid": _text, "sig": _text},
    optional={
        "certificate": _text,
        "chain": st.lists(_text, max_size=2),
        "metadata": st.dictionaries(_text, _text, max_size=2),
    },
)
errors = st.builds(
    ComponentError,
    code=st.sampled_from(["builtin.image.accessible", "builtin.policy.evaluation"]),
    cause=_text.filter(bool),
    kind=st.sampled_from(["", "registry", "policy"]),
)
components = st.builds(
    ComponentReport,
    name=_text,
    container_image=_text,
    source=st.one_of(st.just({}), st.builds(lambda u: {"git": {"url": u}}, _text)),
    violations=st.lists(results, max_size=3).map(tuple),
    warnings=st.lists(results, max_size=3).map(tuple),
    successes=st.lists(results, max_size=3).map(tuple),
    signatures=st.lists(_signature, max_size=2).map(tuple),
    attestations=st.lists(
        st.builds(
            AttestationResult,
            type=_text,
            predicate_type=_text,
            predicate_build_type=_text,
            signatures=st.lists(_signature, max_size=2).map(tuple),
        ),
        max_size=2,
    ).map(tuple),
    error=st.one_of(st.none(), errors),
)
reports = st.builds(
    lambda cs, key, snapshot, delta: Report(
        tuple(cs), POLICY, WHEN + timedelta(microseconds=delta), key=key, snapshot=snapshot
    ),
    st.lists(components, max_size=4),
    _text,
    _text,
    st.integers(0, 10**9),
)
