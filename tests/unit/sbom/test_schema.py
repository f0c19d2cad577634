"""Schema validation: our linear validator gives cyclonedx-python-lib's verdicts, with paths."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator

from konflux_supply import sbom

from .helpers import SERIAL, bom, component, dumps, fixture

_REFERENCE = {
    "1.4": JsonStrictValidator(SchemaVersion.V1_4),
    "1.5": JsonStrictValidator(SchemaVersion.V1_5),
    "1.6": JsonStrictValidator(SchemaVersion.V1_6),
}


def _full(spec: str) -> dict[str, Any]:
    a, b = component("a"), component("b", hashes=[{"alg": "SHA-256", "content": "0" * 64}])
    return bom(
        [a, b],
        [{"ref": a["bom-ref"], "dependsOn": [b["bom-ref"]]}],
        spec=spec,
        serialNumber=SERIAL,
        metadata={
            "timestamp": "2026-01-01T00:00:00Z",
            "component": {"type": "container", "name": "app", "bom-ref": "root"},
        },
    )


def _mutate(path: str, value: Any) -> Any:
    def apply(doc: dict[str, Any]) -> dict[str, Any]:
        doc = copy.deepcopy(doc)
        target: Any = doc
        keys: list[Any] = [int(k) if k.isdigit() else k for k in path.split("/")]
        for key in keys[:-1]:
            target = target[key]
        if value is _DELETE:
            del target[keys[-1]]
        else:
            target[keys[-1]] = value
        return doc

    return apply


_DELETE = object()

MUTATIONS: list[tuple[str, Any, str | None]] = [
    # (case, mutation, expected path of the first issue; None = valid)
    ("valid", lambda d: d, None),
    ("unknown type", _mutate("components/0/type", "gadget"), "components[0].type"),
    ("unknown field", _mutate("components/0/colour", "red"), "components[0]"),
    ("bad serial", _mutate("serialNumber", "urn:uuid:nope"), "serialNumber"),
    ("bad timestamp", _mutate("metadata/timestamp", "yesterday"), "metadata.timestamp"),
    ("name missing", _mutate("components/1/name", _DELETE), "components[1]"),
    ("bad hash alg", _mutate("components/1/hashes/0/alg", "CRC"), "components[1].hashes[0].alg"),
    ("short hash", _mutate("components/1/hashes/0/content", "abc"), "components[1].hashes[0]"),
    ("version 0", _mutate("version", 0), "version"),
    (
        "good url",
        _mutate("components/0/externalReferences", [{"type": "website", "url": "https://a.b/c"}]),
        None,
    ),
    (
        "bad url",
        _mutate("components/0/externalReferences", [{"type": "website", "url": "a b"}]),
        "components[0].externalReferences[0].url",
    ),
    (
        "duplicate components",
        lambda d: _mutate("components", [component("x"), component("x")])(d),
        "components",
    ),
    (
        "duplicate dependsOn",
        _mutate("dependencies/0/dependsOn", ["pkg:pypi/b@1.0", "pkg:pypi/b@1.0"]),
        "dependencies[0].dependsOn",
    ),
    (
        "bad license id",
        _mutate("components/0/licenses", [{"license": {"id": "NOT-A-LICENSE"}}]),
        "components[0].licenses[0]",
    ),
]


@pytest.mark.parametrize("spec", ["1.4", "1.5", "1.6"])
@pytest.mark.parametrize(
    ("mutation", "path"), [pytest.param(m, p, id=case) for case, m, p in MUTATIONS]
)
def test_same_verdict_as_cyclonedx_python_lib(spec: str, mutation: Any, path: str | None) -> None:
    doc = mutation(_full(spec))
    reference_error = _REFERENCE[spec].validate_str(json.dumps(doc))
    result = sbom.validate(dumps(doc))
    assert result.ok == (reference_error is None)
    assert result.schema_checked
    if path is None:
        assert result.ok
    elif reference_error is not None:  # e.g. "version": 0 is valid CycloneDX 1.4
        assert result.issues[0].path.startswith(path), result.issues


def test_unique_items_names_both_items() -> None:
    doc = _mutate("components", [component("x"), component("y"), component("x")])(_full("1.6"))
    issues = sbom.validate(dumps(doc), schema=True).issues
    schema_issue = [i for i in issues if i.path == "components"]
    assert schema_issue
    assert "items 0 and 2 are equal" in schema_issue[0].message


def test_no_schema_checks_only_integrity() -> None:
    doc = _mutate("components/0/type", "gadget")(_full("1.6"))
    assert sbom.validate(dumps(doc), schema=False).ok
    assert not sbom.validate(dumps(doc), schema=True).ok


def test_integrity_issues_are_all_collected() -> None:
    doc = bom(
        [component("a"), component("a", description="again")],
        [{"ref": "nope", "dependsOn": ["gone"]}],
    )
    issues = sbom.validate(dumps(doc), schema=False).issues
    assert [i.path for i in issues] == [
        "components[1].bom-ref",
        "dependencies[0].ref",
        "dependencies[0].dependsOn[0]",
    ]
    assert str(issues[0]).startswith("components[1].bom-ref: duplicate bom-ref")


def test_long_messages_are_shortened() -> None:
    doc = _mutate("components/0/type", "x" * 5000)(_full("1.6"))
    issue = sbom.validate(dumps(doc)).issues[0]
    assert len(issue.message) <= 300


@pytest.mark.parametrize("name", ["image-scan.cdx.json", "prefetch.cdx.json"])
def test_our_fixtures_validate(name: str) -> None:
    result = sbom.validate(fixture(name))
    assert result.ok, result.issues


_SPDX: dict[str, Any] = {
    "spdxVersion": "SPDX-2.3",
    "dataLicense": "CC0-1.0",
    "SPDXID": "SPDXRef-DOCUMENT",
    "name": "doc",
    "documentNamespace": "https://example.com/doc",
    "creationInfo": {"created": "2026-01-01T00:00:00Z", "creators": ["Tool: t"]},
    "packages": [{"SPDXID": "SPDXRef-a", "name": "a", "downloadLocation": "NOASSERTION"}],
    "files": [
        {
            "SPDXID": "SPDXRef-f",
            "fileName": "./f",
            "checksums": [{"algorithm": "SHA1", "checksumValue": "a" * 40}],
        }
    ],
    "relationships": [
        {
            "spdxElementId": "SPDXRef-a",
            "relationshipType": "CONTAINS",
            "relatedSpdxElement": "SPDXRef-f",
        }
    ],
}

SPDX_CASES: list[tuple[str, Any, str | None]] = [
    ("valid", lambda d: d, None),
    ("data licence", _mutate("dataLicense", "MIT"), "dataLicense"),
    ("document id", _mutate("SPDXID", "SPDXRef-x"), "SPDXID"),
    ("no namespace", _mutate("documentNamespace", _DELETE), "documentNamespace"),
    ("no creators", _mutate("creationInfo/creators", []), "creationInfo.creators"),
    ("no created", _mutate("creationInfo/created", _DELETE), "creationInfo.created"),
    (
        "no download location",
        _mutate("packages/0/downloadLocation", _DELETE),
        "packages[0].downloadLocation",
    ),
    (
        "filesAnalyzed string",
        _mutate("packages/0/filesAnalyzed", "false"),
        "packages[0].filesAnalyzed",
    ),
    (
        "purpose",
        _mutate("packages/0/primaryPackagePurpose", "TOY"),
        "packages[0].primaryPackagePurpose",
    ),
    (
        "checksum algorithm",
        _mutate("files/0/checksums/0/algorithm", "CRC32"),
        "files[0].checksums[0].algorithm",
    ),
    (
        "checksum hex",
        _mutate("files/0/checksums/0/checksumValue", "zz"),
        "files[0].checksums[0].checksumValue",
    ),
    ("file without checksums", _mutate("files/0/checksums", []), "files[0].checksums"),
    (
        "relationship type",
        _mutate("relationships/0/relationshipType", "LIKES"),
        "relationships[0].relationshipType",
    ),
    (
        "reference category",
        _mutate(
            "packages/0/externalRefs",
            [{"referenceCategory": "MISC", "referenceType": "purl", "referenceLocator": "x"}],
        ),
        "packages[0].externalRefs[0].referenceCategory",
    ),
]


@pytest.mark.parametrize(("mutation", "path"), [pytest.param(m, p, id=c) for c, m, p in SPDX_CASES])
def test_spdx_required_fields_and_vocabularies(mutation: Any, path: str | None) -> None:
    result = sbom.validate(dumps(mutation(_SPDX)))
    if path is None:
        assert result.ok, result.issues
    else:
        assert [i.path for i in result.issues] == [path]
