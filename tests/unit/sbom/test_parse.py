"""Reading CycloneDX and SPDX: typed views, detection, and every way input can be bad."""

from __future__ import annotations

import contextlib
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from konflux_supply import sbom
from konflux_supply.errors import InputError

from .helpers import bom, component, cyclonedx_docs, dumps, fixture


def test_image_scan_fixture_typed_view() -> None:
    doc = sbom.parse(fixture("image-scan.cdx.json"), source="scan")
    assert isinstance(doc, sbom.CycloneDxBom)
    assert doc.format is sbom.SbomFormat.CYCLONEDX_JSON
    assert doc.spec_version == "1.5"
    assert doc.serial_number == "urn:uuid:6f3c2a1e-9b7d-4e2f-8a5c-1d0e9f8a7b6c"
    assert doc.metadata_component is not None
    assert doc.metadata_component.type == "container"
    bash = doc.components[0]
    assert bash.purl == "pkg:rpm/redhat/bash@5.2.26-6.el10?arch=x86_64&distro=rhel-10.1"
    assert bash.licenses == ("GPL-3.0-or-later",)
    assert bash.hashes[0].alg == "SHA-256"
    assert sbom.Property("syft:package:foundBy", "rpm-db-cataloger") in bash.properties
    assert bash.path == "components[0]"
    assert doc.component(bash.bom_ref or "") == bash
    assert len(doc.purls()) == 9
    assert doc.dependencies[0].ref == doc.metadata_component.bom_ref
    assert doc.timestamp == "2026-11-20T10:00:00Z"


def test_media_and_predicate_types() -> None:
    cdx = sbom.parse(fixture("prefetch.cdx.json"))
    assert (cdx.media_type, cdx.predicate_type) == (
        "application/vnd.cyclonedx+json",
        "https://cyclonedx.org/bom",
    )
    assert sbom.predicate(cdx) == ("https://cyclonedx.org/bom", json.loads(cdx.to_bytes()))
    assert sbom.parse_predicate(*sbom.predicate(cdx)) == cdx
    assert cdx.format.cosign_type == "cyclonedx"


def test_nested_components_and_services_are_read() -> None:
    inner = component("inner")
    outer = component("outer", components=[inner])
    doc = sbom.parse(
        dumps(
            bom(
                [outer],
                [{"ref": inner["bom-ref"], "dependsOn": ["svc"]}],
                services=[{"bom-ref": "svc", "name": "api"}],
            )
        )
    )
    assert [c.path for c in doc.components] == ["components[0]", "components[0].components[0]"]
    assert doc.dependencies[0].depends_on == ("svc",)


def test_round_trip_keeps_unknown_fields_and_bytes() -> None:
    data = dumps(bom([component("a", evidence={"identity": {"field": "purl"}})], x_vendor=[1]))
    doc = sbom.parse(data)
    assert doc.to_bytes() == data
    again = sbom.parse(doc.to_json())
    assert again == doc
    assert again.data == json.loads(data)


def test_spdx_json_typed_view() -> None:
    doc = sbom.parse(
        dumps(
            {
                "spdxVersion": "SPDX-2.3",
                "dataLicense": "CC0-1.0",
                "SPDXID": "SPDXRef-DOCUMENT",
                "name": "example",
                "documentNamespace": "https://example.com/spdx/1",
                "creationInfo": {"created": "2026-01-01T00:00:00Z", "creators": ["Tool: x"]},
                "packages": [
                    {
                        "SPDXID": "SPDXRef-a",
                        "name": "a",
                        "versionInfo": "1",
                        "downloadLocation": "NOASSERTION",
                        "externalRefs": [
                            {
                                "referenceCategory": "PACKAGE-MANAGER",
                                "referenceType": "purl",
                                "referenceLocator": "pkg:pypi/a@1",
                            }
                        ],
                    }
                ],
                "relationships": [
                    {
                        "spdxElementId": "SPDXRef-DOCUMENT",
                        "relationshipType": "DESCRIBES",
                        "relatedSpdxElement": "SPDXRef-a",
                    }
                ],
            }
        )
    )
    assert isinstance(doc, sbom.SpdxDocument)
    assert doc.media_type == "text/spdx+json"
    assert doc.purls() == ("pkg:pypi/a@1",)
    assert doc.describes == ("SPDXRef-a",)
    assert doc.package("SPDXRef-a") is not None
    assert sbom.validate(doc).ok


