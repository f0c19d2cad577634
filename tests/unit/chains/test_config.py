"""chains.Config reads a Chains ConfigMap as Chains does (pkg/config/config.go)."""

from __future__ import annotations

import contextlib
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from konflux_supply import chains
from konflux_supply.errors import InputError


def test_defaults_are_chains_defaults() -> None:
    config = chains.Config.from_data({})
    assert config == chains.Config()
    assert config.taskrun == chains.ArtifactConfig("in-toto", frozenset({"tekton"}), "x509")
    assert config.pipelinerun == chains.ArtifactConfig("in-toto", frozenset({"tekton"}), "x509")
    assert config.oci == chains.ArtifactConfig("simplesigning", frozenset({"oci"}), "x509")
    assert not config.pipelinerun.deep_inspection
    assert config.builder_id == "https://tekton.dev/chains/v2"
    assert config.build_type == "https://tekton.dev/chains/v2/slsa"
    assert config.oci_repository == ""
    assert not config.oci_insecure
    assert config.oci_encoding == "dsse"
    assert not config.transparency
    assert not config.sign_failed_runs
    assert config.warnings == ()


@pytest.mark.parametrize(
    ("key", "value", "attribute", "expected"),
    [
        ("artifacts.taskrun.format", "slsa/v2alpha4", "taskrun.format", "slsa/v2alpha4"),
        ("artifacts.taskrun.format", "slsa/v1", "taskrun.format", "slsa/v1"),
        ("artifacts.pipelinerun.format", "slsa/v2alpha3", "pipelinerun.format", "slsa/v2alpha3"),
        ("artifacts.oci.format", "simplesigning", "oci.format", "simplesigning"),
        ("artifacts.taskrun.storage", "oci", "taskrun.storage", frozenset({"oci"})),
        ("artifacts.taskrun.storage", "oci, tekton", "taskrun.storage", {"oci", "tekton"}),
        ("artifacts.taskrun.storage", "", "taskrun.storage", frozenset()),
        ("artifacts.pipelinerun.storage", "oci", "pipelinerun.storage", frozenset({"oci"})),
        ("artifacts.oci.storage", "tekton", "oci.storage", frozenset({"tekton"})),
        ("artifacts.oci.storage", "", "oci.storage", frozenset()),
        ("artifacts.taskrun.signer", "kms", "taskrun.signer", "kms"),
        ("artifacts.oci.signer", "none", "oci.signer", "none"),
        (
            "artifacts.pipelinerun.enable-deep-inspection",
            "true",
            "pipelinerun.deep_inspection",
            True,
        ),
        ("artifacts.pipelinerun.enable-deep-inspection", "T", "pipelinerun.deep_inspection", True),
        ("artifacts.pipelinerun.enable-deep-inspection", "0", "pipelinerun.deep_inspection", False),
        (
            "builder.id",
            "https://konflux.example/builder",
            "builder_id",
            "https://konflux.example/builder",
        ),
        (
            "builddefinition.buildtype",
            "https://tekton.dev/chains/v2/slsa-tekton",
            "build_type",
            "https://tekton.dev/chains/v2/slsa-tekton",
        ),
        ("storage.oci.repository", "quay.io/team/sigs", "oci_repository", "quay.io/team/sigs"),
        ("storage.oci.repository.insecure", "true", "oci_insecure", True),
        ("storage.oci.encoding-format", "sigstore-bundle", "oci_encoding", "sigstore-bundle"),
        ("signers.kms.kmsref", "awskms:///alias/chains", "kms_ref", "awskms:///alias/chains"),
        ("transparency.enabled", "false", "transparency", False),
        ("transparency.enabled", "yes", "transparency", False),
        ("sign-failed-runs", "true", "sign_failed_runs", True),
    ],
)
def test_each_key(key: str, value: str, attribute: str, expected: Any) -> None:
    config: Any = chains.Config.from_data({key: value})
    for part in attribute.split("."):
        config = getattr(config, part)
    assert config == expected


@pytest.mark.parametrize(
    ("key", "value", "words"),
    [
        ("artifacts.taskrun.format", "slsa/v2alpha2", "invalid value"),
        ("artifacts.pipelinerun.format", "tekton", "invalid value"),
        ("artifacts.oci.format", "in-toto", "invalid value"),
        ("artifacts.taskrun.storage", "s3", "invalid value"),
        ("artifacts.pipelinerun.storage", "kafka", "invalid value"),
        ("artifacts.taskrun.storage", "oci,", "invalid value"),
        ("artifacts.taskrun.storage", "gcs", "not implemented by konflux-supply"),
        ("artifacts.oci.storage", "oci,grafeas", "not implemented by konflux-supply"),
        ("artifacts.taskrun.signer", "fulcio", "invalid value"),
        ("builddefinition.buildtype", "https://example/type", "invalid value"),
        ("storage.oci.encoding-format", "bundle", "invalid value"),
        ("storage.pubsub.provider", "nats", "invalid value"),
        ("signers.x509.fulcio.enabled", "true", "keyless"),
    ],
)
def test_values_chains_rejects_or_we_cannot_honour(key: str, value: str, words: str) -> None:
    with pytest.raises(InputError) as caught:
        chains.Config.from_data({key: value})
    assert caught.value.field == key
    assert words in caught.value.summary()


