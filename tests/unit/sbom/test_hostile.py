"""Hostile input through every SBOM entry point: only typed errors, never a traceback."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from konflux_supply import sbom
from konflux_supply.cli import main
from konflux_supply.errors import InputError, KonfluxSupplyError

from .helpers import DIGEST, IMAGE, SERIAL, bom, component, dumps
from .layout import Layout, digest_of

SUBJECT = sbom.image_component(IMAGE)


def _nested(depth: int, key: str = "components") -> dict[str, Any]:
    root: dict[str, Any] = {"type": "library", "name": "n0"}
    node = root
    for level in range(1, depth):
        child: dict[str, Any] = {"type": "library", "name": f"n{level}"}
        node[key] = [child]
        node = child
    return root


def _spdx(**extra: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "spdxVersion": "SPDX-2.3",
        "dataLicense": "CC0-1.0",
        "SPDXID": "SPDXRef-DOCUMENT",
        "name": "doc",
        "documentNamespace": "https://example.com/doc",
        "creationInfo": {"created": "2026-01-01T00:00:00Z", "creators": ["Tool: x"]},
    }
    return doc | extra


# -- schema validation of deeply nested documents ---------------------------------------------


@pytest.mark.parametrize("key", ["components", "services"])
def test_schema_check_of_deep_nesting_is_an_input_error(key: str) -> None:
    nested = _nested(300, key) | ({"name": "s"} if key == "services" else {})
    doc = bom([]) | {key: [nested]}
    data = dumps(doc)
    assert sbom.validate(data, schema=False).ok  # parseable: only the schema walk is too deep
    with pytest.raises(InputError, match="nested too deeply") as caught:
        sbom.validate(data, schema=True, source="deep.json")
    assert caught.value.source == "deep.json"


def test_validate_cli_on_deep_nesting_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "deep.json"
    path.write_bytes(dumps(bom([_nested(300)])))
    assert main(["sbom", "validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert "internal error" not in err
    assert f"{path}: " in err
    assert "nested too deeply" in err


# -- predicates of deeply nested documents ----------------------------------------------------


def test_predicate_of_a_deep_document_round_trips() -> None:
    deep: Any = []
    for _ in range(900):
        deep = [deep]
    document = sbom.parse(dumps(bom(x=deep)))
    predicate_type, predicate = sbom.predicate(document)
    assert predicate == document.data
    assert predicate is not document.data
    assert sbom.parse_predicate(predicate_type, predicate).data == document.data


# -- arbitrary JSON in every field the readers, validators and merge look at ------------------

_scalars = st.none() | st.booleans() | st.integers() | st.text(max_size=5)
_json = st.recursive(
    _scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=8,
)

_CDX_PATHS = [
    ("components",),
    ("components", 0),
    ("components", 0, "bom-ref"),
    ("components", 0, "purl"),
    ("components", 0, "hashes"),
    ("components", 0, "properties"),
    ("components", 0, "licenses"),
    ("components", 0, "externalReferences"),
    ("components", 0, "components"),
    ("metadata",),
    ("metadata", "component"),
    ("metadata", "tools"),
    ("metadata", "tools", "components"),
    ("metadata", "tools", "services"),
    ("metadata", "properties"),
    ("metadata", "lifecycles"),
    ("services",),
    ("dependencies",),
    ("dependencies", 0, "dependsOn"),
    ("compositions",),
    ("vulnerabilities",),
    ("annotations",),
    ("declarations",),
    ("properties",),
    ("serialNumber",),
    ("version",),
]
_SPDX_PATHS = [
    ("SPDXID",),
    ("packages",),
    ("packages", 0),
    ("packages", 0, "SPDXID"),
    ("packages", 0, "checksums"),
    ("packages", 0, "checksums", 0, "algorithm"),
    ("packages", 0, "externalRefs"),
    ("packages", 0, "externalRefs", 0, "referenceCategory"),
    ("packages", 0, "primaryPackagePurpose"),
    ("packages", 0, "filesAnalyzed"),
    ("packages", 0, "hasFiles"),
    ("files",),
    ("relationships",),
    ("relationships", 0, "relationshipType"),
    ("relationships", 0, "spdxElementId"),
    ("documentDescribes",),
    ("externalDocumentRefs",),
    ("creationInfo",),
    ("creationInfo", "creators"),
]


def _cdx_base() -> dict[str, Any]:
    a = component("a", hashes=[{"alg": "SHA-256", "content": "0" * 64}])
    return bom(
        [a],
        [{"ref": a["bom-ref"], "dependsOn": []}],
        metadata={
            "component": {"type": "application", "name": "m", "bom-ref": "m"},
            "tools": {"components": [{"type": "application", "name": "t"}]},
        },
        services=[{"name": "s", "bom-ref": "s"}],
    )


def _spdx_base() -> dict[str, Any]:
    package = {
        "SPDXID": "SPDXRef-a",
        "name": "a",
        "downloadLocation": "NOASSERTION",
        "checksums": [{"algorithm": "SHA256", "checksumValue": "00"}],
        "externalRefs": [
            {
                "referenceCategory": "PACKAGE-MANAGER",
                "referenceType": "purl",
                "referenceLocator": "pkg:pypi/a@1",
            }
        ],
    }
    relationship = {
        "spdxElementId": "SPDXRef-DOCUMENT",
        "relationshipType": "DESCRIBES",
        "relatedSpdxElement": "SPDXRef-a",
    }
    return _spdx(packages=[package], relationships=[relationship])


def _put(doc: dict[str, Any], path: tuple[str | int, ...], value: Any) -> dict[str, Any]:
    target: Any = doc
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return doc


def _every_entry_point(data: bytes) -> None:
    for run in (
        lambda: sbom.parse(data),
        lambda: sbom.validate(data, schema=False),
        lambda: sbom.validate(data, schema=True),
    ):
        with contextlib.suppress(InputError):
            run()
    with contextlib.suppress(InputError):
        document = sbom.parse(data)
        predicate_type, predicate = sbom.predicate(document)
        assert sbom.parse_predicate(predicate_type, predicate).data == document.data
        if isinstance(document, sbom.CycloneDxBom):
            merged = sbom.merge([document, document], subject=SUBJECT, serial_number=SERIAL)
            assert not sbom.validate(merged, schema=False).issues


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(_CDX_PATHS), _json)
def test_cyclonedx_with_any_json_in_a_field_raises_only_input_error(
    path: tuple[str | int, ...], value: Any
) -> None:
    _every_entry_point(dumps(_put(_cdx_base(), path, value)))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(_SPDX_PATHS), _json)
def test_spdx_with_any_json_in_a_field_raises_only_input_error(
    path: tuple[str | int, ...], value: Any
) -> None:
    _every_entry_point(dumps(_put(_spdx_base(), path, value)))


@pytest.mark.parametrize(
    ("tools", "field"),
    [
        ("abc", "metadata.tools"),
        ({"components": True}, "metadata.tools.components"),
        ({"services": 5}, "metadata.tools.services"),
    ],
)
def test_merge_names_a_malformed_tools_field(tools: Any, field: str) -> None:
    good = sbom.parse(dumps(bom()))
    bad = sbom.parse(dumps(bom(metadata={"tools": tools})))
    with pytest.raises(InputError) as caught:
        sbom.merge([good, bad], serial_number=SERIAL)
    assert (caught.value.field, caught.value.source) == (field, "SBOM #2")


@pytest.mark.parametrize(
    "path",
    [
        ("packages", 0, "checksums", 0, "algorithm"),
        ("packages", 0, "primaryPackagePurpose"),
        ("relationships", 0, "relationshipType"),
    ],
)
def test_spdx_schema_check_of_a_non_string_enum_is_an_issue(path: tuple[str | int, ...]) -> None:
    result = sbom.validate(dumps(_put(_spdx_base(), path, ["x"])))
    assert {issue.path for issue in result.issues} == {
        ".".join(str(p) for p in path).replace(".0", "[0]")
    }


# -- CLI: --components and --output ------------------------------------------------------------


def _generate(tmp_path: Path, *extra: str) -> int:
    layout = Layout(tmp_path / "layout")
    manifest = tmp_path / "manifest.json"
    manifest.write_bytes(layout.image())
    image = f"quay.io/org/app@{digest_of(manifest.read_bytes())}"
    return main(["sbom", "generate", image, "--manifest", str(manifest), *extra])


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"[" * 5000 + b"]" * 5000, "nested too deeply"),
        (b'[{"type": "library", "name": "a", "name": "b"}]', "[0]: object has the key 'name'"),
        (b"[1]", "[0]: must be a CycloneDX component object"),
        (b"[NaN]", "invalid JSON value"),
    ],
)
def test_generate_components_file_errors_exit_2(
    tmp_path: Path, content: bytes, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "components.json"
    path.write_bytes(content)
    assert _generate(tmp_path, "--components", str(path)) == 2
    err = capsys.readouterr().err
    assert "internal error" not in err
    assert f"{path}: " in err
    assert message in err


def test_generate_components_from_an_sbom_with_null_components(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "components.json"
    path.write_bytes(dumps(bom(None) | {"components": None}))
    assert _generate(tmp_path, "--components", str(path), "--serial-number", SERIAL) == 0
    assert sbom.parse_cyclonedx(capsys.readouterr().out.encode()).components == ()


def test_generate_output_onto_a_directory_exits_2_and_leaves_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "out"
    target.mkdir()
    assert _generate(tmp_path, "-o", str(target)) == 2
    err = capsys.readouterr().err
    assert "internal error" not in err
    assert f"{target}: cannot write file" in err
    assert list(target.iterdir()) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["layout", "manifest.json", "out"]


# -- merge: differing document metadata is reported, not silently dropped ---------------------


def test_merge_reports_differing_metadata() -> None:
    first = sbom.parse(dumps(bom(metadata={"supplier": {"name": "a"}, "licenses": []})))
    second = sbom.parse(dumps(bom(metadata={"supplier": {"name": "b"}, "licenses": []})))
    notes: list[str] = []
    merged = sbom.merge([first, second], serial_number=SERIAL, on_conflict=notes.append)
    assert merged.data["metadata"]["supplier"] == {"name": "a"}
    assert notes == ["metadata.supplier differs between inputs; kept the first"]


@pytest.mark.parametrize(
    ("value", "message"),
    [({1, 2}, "is not JSON serializable"), (float("nan"), "not JSON compliant")],
)
def test_parse_predicate_of_a_non_json_value_is_an_input_error(value: Any, message: str) -> None:
    predicate = bom() | {"x": value}
    with pytest.raises(InputError, match=message) as caught:
        sbom.parse_predicate(sbom.PREDICATE_CYCLONEDX, predicate, source="statement.json")
    assert (caught.value.field, caught.value.source) == ("predicate", "statement.json")


# -- Hypothesis over the remaining entry points ------------------------------------------------

_MANIFEST_KEYS = st.sampled_from(
    [
        "mediaType",
        "manifests",
        "layers",
        "config",
        "digest",
        "platform",
        "annotations",
        "size",
        "os",
        "architecture",
        "variant",
        "os.version",
        "vnd.docker.reference.type",
    ]
)
_manifest_scalars = _scalars | st.sampled_from(
    [
        DIGEST,
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.oci.image.manifest.v1+json",
    ]
)
_manifests = st.recursive(
    _manifest_scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_MANIFEST_KEYS, inner, max_size=4),
    max_leaves=12,
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_manifests, st.lists(_json, max_size=2))
def test_generate_from_any_manifest_raises_only_typed_errors(
    manifest: Any, components: list[Any]
) -> None:
    data = dumps(manifest)
    image = f"quay.io/org/app@{digest_of(data)}"
    for source in ({"manifest": data}, {"fetch": lambda _: data}):
        with contextlib.suppress(KonfluxSupplyError):
            sbom.generate(image, components=components, serial_number=SERIAL, **source)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200) | st.builds(dumps, st.lists(_json, max_size=3)))
def test_parse_components_raises_only_input_error(data: bytes) -> None:
    with contextlib.suppress(InputError):
        for item in sbom.parse_components(data):
            assert isinstance(item, dict)


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(["cyclonedx", "spdxjson", "spdx", "custom"]), st.binary(max_size=200))
def test_read_predicate_raises_only_input_error(predicate_type: str, data: bytes) -> None:
    with contextlib.suppress(InputError):
        sbom.read_predicate(data, predicate_type)


def test_merge_cli_names_the_file_of_a_bad_input(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good, bad, out = tmp_path / "good.json", tmp_path / "bad.json", tmp_path / "out.json"
    good.write_bytes(dumps(bom()))
    bad.write_bytes(dumps(bom(metadata={"tools": {"components": 5}})))
    assert main(["sbom", "merge", str(good), str(bad), "-o", str(out)]) == 2
    assert f"{bad}: metadata.tools.components: must be an array" in capsys.readouterr().err
    assert not out.exists()


@pytest.mark.parametrize("when", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00"])
def test_generate_timestamp_out_of_range_in_utc_exits_2(
    tmp_path: Path, when: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _generate(tmp_path, "--timestamp", when) == 2
    err = capsys.readouterr().err
    assert "internal error" not in err
    assert "timestamp: " in err


_IMAGE_PARTS = st.sampled_from(
    [
        *("quay.io", "localhost:5000", "a", "org", f"@{DIGEST}", "@sha512:" + "b" * 128),
        *(":v1", ":", "/", "@", "oci:", "oci:./x", "index.docker.io", "A", "..", "_", "é"),
        *("\x00", " "),
    ]
)


@settings(max_examples=300, deadline=None)
@given(st.lists(_IMAGE_PARTS, max_size=6).map("".join))
def test_image_names_raise_only_typed_errors(text: str) -> None:
    for run in (
        lambda: sbom.image_component(text),
        lambda: sbom.oci_purl(text),
        lambda: sbom.image_component(text, repository="quay.io/org/app"),
    ):
        with contextlib.suppress(KonfluxSupplyError):
            run()


_TAGS = st.sampled_from(
    [
        *("SPDXVersion", "SPDXID", "DocumentNamespace", "Creator", "PackageName"),
        *("PackageVersion", "FilesAnalyzed", "PackageChecksum", "ExternalRef"),
        *("ExternalRefComment", "Relationship", "RelationshipComment", "FileName"),
        *("FileChecksum", "SnippetSPDXID", "ExternalDocumentRef", "PackageLicenseDeclared"),
        "FileType",
    ]
)
_VALUES = st.sampled_from(
    [
        *("SPDX-2.3", "SPDXRef-DOCUMENT", "SPDXRef-a", "SPDXRef-DOCUMENT DESCRIBES SPDXRef-a"),
        *("true", "SHA1: ab", "SHA256:", "PACKAGE-MANAGER purl pkg:pypi/a@1", "<text>x"),
        *("</text>", "", "DocumentRef-x http://a SHA1: ab", "NOASSERTION", "a b", "x: y"),
    ]
)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.tuples(_TAGS, _VALUES).map(": ".join), max_size=15),
    st.sampled_from(["\n", "\r\n", "\r"]),
)
def test_tag_value_lines_raise_only_input_error(lines: list[str], newline: str) -> None:
    text = newline.join(["SPDXVersion: SPDX-2.3", *lines])
    for run in (
        lambda: sbom.parse(text.encode()),
        lambda: sbom.validate(text.encode()),
        lambda: sbom.parse_predicate(sbom.PREDICATE_SPDX, text),
    ):
        with contextlib.suppress(InputError):
            run()