TAG_VALUE = b"""SPDXVersion: SPDX-2.3
DataLicense: CC0-1.0
SPDXID: SPDXRef-DOCUMENT
DocumentName: example
DocumentNamespace: https://example.com/spdx/2
Creator: Tool: example
Created: 2026-01-01T00:00:00Z

# a comment
PackageName: a
SPDXID: SPDXRef-a
PackageVersion: 1.0
PackageDownloadLocation: NOASSERTION
FilesAnalyzed: false
PackageChecksum: SHA256: 0d8975f6ff7067f2adad485924e0854caec9c5d46306bf5b901d311c2fb05a7a
PackageDescription: <text>two
lines</text>
ExternalRef: PACKAGE-MANAGER purl pkg:golang/example.com/a@1.0

Relationship: SPDXRef-DOCUMENT DESCRIBES SPDXRef-a
Relationship SPDXRef-a DEPENDS_ON NOASSERTION
"""


def test_spdx_tag_value() -> None:
    doc = sbom.parse(TAG_VALUE)
    assert isinstance(doc, sbom.SpdxDocument)
    assert doc.format is sbom.SbomFormat.SPDX_TAG_VALUE
    assert doc.media_type == "text/spdx"
    assert doc.predicate() == TAG_VALUE.decode()
    package = doc.packages[0]
    assert package.purls == ("pkg:golang/example.com/a@1.0",)
    assert package.checksums[0].alg == "SHA256"
    assert package.data["description"] == "two\nlines"
    assert package.data["filesAnalyzed"] is False
    assert [r.type for r in doc.relationships] == ["DESCRIBES", "DEPENDS_ON"]
    assert sbom.parse(doc.to_bytes()) == doc
    assert sbom.parse_predicate("https://spdx.dev/Document", doc.predicate()) == doc
    assert sbom.validate(TAG_VALUE).ok


def _cdx(**changes: Any) -> bytes:
    doc = bom([component("a"), component("b")], [{"ref": "pkg:pypi/a@1.0", "dependsOn": []}])
    doc.update(changes)
    return dumps(doc)


_GOOD_SPDX: dict[str, Any] = {
    "spdxVersion": "SPDX-2.3",
    "SPDXID": "SPDXRef-DOCUMENT",
    "packages": [{"SPDXID": "SPDXRef-a", "name": "a"}],
}

