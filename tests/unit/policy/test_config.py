"""The EnterpriseContractPolicy reader: every form, every refusal with its field path."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from konflux_supply.errors import InputError
from konflux_supply.policy import (
    Configuration,
    EnterpriseContractPolicy,
    Identity,
    SourceConfig,
    VolatileCriterion,
    load_policy,
)

DIGEST = "sha256:" + "0f" * 32
SPEC: dict[str, Any] = {
    "name": "acme",
    "description": "ACME policy",
    "publicKey": "k8s://ns/key",
    "rekorUrl": "https://rekor.example",
    "configuration": {"include": ["@slsa3"], "exclude": ["x"], "collections": ["minimal"]},
    "identity": {"subjectRegExp": ".*", "issuer": "https://issuer.example"},
    "sources": [
        {
            "name": "release",
            "policy": ["oci::quay.io/org/policy:v1", "git::https://h/p.git//policy?ref=main"],
            "data": ["git::https://h/d.git//data"],
            "ruleData": {"allowed_registry_prefixes": ["quay.io/"], "nested": {"a": [1, None]}},
            "config": {"include": ["@redhat"], "exclude": ["cve.deny:term"]},
            "volatileConfig": {
                "include": [{"value": "a.b", "effectiveOn": "2024-01-01"}],
                "exclude": [
                    {"value": "a.c", "imageDigest": DIGEST, "reference": "JIRA-1"},
                    {
                        "value": "a.d",
                        "componentNames": ["comp"],
                        "effectiveUntil": "2099-01-01T00:00:00Z",
                    },
                    {"value": "a.e", "imageUrl": "quay.io/org/app"},
                    {"value": "a.f", "imageRef": DIGEST},
                ],
            },
        }
    ],
}


def test_full_spec_is_typed() -> None:
    ecp = EnterpriseContractPolicy.from_dict(SPEC)
    assert ecp.name == "acme"
    assert ecp.public_key == "k8s://ns/key"
    assert not ecp.keyless
    assert ecp.configuration == Configuration(("@slsa3",), ("x",), ("minimal",))
    assert ecp.identity == Identity(subject_regexp=".*", issuer="https://issuer.example")
    source = ecp.sources[0]
    assert source.policy[0] == "oci::quay.io/org/policy:v1"
    assert source.config == SourceConfig(include=("@redhat",), exclude=("cve.deny:term",))
    assert source.rule_data == SPEC["sources"][0]["ruleData"]
    assert source.volatile_config is not None
    assert source.volatile_config.exclude[1] == VolatileCriterion(
        value="a.d", component_names=("comp",), effective_until="2099-01-01T00:00:00Z"
    )
    assert source.volatile_config.exclude[3].image_ref == DIGEST
    assert ecp.to_dict() == SPEC


def test_custom_resource_is_unwrapped() -> None:
    resource = {
        "apiVersion": "appstudio.redhat.com/v1alpha1",
        "kind": "EnterpriseContractPolicy",
        "metadata": {"name": "ec-policy", "namespace": "acme"},
        "spec": SPEC,
        "status": {},
    }
    assert EnterpriseContractPolicy.from_dict(resource) == EnterpriseContractPolicy.from_dict(SPEC)


def test_yaml_text_and_files(tmp_path: Path) -> None:
    text = "sources:\n  - policy: [git::https://h/p.git]\n    config: {include: ['@x']}\n"
    ecp = EnterpriseContractPolicy.from_text(text)
    assert ecp.sources[0].config == SourceConfig(include=("@x",))
    path = tmp_path / "policy.yaml"
    path.write_text(text)
    assert load_policy(str(path)) == ecp
    assert (
        load_policy('{"sources":[{"policy":["git::https://h/p.git"],"config":{"include":["@x"]}}]}')
        == ecp
    )


def test_pinned_sources_change_the_urls_only() -> None:
    ecp = EnterpriseContractPolicy.from_dict(SPEC)
    pinned = ecp.with_pinned_sources(
        {"oci::quay.io/org/policy:v1": "oci::quay.io/org/policy:v1@" + DIGEST}
    )
    assert pinned.sources[0].policy[0].endswith(DIGEST)
    assert pinned.to_dict()["sources"][0]["policy"][0].endswith(DIGEST)
    assert pinned.to_dict()["sources"][0]["data"] == SPEC["sources"][0]["data"]
    assert ecp.to_dict() == SPEC  # the original is untouched


def _with(path: str, value: Any) -> dict[str, Any]:
    """SPEC with one value replaced (``a.b[0].c`` paths; ``...=DELETE`` removes the key)."""
    doc = json.loads(json.dumps(SPEC))
    parts = path.replace("]", "").replace("[", ".").split(".")
    target = doc
    for part in parts[:-1]:
        target = target[int(part)] if part.isdigit() else target[part]
    last = parts[-1]
    if value is DELETE:
        del target[last]
    elif last.isdigit():
        target[int(last)] = value
    else:
        target[last] = value
    return doc


DELETE = object()


@pytest.mark.parametrize(
    ("path", "value", "field", "message"),
    [
        ("unknown", 1, "spec.unknown", "unknown field"),
        ("sources", DELETE, "spec.sources", "at least one source"),
        ("sources", [], "spec.sources", "at least one source"),
        ("sources", {}, "spec.sources", "at least one source"),
        ("sources.0", "x", "spec.sources[0]", "expected an object"),
        ("sources.0.policy", DELETE, "spec.sources[0].policy", "at least one policy"),
        ("sources.0.policy", [], "spec.sources[0].policy", "at least one policy"),
        ("sources.0.policy.1", 7, "spec.sources[0].policy[1]", "expected a string"),
        ("sources.0.policy.1", "", "spec.sources[0].policy[1]", "must not be empty"),
        ("sources.0.data", "x", "spec.sources[0].data", "expected an array"),
        ("sources.0.ruleData", [], "spec.sources[0].ruleData", "expected an object"),
        ("sources.0.extra", 1, "spec.sources[0].extra", "unknown field"),
        ("sources.0.config.includes", [], "spec.sources[0].config.includes", "unknown field"),
        ("sources.0.config.include.0", None, "spec.sources[0].config.include[0]", "string"),
        ("sources.0.volatileConfig.other", [], "spec.sources[0].volatileConfig.other", "unknown"),
        ("sources.0.volatileConfig.exclude", {}, "spec.sources[0].volatileConfig.exclude", "array"),
        (
            "sources.0.volatileConfig.exclude.2.imageDigest",
            "sha256:abc",
            "spec.sources[0].volatileConfig.exclude[0]",
            "only one of imageUrl, imageDigest, imageRef, or componentNames",
        ),
        (
            "sources.0.volatileConfig.exclude.0.imageDigest",
            "sha256:abc",
            "spec.sources[0].volatileConfig.exclude[0].imageDigest",
            "sha256:<64 hex digits>",
        ),
        (
            "sources.0.volatileConfig.exclude.3.imageRef",
            DIGEST + "\n",
            "spec.sources[0].volatileConfig.exclude[3].imageRef",
            "sha256:<64 hex digits>",
        ),
        (
            "sources.0.volatileConfig.exclude.1.componentNames",
            [""],
            "spec.sources[0].volatileConfig.exclude[1].componentNames[0]",
            "must not be empty",
        ),
        (
            "sources.0.volatileConfig.exclude.1.value",
            DELETE,
            "spec.sources[0].volatileConfig.exclude[1].value",
            "needs a value",
        ),
        (
            "sources.0.volatileConfig.include.0.effectiveOn",
            20240101,
            "spec.sources[0].volatileConfig.include[0].effectiveOn",
            "expected a string",
        ),
        (
            "sources.0.volatileConfig.exclude.2.whatever",
            1,
            "spec.sources[0].volatileConfig.exclude[2].whatever",
            "unknown field",
        ),
        ("configuration.collection", [], "spec.configuration.collection", "unknown field"),
        ("configuration.include", "x", "spec.configuration.include", "expected an array"),
        ("identity.issuer", DELETE, "spec.identity", "issuer or issuerRegExp"),
        ("identity.subjectRegExp", DELETE, "spec.identity", "subject or subjectRegExp"),
        ("identity.email", "x", "spec.identity.email", "unknown field"),
        ("publicKey", None, "spec.publicKey", "expected a string, found null"),
        ("rekorUrl", 1, "spec.rekorUrl", "expected a string, found number"),
    ],
)
def test_bad_policies_name_the_field(path: str, value: Any, field: str, message: str) -> None:
    doc = _with(path, value)
    if path.endswith("exclude.2.imageDigest"):
        doc["sources"][0]["volatileConfig"]["exclude"][0]["imageUrl"] = "quay.io/x/y"
        doc["sources"][0]["volatileConfig"]["exclude"][0]["imageDigest"] = DIGEST
    with pytest.raises(InputError, match=message) as info:
        EnterpriseContractPolicy.from_dict(doc, source="policy.yaml")
    assert info.value.field == field
    assert info.value.summary().startswith(f"policy.yaml: {field}: ")


def test_empty_component_names_still_count_as_a_scope() -> None:
    doc = _with("sources.0.volatileConfig.exclude.0.componentNames", [])
    with pytest.raises(InputError, match="only one of"):
        EnterpriseContractPolicy.from_dict(doc)


@pytest.mark.parametrize(
    ("document", "field", "message"),
    [
        ([], "", "expected an object"),
        ({"kind": "Snapshot", "spec": SPEC}, "kind", "expected kind EnterpriseContractPolicy"),
        ({"apiVersion": "v1", "spec": SPEC}, "apiVersion", "appstudio.redhat.com"),
        (
            {"apiVersion": "appstudio.redhat.com/v1alpha1", "kind": "EnterpriseContractPolicy"},
            "spec",
            "needs a spec",
        ),
        ({"kind": "EnterpriseContractPolicy", "spec": SPEC, "extra": 1}, "extra", "unknown field"),
        ({"kind": "EnterpriseContractPolicy", "spec": []}, "spec", "expected an object"),
        ({"kind": "EnterpriseContractPolicy", "metadata": 1, "spec": SPEC}, "metadata", "object"),
    ],
)
def test_bad_resources(document: Any, field: str, message: str) -> None:
    with pytest.raises(InputError, match=message) as info:
        EnterpriseContractPolicy.from_dict(document)
    assert (info.value.field or "") == field


def test_an_empty_identity_is_accepted() -> None:
    ecp = EnterpriseContractPolicy.from_dict({**SPEC, "identity": {}})
    assert ecp.identity == Identity()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("sources: []\nsources: []\n", "more than once"),
        ('{"sources": [], "sources": []}', "more than once"),
        ("a: &a [*a]", "nested too deeply"),
        ("{", "invalid JSON"),
        ("- 1\n- 2\n", "expected an object"),
        ("a: 1\n---\nb: 2\n", "expected one document"),
    ],
)
def test_bad_text(text: str, message: str) -> None:
    with pytest.raises(InputError, match=message):
        EnterpriseContractPolicy.from_text(text, source="p.yaml")


def test_load_policy_refusals(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        load_policy("acme/ec-policy")
    with pytest.raises(InputError, match="empty"):
        load_policy("  ")
    with pytest.raises(InputError, match="cannot read the policy"):
        EnterpriseContractPolicy.from_file(tmp_path / "missing.yaml")
    big = tmp_path / "big.json"
    big.write_text(json.dumps(SPEC))
    with pytest.raises(InputError, match="larger than 10 bytes"):
        EnterpriseContractPolicy.from_file(big, max_bytes=10)


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=12,
)
_keys = st.sampled_from(
    [
        "sources",
        "policy",
        "data",
        "ruleData",
        "config",
        "volatileConfig",
        "include",
        "exclude",
        "value",
        "imageDigest",
        "imageUrl",
        "componentNames",
        "effectiveOn",
        "identity",
        "issuer",
        "subject",
        "configuration",
        "collections",
        "name",
        "spec",
        "kind",
        "apiVersion",
        "x",
    ]
)
_shaped = st.recursive(
    st.none() | st.text(max_size=6) | st.just(DIGEST) | st.integers(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_keys, inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(st.one_of(_json, _shaped))
def test_only_input_errors_escape(document: Any) -> None:
    try:
        ecp = EnterpriseContractPolicy.from_dict(document)
    except InputError:
        return
    assert EnterpriseContractPolicy.from_dict(ecp.to_dict()) == ecp


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200) | st.text(max_size=200))
def test_only_input_errors_escape_from_text(data: bytes | str) -> None:
    with contextlib.suppress(InputError):
        EnterpriseContractPolicy.from_text(data)


_criterion = st.fixed_dictionaries(
    {"value": st.text(max_size=10)},
    optional={
        "effectiveOn": st.sampled_from(["2024-01-01", "2099-01-01T00:00:00Z", "junk"]),
        "imageDigest": st.just(DIGEST),
        "reference": st.text(max_size=5),
    },
)
_valid = st.fixed_dictionaries(
    {
        "sources": st.lists(
            st.fixed_dictionaries(
                {"policy": st.lists(st.text(min_size=1, max_size=10), min_size=1, max_size=2)},
                optional={
                    "name": st.text(max_size=5),
                    "ruleData": st.dictionaries(st.text(max_size=5), _json, max_size=2),
                    "config": st.fixed_dictionaries(
                        {}, optional={"include": st.lists(st.text(max_size=5), max_size=2)}
                    ),
                    "volatileConfig": st.fixed_dictionaries(
                        {}, optional={"exclude": st.lists(_criterion, max_size=2)}
                    ),
                },
            ),
            min_size=1,
            max_size=2,
        )
    },
    optional={
        "publicKey": st.text(max_size=10),
        "configuration": st.fixed_dictionaries(
            {}, optional={"collections": st.lists(st.text(max_size=4), max_size=2)}
        ),
    },
)


@settings(max_examples=150, deadline=None)
@given(_valid)
def test_valid_policies_round_trip_through_json_and_yaml(spec: dict[str, Any]) -> None:
    import yaml

    ecp = EnterpriseContractPolicy.from_dict(spec)
    assert ecp.to_dict() == spec
    assert EnterpriseContractPolicy.from_text(json.dumps(spec)) == ecp
    assert EnterpriseContractPolicy.from_text(yaml.safe_dump(spec)) == ecp


def test_command_line_overrides() -> None:
    ecp = EnterpriseContractPolicy.from_dict({"sources": [{"policy": ["p"]}], "publicKey": "k"})
    same = ecp.with_overrides()
    assert same == ecp
    changed = ecp.with_overrides(public_key="PEM", rekor_url="https://rekor")
    assert changed.public_key == "PEM"
    assert changed.rekor_url == "https://rekor"
    assert changed.to_dict() == {
        "sources": [{"policy": ["p"]}],
        "publicKey": "PEM",
        "rekorUrl": "https://rekor",
    }
    cli = Identity(subject="me@example.com", issuer="https://issuer")
    keyless = ecp.with_overrides(identity=cli)
    assert keyless.keyless
    assert "publicKey" not in keyless.to_dict()
    assert keyless.keyless_identity(cli) == cli
    assert changed.keyless_identity(cli) is None


def test_keyless_identity_must_be_complete() -> None:
    spec: dict[str, Any] = {"sources": [{"policy": ["p"]}]}
    with pytest.raises(InputError, match=r"issuer must be provided.*identity must be provided"):
        EnterpriseContractPolicy.from_dict(spec).keyless_identity()
    spec["identity"] = {"subject": "s", "issuerRegExp": ".*"}
    ecp = EnterpriseContractPolicy.from_dict(spec)
    assert ecp.keyless_identity() == Identity(subject="s", issuer_regexp=".*")
    with pytest.raises(InputError, match="identity must be provided"):
        ecp.keyless_identity(Identity(issuer="i"))
