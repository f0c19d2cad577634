"""Peer SBOMs parse, validate and round-trip: cosign's test data and the SBOMs inside the
policy inputs Conforma captured (``ec validate image --output policy-input``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator

from konflux_supply import sbom

pytestmark = pytest.mark.conformance

COSIGN = "sigstore/cosign/test/testdata"
CONFORMA = "conforma/policy/acceptance/samples"


def _round_trips(doc: sbom.Sbom, data: bytes) -> None:
    assert doc.to_bytes() == data
    again = sbom.parse(doc.to_bytes())
    assert again == doc
    assert again.data == doc.data
    if doc.format is not sbom.SbomFormat.SPDX_TAG_VALUE:
        assert sbom.parse(doc.to_json()) == doc
        assert json.loads(doc.to_json()) == json.loads(data)
    assert sbom.parse_predicate(*sbom.predicate(doc)) == doc


@pytest.mark.parametrize(
    ("name", "fmt", "version", "packages"),
    [
        ("bom-go-mod.cyclonedx.json", sbom.SbomFormat.CYCLONEDX_JSON, "1.4", 0),
        ("bom-go-mod.spdx.json", sbom.SbomFormat.SPDX_JSON, "SPDX-2.2", 0),
        ("bom-go-mod.spdx", sbom.SbomFormat.SPDX_TAG_VALUE, "SPDX-2.2", 143),
    ],
)
def test_cosign_testdata(
    peers: Path, name: str, fmt: sbom.SbomFormat, version: str, packages: int
) -> None:
    data = (peers / COSIGN / name).read_bytes()
    doc = sbom.parse(data, source=name)
    assert doc.format is fmt
    assert doc.spec_version == version
    count = len(doc.components) if isinstance(doc, sbom.CycloneDxBom) else len(doc.packages)
    assert count == packages
    result = sbom.validate(data, source=name)
    assert result.ok, result.issues
    _round_trips(doc, data)


def test_cosign_tag_value_relationships(peers: Path) -> None:
    doc = sbom.parse((peers / COSIGN / "bom-go-mod.spdx").read_bytes())
    assert isinstance(doc, sbom.SpdxDocument)
    assert len(doc.relationships) == 620
    assert doc.describes == ("SPDXRef-Package-github.com.sigstore.cosign",)
    assert all(p.checksums[0].alg == "SHA256" for p in doc.packages)


def _statement(peers: Path, name: str) -> dict[str, Any]:
    policy_input = json.loads((peers / CONFORMA / name).read_text())
    statement: dict[str, Any] = policy_input["attestations"][0]["statement"]
    return statement


@pytest.mark.parametrize(
    ("name", "predicate_type", "version", "purls"),
    [
        ("policy-input-cdx-sbom.json", "https://cyclonedx.org/bom", "1.5", 10),
        ("policy-input-spdx-sbom.json", "https://spdx.dev/Document", "SPDX-2.3", 11),
    ],
)
def test_conforma_policy_input_sboms(
    peers: Path, name: str, predicate_type: str, version: str, purls: int
) -> None:
    statement = _statement(peers, name)
    assert statement["predicateType"] == predicate_type
    doc = sbom.parse_predicate(predicate_type, statement["predicate"], source=name)
    assert doc.spec_version == version
    assert len(doc.purls()) == purls
    result = sbom.validate(doc)
    assert result.ok, result.issues
    data = json.dumps(statement["predicate"]).encode()
    _round_trips(sbom.parse(data), data)
    # What the attestation would carry is the predicate as captured.
    assert sbom.predicate(doc) == (predicate_type, statement["predicate"])


def test_conforma_cyclonedx_keeps_what_policies_read(peers: Path) -> None:
    predicate = _statement(peers, "policy-input-cdx-sbom.json")["predicate"]
    doc = sbom.parse_predicate("https://cyclonedx.org/bom", predicate)
    assert isinstance(doc, sbom.CycloneDxBom)
    # sbom_cyclonedx.allowed_package_sources reads distribution URLs and hermeto properties.
    urls = [
        ref["url"]
        for c in doc.components
        for ref in c.data.get("externalReferences", [])
        if ref.get("type") == "distribution"
    ]
    assert "https://evil.example.com/npm/compat-data-7.29.0.tgz" in urls
    assert sbom.Property("hermeto:found_by", "hermeto") in doc.components[0].properties
    # cyclonedx-python-lib's own validator agrees.
    reference = JsonStrictValidator(SchemaVersion.V1_5).validate_str(json.dumps(predicate))
    assert reference is None


def test_conforma_spdx_image_package_matches_the_subject(peers: Path) -> None:
    predicate = _statement(peers, "policy-input-spdx-sbom.json")["predicate"]
    doc = sbom.parse_predicate("https://spdx.dev/Document", predicate)
    assert isinstance(doc, sbom.SpdxDocument)
    image = doc.packages[0]
    assert image.purls[0].startswith("pkg:oci/express-bf50b@sha256:8b61af7de972")
    assert image.checksums[0].content == image.purls[0].split("sha256:")[1].split("?")[0]
    assert {r.type for r in doc.relationships} <= {"CONTAINS", "DESCRIBES"}