BAD_INPUTS: list[tuple[str, bytes, str, str | None]] = [
    # (case, bytes, message fragment, field path)
    ("truncated JSON", b'{"bomFormat": ', "invalid JSON at line 1", None),
    ("not UTF-8", b'{"a": "\xff"}', "not UTF-8", None),
    ("NaN", b'{"bomFormat": NaN}', "invalid JSON value", None),
    ("deep nesting", b"[" * 100_000 + b"]" * 100_000, "nested too deeply", None),
    ("array", b"[]", "must be a JSON object", None),
    ("neither format", b'{"a": 1}', "not a CycloneDX or SPDX", None),
    (
        "duplicate key",
        b'{"bomFormat":"CycloneDX","specVersion":"1.6","components":'
        b'[{"type":"library","name":"a","name":"b"}]}',
        "key 'name' more than once",
        "components[0]",
    ),
    ("wrong bomFormat", _cdx(bomFormat="SPDX"), "expected 'CycloneDX'", "bomFormat"),
    ("CycloneDX 1.3", _cdx(specVersion="1.3"), "unsupported CycloneDX version", "specVersion"),
    ("CycloneDX 1.7", _cdx(specVersion="1.7"), "unsupported CycloneDX version", "specVersion"),
    ("number version", _cdx(specVersion=1.6), "unsupported CycloneDX version", "specVersion"),
    ("SPDX 3", dumps({"spdxVersion": "SPDX-3.0"}), "unsupported SPDX version", "spdxVersion"),
    ("components object", _cdx(components={}), "must be an array", "components"),
    ("component string", _cdx(components=["a"]), "must be an object", "components[0]"),
    (
        "component without name",
        _cdx(components=[{"type": "library"}], dependencies=[]),
        "needs a string 'name'",
        "components[0].name",
    ),
    (
        "bad hash",
        _cdx(components=[component("a", hashes=[{"alg": "SHA-256"}])], dependencies=[]),
        "needs string 'alg' and 'content'",
        "components[0].hashes[0]",
    ),
    (
        "bad property",
        _cdx(components=[component("a", properties=[{"name": 1}])], dependencies=[]),
        "string 'name'",
        "components[0].properties[0]",
    ),
    (
        "bad license",
        _cdx(components=[component("a", licenses=[{"license": {}}])], dependencies=[]),
        "needs an 'id' or a 'name'",
        "components[0].licenses[0].license",
    ),
    (
        "purl not a string",
        _cdx(components=[component("a", purl=1)], dependencies=[]),
        "must be a string",
        "components[0].purl",
    ),
    (
        "duplicate bom-ref",
        _cdx(components=[component("a"), component("a", description="other")]),
        "duplicate bom-ref 'pkg:pypi/a@1.0' (first at components[0])",
        "components[1].bom-ref",
    ),
    (
        "duplicate bom-ref, nested",
        _cdx(components=[component("a", components=[component("a")])]),
        "duplicate bom-ref",
        "components[0].components[0].bom-ref",
    ),
    (
        "duplicate bom-ref, metadata.component",
        _cdx(metadata={"component": component("a")}),
        "duplicate bom-ref",
        "components[0].bom-ref",
    ),
    (
        "duplicate bom-ref, service",
        _cdx(services=[{"bom-ref": "pkg:pypi/b@1.0", "name": "s"}]),
        "duplicate bom-ref",
        "services[0].bom-ref",
    ),
    (
        "dangling ref",
        _cdx(dependencies=[{"ref": "nope"}]),
        "dangling reference 'nope'",
        "dependencies[0].ref",
    ),
    (
        "dangling dependsOn",
        _cdx(dependencies=[{"ref": "pkg:pypi/a@1.0", "dependsOn": ["pkg:pypi/b@1.0", "x"]}]),
        "dangling reference 'x'",
        "dependencies[0].dependsOn[1]",
    ),
    (
        "dangling provides",
        _cdx(dependencies=[{"ref": "pkg:pypi/a@1.0", "provides": ["y"]}]),
        "dangling reference 'y'",
        "dependencies[0].provides[0]",
    ),
    (
        "dependency without ref",
        _cdx(dependencies=[{"dependsOn": []}]),
        "needs a string 'ref'",
        "dependencies[0].ref",
    ),
    ("version not int", _cdx(version="1"), "must be an integer", "version"),
    (
        "SPDX duplicate SPDXID",
        dumps(_GOOD_SPDX | {"packages": [{"SPDXID": "SPDXRef-a", "name": "a"}] * 2}),
        "duplicate SPDXID",
        "packages[1].SPDXID",
    ),
    (
        "SPDX dangling relationship",
        dumps(
            _GOOD_SPDX
            | {
                "relationships": [
                    {
                        "spdxElementId": "SPDXRef-a",
                        "relationshipType": "CONTAINS",
                        "relatedSpdxElement": "SPDXRef-b",
                    }
                ]
            }
        ),
        "dangling reference 'SPDXRef-b'",
        "relationships[0].relatedSpdxElement",
    ),
    (
        "SPDX dangling documentDescribes",
        dumps(_GOOD_SPDX | {"documentDescribes": ["SPDXRef-z"]}),
        "dangling reference",
        "documentDescribes[0]",
    ),
    (
        "SPDX package without name",
        dumps(_GOOD_SPDX | {"packages": [{"SPDXID": "SPDXRef-a"}]}),
        "missing required string 'name'",
        "packages[0].name",
    ),
    (
        "tag-value unclosed text",
        b"SPDXVersion: SPDX-2.3\nDocumentComment: <text>never closed\n",
        "never closed",
        None,
    ),
    ("tag-value bad line", b"SPDXVersion: SPDX-2.3\nthis is not a tag\n", "line 2", None),
    (
        "tag-value repeated tag",
        b"SPDXVersion: SPDX-2.3\nPackageName: a\nPackageVersion: 1\nPackageVersion: 2\n",
        "appears twice",
        None,
    ),
    ("tag-value SPDX 2.1", b"SPDXVersion: SPDX-2.1\n", "unsupported SPDX version", "SPDXVersion"),
]