def test_unknown_keys_and_unparsable_bools_are_warnings() -> None:
    config = chains.Config.from_data(
        {
            "artifacts.taskrun.fromat": "slsa/v1",
            "artifacts.pipelinerun.enable-deep-inspection": "yes",
            "storage.gcs.bucket": "b",
        }
    )
    assert not config.pipelinerun.deep_inspection
    assert any("artifacts.taskrun.fromat: unknown key" in w for w in config.warnings)
    assert any("enable-deep-inspection" in w and "not a boolean" in w for w in config.warnings)
    assert any("storage.gcs.bucket" in w and "no effect" in w for w in config.warnings)


def test_disabled_artifacts() -> None:
    config = chains.Config.from_data(
        {"artifacts.taskrun.signer": "none", "artifacts.oci.storage": ""}
    )
    assert not config.taskrun.enabled
    assert not config.oci.enabled
    assert config.pipelinerun.enabled


CONFIGMAP = """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: chains-config
  namespace: tekton-chains
data:
  artifacts.taskrun.format: slsa/v2alpha4
  artifacts.taskrun.storage: oci
  artifacts.pipelinerun.enable-deep-inspection: "true"
"""


def test_whole_configmap_or_its_data_map() -> None:
    whole = chains.Config.from_configmap(CONFIGMAP)
    data = chains.Config.from_configmap(
        "artifacts.taskrun.format: slsa/v2alpha4\nartifacts.taskrun.storage: oci\n"
        'artifacts.pipelinerun.enable-deep-inspection: "true"\n'
    )
    assert whole == data
    assert whole.taskrun.format == "slsa/v2alpha4"
    assert whole.pipelinerun.deep_inspection
    assert chains.Config.from_configmap(CONFIGMAP.encode()) == whole
    empty = chains.Config.from_configmap("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n")
    assert empty == chains.Config()


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("[1, 2]", "configmap"),
        ("a: [", "configmap"),
        (
            "artifacts.pipelinerun.enable-deep-inspection: true",
            "artifacts.pipelinerun.enable-deep-inspection",
        ),
        ("kind: ConfigMap\ndata: [a]", "data"),
        ("1: x", "data"),
    ],
)
def test_malformed_configmaps(text: str, field: str) -> None:
    with pytest.raises(InputError) as caught:
        chains.Config.from_configmap(text)
    assert caught.value.field == field


KEYS = sorted(
    {
        "artifacts.taskrun.format",
        "artifacts.taskrun.storage",
        "artifacts.taskrun.signer",
        "artifacts.pipelinerun.format",
        "artifacts.pipelinerun.storage",
        "artifacts.pipelinerun.enable-deep-inspection",
        "artifacts.oci.format",
        "artifacts.oci.storage",
        "artifacts.oci.signer",
        "builder.id",
        "builddefinition.buildtype",
        "storage.oci.repository",
        "storage.oci.repository.insecure",
        "storage.oci.encoding-format",
        "transparency.enabled",
        "transparency.url",
        "transparency.public-key",
        "transparency.trust-served-key",
        "signers.kms.kmsref",
        "signers.x509.fulcio.enabled",
        "sign-failed-runs",
        "storage.pubsub.provider",
    }
)
VALUES = [
    "",
    "true",
    "false",
    "manual",
    "oci",
    "tekton",
    "oci,tekton",
    "in-toto",
    "slsa/v2alpha4",
    "none",
    "https://rekor.example",
    "http://127.0.0.1:1",
]
scalars = st.one_of(
    st.text(max_size=20), st.sampled_from(VALUES), st.integers(), st.booleans(), st.none()
)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.one_of(st.sampled_from(KEYS), st.text(max_size=15)), scalars))
def test_only_input_errors_escape_the_data_parser(data: dict[str, Any]) -> None:
    try:
        config = chains.Config.from_data(data)
    except InputError as error:
        field = error.field
        assert field
        return
    assert config.taskrun.format in chains.FORMATS
    assert config.taskrun.storage <= set(chains.STORAGE_BACKENDS)


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.binary(max_size=200), st.text(max_size=200)))
def test_only_input_errors_escape_the_text_parser(text: bytes | str) -> None:
    with contextlib.suppress(InputError):
        chains.Config.from_configmap(text)