@pytest.mark.parametrize(
    ("data", "message", "path"),
    [pytest.param(d, m, p, id=case) for case, d, m, p in BAD_INPUTS],
)
def test_bad_input_is_a_typed_error_with_a_path(
    data: bytes, message: str, path: str | None
) -> None:
    with pytest.raises(InputError) as info:
        sbom.parse(data, source="doc.json")
    assert message in info.value.message
    assert info.value.field == path
    assert info.value.source == "doc.json"


def test_size_cap_is_checked_before_parsing() -> None:
    data = _cdx()
    with pytest.raises(InputError, match="above the cap of 100 bytes"):
        sbom.parse(data, limits=sbom.ParseLimits(max_bytes=100))
    assert sbom.parse(data, limits=sbom.ParseLimits(max_bytes=len(data)))
    assert sbom.DEFAULT_MAX_BYTES == 128 * 1024 * 1024
    with pytest.raises(InputError):
        sbom.ParseLimits(max_bytes=0)


@pytest.mark.parametrize(
    ("data", "hint"),
    [
        (dumps({"_type": "https://in-toto.io/Statement/v1", "predicate": {}}), "in-toto"),
        (dumps({"payloadType": "x", "payload": ""}), "DSSE"),
    ],
)
def test_wrappers_get_a_hint(data: bytes, hint: str) -> None:
    with pytest.raises(InputError) as info:
        sbom.parse(data)
    assert hint in (info.value.hint or "")


def test_media_type_must_match() -> None:
    assert sbom.parse(_cdx(), media_type="application/vnd.cyclonedx+json; version=1.6")
    with pytest.raises(InputError, match="does not match"):
        sbom.parse(_cdx(), media_type="text/spdx+json")


def test_parse_cyclonedx_rejects_spdx() -> None:
    with pytest.raises(InputError, match="expected a CycloneDX document"):
        sbom.parse_cyclonedx(TAG_VALUE)


@pytest.mark.parametrize(
    ("predicate_type", "predicate", "message"),
    [
        ("https://slsa.dev/provenance/v1", {}, "not an SBOM predicate type"),
        ("https://cyclonedx.org/bom", "text", "not an SBOM document"),
        ("https://spdx.dev/Document", json.loads(_cdx()), "does not match the document"),
    ],
)
def test_bad_predicates(predicate_type: str, predicate: Any, message: str) -> None:
    with pytest.raises(InputError, match=message):
        sbom.parse_predicate(predicate_type, predicate)


@given(st.binary(max_size=300))
def test_arbitrary_bytes_only_raise_input_error(data: bytes) -> None:
    with contextlib.suppress(InputError):
        sbom.parse(data)


@given(st.text(alphabet="SPDXVersion:-2.3\nPackageName<text>/ #", max_size=200))
def test_arbitrary_tag_value_only_raises_input_error(text: str) -> None:
    with contextlib.suppress(InputError):
        sbom.parse(("SPDXVersion: SPDX-2.3\n" + text).encode())


@settings(max_examples=150)
@given(cyclonedx_docs())
def test_round_trip(doc: dict[str, Any]) -> None:
    parsed = sbom.parse(dumps(doc))
    assert parsed.data == doc
    for indent in (2, None):
        again = sbom.parse(parsed.to_json(indent=indent))
        assert again == parsed
        assert again.components == parsed.components
        assert again.dependencies == parsed.dependencies
    assert sbom.validate(parsed, schema=False).ok
