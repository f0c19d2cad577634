"""Merging CycloneDX SBOMs: union of components, merged graph, consistent bom-refs."""

from __future__ import annotations

import json
from typing import Any

import pytest
from cyclonedx.model.bom import Bom
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from konflux_supply import sbom
from konflux_supply.errors import InputError
from konflux_supply.sbom import CycloneDxBom

from .helpers import IMAGE, SERIAL, WHEN, bom, component, cyclonedx_docs, dumps, fixture


def _parse(doc: dict[str, Any]) -> CycloneDxBom:
    return sbom.parse_cyclonedx(dumps(doc))


def _identity(component: sbom.Component) -> str:
    # The merge's identity rule, restated: canonical purl, else bom-ref + name/version.
    from packageurl import PackageURL

    if component.purl:
        return str(PackageURL.from_string(component.purl).to_string())
    return json.dumps(dict(component.data), sort_keys=True)


def _graph_is_closed(merged: CycloneDxBom) -> None:
    refs = {c.bom_ref for c in merged.components if c.bom_ref}
    if merged.metadata_component and merged.metadata_component.bom_ref:
        refs.add(merged.metadata_component.bom_ref)
    for dep in merged.dependencies:
        assert dep.ref in refs
        assert set(dep.depends_on) <= refs


@pytest.mark.filterwarnings("ignore:.*is deprecated from CycloneDX")
def test_acceptance_image_scan_plus_prefetch() -> None:
    scan = sbom.parse_cyclonedx(fixture("image-scan.cdx.json"))
    prefetch = sbom.parse_cyclonedx(fixture("prefetch.cdx.json"))
    subject = sbom.image_component(IMAGE)
    merged = sbom.merge([scan, prefetch], subject=subject, serial_number=SERIAL, timestamp=WHEN)
    # One document that validates against the CycloneDX schema ...
    result = sbom.validate(merged.to_json())
    assert result.ok, result.issues
    # ... whose component set is the union (by identity) ...
    expected = {_identity(c) for c in scan.components + prefetch.components}
    assert {_identity(c) for c in merged.components} == expected
    assert len(merged.components) == len(expected) == 15
    # ... the image as the described component ...
    assert merged.metadata_component is not None
    assert merged.metadata_component.purl == subject["purl"]
    assert merged.spec_version == "1.5"
    # ... and a dependency graph without a dangling reference.
    _graph_is_closed(merged)
    root_edges = {d.ref: d for d in merged.dependencies}[subject["bom-ref"]]
    assert len(root_edges.depends_on) == 9  # the scan's root edges, express counted once
    # Properties and hashes of duplicates are kept (union).
    express = [c for c in merged.components if c.purl == "pkg:npm/express@5.2.1"]
    assert len(express) == 1
    names = {(p.name, p.value) for p in express[0].properties}
    assert ("hermeto:found_by", "hermeto") in names
    assert ("syft:location:0:path", "/opt/tools/node_modules/express/package.json") in names
    assert ("syft:location:0:path", "/app/node_modules/express/package.json") in names
    requests = next(c for c in merged.components if c.purl == "pkg:pypi/requests@2.32.3")
    assert len(requests.hashes) == 1
    assert requests.data["externalReferences"][0]["type"] == "distribution"
    # Both tool styles end up as components (1.5 object form), ours first.
    tools = merged.data["metadata"]["tools"]["components"]
    assert [t["name"] for t in tools] == ["konflux-supply", "image-scanner", "prefetcher"]
    # cyclonedx-python-lib reads the result (an interop check).
    assert len(Bom.from_json(json.loads(merged.to_json())).components) == 15


def test_deterministic_bytes_and_inputs_untouched() -> None:
    scan_bytes = fixture("image-scan.cdx.json")
    scan = sbom.parse_cyclonedx(scan_bytes)
    prefetch = sbom.parse_cyclonedx(fixture("prefetch.cdx.json"))
    runs = [
        sbom.merge([scan, prefetch], serial_number=SERIAL, timestamp=WHEN).to_json()
        for _ in range(2)
    ]
    assert runs[0] == runs[1]
    assert scan.data == json.loads(scan_bytes)
    # Without a subject the first input's described component is kept.
    merged = sbom.parse_cyclonedx(runs[0])
    assert merged.metadata_component == scan.metadata_component


def test_bom_ref_clash_is_renamed_and_graphs_follow() -> None:
    first = bom(
        [{"type": "file", "name": "/a", "bom-ref": "f1"}, component("x")],
        [{"ref": "f1", "dependsOn": ["pkg:pypi/x@1.0"]}],
    )
    second = bom(
        [{"type": "file", "name": "/b", "bom-ref": "f1"}, component("y", **{"bom-ref": "y"})],
        [{"ref": "f1", "dependsOn": ["y"]}],
    )
    merged = sbom.merge([_parse(first), _parse(second)], serial_number=SERIAL, timestamp=WHEN)
    refs = [c.bom_ref for c in merged.components]
    assert refs == ["f1", "pkg:pypi/x@1.0", "f1-2", "y"]
    edges = {d.ref: d.depends_on for d in merged.dependencies}
    assert edges == {"f1": ("pkg:pypi/x@1.0",), "f1-2": ("y",)}


def test_duplicates_map_refs_onto_the_kept_component() -> None:
    first = bom([component("x", **{"bom-ref": "x-1"}), component("z")], [])
    second = bom(
        [component("x", **{"bom-ref": "x-other"}), component("w")],
        [{"ref": "pkg:pypi/w@1.0", "dependsOn": ["x-other"]}],
    )
    merged = sbom.merge([_parse(first), _parse(second)], serial_number=SERIAL, timestamp=WHEN)
    assert [c.bom_ref for c in merged.components] == ["x-1", "pkg:pypi/z@1.0", "pkg:pypi/w@1.0"]
    assert merged.dependencies[0].depends_on == ("x-1",)


def test_purl_spellings_are_one_package_but_qualifiers_are_not() -> None:
    a = component("Django_X", purl="pkg:PyPI/Django_X@1.0")
    b = component("django-x", purl="pkg:pypi/django-x@1.0", **{"bom-ref": "b"})
    c = component(
        "django-x",
        purl="pkg:pypi/django-x@1.0?download_url=https://evil.example/x",
        **{"bom-ref": "c"},
    )
    merged = sbom.merge(
        [_parse(bom([a])), _parse(bom([b, c]))], serial_number=SERIAL, timestamp=WHEN
    )
    assert [x.purl for x in merged.components] == [a["purl"], c["purl"]]


def test_unions_and_conflicts() -> None:
    h1 = {"alg": "SHA-256", "content": "1" * 64}
    h2 = {"alg": "SHA-256", "content": "2" * 64}
    first = component(
        "x",
        hashes=[h1],
        properties=[{"name": "p", "value": "1"}],
        licenses=[{"license": {"id": "MIT"}}],
        description="first",
    )
    second = component(
        "x",
        hashes=[h1, h2],
        properties=[{"name": "p", "value": "2"}],
        licenses=[{"license": {"id": "Apache-2.0"}}],
        description="second",
        supplier={"name": "s"},
    )
    notes: list[str] = []
    merged = sbom.merge(
        [_parse(bom([first])), _parse(bom([second]))],
        serial_number=SERIAL,
        timestamp=WHEN,
        on_conflict=notes.append,
    )
    (x,) = merged.components
    assert x.hashes == (sbom.Hash("SHA-256", "1" * 64), sbom.Hash("SHA-256", "2" * 64))
    assert [p.value for p in x.properties] == ["1", "2"]
    assert x.licenses == ("MIT", "Apache-2.0")
    assert x.data["description"] == "first"
    assert x.data["supplier"] == {"name": "s"}  # gaps are filled
    assert notes == [
        "pkg:pypi/x@1.0: SHA-256 hashes differ between inputs; kept both",
        "pkg:pypi/x@1.0: 'description' differs between inputs; kept the first",
    ]


def test_same_component_with_other_digests_is_said_not_only_kept() -> None:
    # One purl, two SHA-256 digests: not the same artefact, or one input is wrong. Neither can
    # be preferred, so both stay; but a reader of the warnings must learn of it.
    first = component("x", hashes=[{"alg": "SHA-256", "content": "1" * 64}])
    second = component(
        "x",
        hashes=[{"alg": "SHA-256", "content": "2" * 64}, {"alg": "SHA-512", "content": "3" * 128}],
    )
    same = component("x", hashes=[{"alg": "SHA-256", "content": "1" * 64}])
    notes: list[str] = []
    merged = sbom.merge(
        [_parse(bom([first])), _parse(bom([second])), _parse(bom([same]))],
        serial_number=SERIAL,
        timestamp=WHEN,
        on_conflict=notes.append,
    )
    assert len(merged.components[0].hashes) == 3
    assert notes == ["pkg:pypi/x@1.0: SHA-256 hashes differ between inputs; kept both"]


def test_licence_expressions_are_not_mixed() -> None:
    first = component("x", licenses=[{"expression": "MIT OR Apache-2.0"}])
    second = component("x", licenses=[{"license": {"id": "MIT"}}])
    notes: list[str] = []
    merged = sbom.merge(
        [_parse(bom([first])), _parse(bom([second]))],
        serial_number=SERIAL,
        timestamp=WHEN,
        on_conflict=notes.append,
    )
    assert merged.components[0].licenses == ("MIT OR Apache-2.0",)
    assert notes
    assert "licence expressions differ" in notes[0]
    assert sbom.validate(merged).ok


def test_input_roots_map_onto_the_subject() -> None:
    first = bom(
        [component("a")],
        [{"ref": "r1", "dependsOn": ["pkg:pypi/a@1.0"]}],
        metadata={
            "component": {
                "type": "container",
                "name": "scan",
                "bom-ref": "r1",
                "components": [component("part")],
            }
        },
    )
    second = bom(
        [component("b")],
        [{"ref": "r2", "dependsOn": ["pkg:pypi/b@1.0"]}],
        metadata={"component": {"type": "application", "name": "src", "bom-ref": "r2"}},
    )
    subject = sbom.image_component(IMAGE)
    merged = sbom.merge(
        [_parse(first), _parse(second)], subject=subject, serial_number=SERIAL, timestamp=WHEN
    )
    root = merged.metadata_component
    assert root is not None
    assert root.bom_ref == subject["bom-ref"]
    assert merged.dependencies[0].depends_on == ("pkg:pypi/a@1.0", "pkg:pypi/b@1.0")
    assert [c["name"] for c in merged.data["metadata"]["component"]["components"]] == ["part"]
    assert sbom.validate(merged).ok


def test_services_compositions_vulnerabilities_and_annotations_follow_refs() -> None:
    first = bom(
        [{"type": "file", "name": "/a", "bom-ref": "f"}],
        [],
        services=[{"bom-ref": "s", "name": "api"}],
    )
    second = bom(
        [{"type": "file", "name": "/b", "bom-ref": "f"}],
        [{"ref": "s", "dependsOn": ["f"]}],
        services=[{"bom-ref": "s", "name": "other-api"}],
        compositions=[{"aggregate": "complete", "assemblies": ["f"]}],
        vulnerabilities=[{"id": "CVE-2026-0001", "affects": [{"ref": "f"}]}],
        annotations=[
            {
                "subjects": ["s"],
                "annotator": {"organization": {"name": "o"}},
                "timestamp": "2026-01-01T00:00:00Z",
                "text": "t",
            }
        ],
        properties=[{"name": "top", "value": "1"}],
        externalReferences=[{"type": "website", "url": "https://example.com"}],
    )
    merged = sbom.merge([_parse(first), _parse(second)], serial_number=SERIAL, timestamp=WHEN)
    data = merged.data
    assert [s["bom-ref"] for s in data["services"]] == ["s", "s-2"]
    assert data["dependencies"] == [{"ref": "s-2", "dependsOn": ["f-2"]}]
    assert data["compositions"][0]["assemblies"] == ["f-2"]
    assert data["vulnerabilities"][0]["affects"] == [{"ref": "f-2"}]
    assert data["annotations"][0]["subjects"] == ["s-2"]
    assert data["properties"] == [{"name": "top", "value": "1"}]
    result = sbom.validate(merged)
    assert result.ok, result.issues


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"spec_version": "1.4"}, "cannot be older"),
        ({"spec_version": "1.7"}, "cannot write CycloneDX"),
        ({"serial_number": "not-a-urn"}, "serial number"),
        ({"timestamp": WHEN.replace(tzinfo=None)}, "time zone"),
        ({"subject": {"type": "container"}}, "needs a string 'name'"),
    ],
)
def test_bad_merge_arguments(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(InputError, match=message):
        sbom.merge([_parse(bom(spec="1.5"))], **kwargs)


def test_nothing_to_merge() -> None:
    with pytest.raises(InputError, match="nothing to merge"):
        sbom.merge([])


def test_input_with_issues_is_rejected() -> None:
    broken = sbom.validate(dumps(bom([component("a")], [{"ref": "gone"}]))).document
    assert isinstance(broken, CycloneDxBom)
    with pytest.raises(InputError, match="dangling reference") as info:
        sbom.merge([broken])
    assert info.value.source == "SBOM #1"


def test_a_signature_is_dropped_with_a_note() -> None:
    notes: list[str] = []
    doc = bom(signature={"algorithm": "ES256", "value": "x"})
    merged = sbom.merge(
        [_parse(doc)], serial_number=SERIAL, timestamp=WHEN, on_conflict=notes.append
    )
    assert "signature" not in merged.data
    assert notes == ["an input's signature was dropped: it does not sign the merge"]


@settings(max_examples=120, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(cyclonedx_docs(), min_size=1, max_size=4))
def test_merge_properties(docs: list[dict[str, Any]]) -> None:
    boms = [_parse(doc) for doc in docs]
    merged = sbom.merge(boms, serial_number=SERIAL, timestamp=WHEN)
    # Every reference resolves (merge re-reads strictly, and we check again here).
    _graph_is_closed(merged)

    # Nothing is lost: every input component has its identity in the output.
    def key(c: sbom.Component) -> Any:
        if c.purl:
            return c.purl
        if c.bom_ref:
            return (c.type, c.name, c.version)
        return json.dumps(dict(c.data), sort_keys=True)

    inputs = {key(c) for b in boms for c in b.components}
    outputs = {key(c) for c in merged.components}
    assert outputs == inputs
    # Every input edge survives, through the ref map.
    assert len(merged.dependencies) <= sum(len(b.dependencies) for b in boms)
    # Merging again is a fixed point, and the bytes round-trip.
    again = sbom.merge([merged], serial_number=SERIAL, timestamp=WHEN)
    assert again.components == merged.components
    assert again.dependencies == merged.dependencies
    assert sbom.parse(merged.to_json()) == merged


@settings(max_examples=15, deadline=None)
@given(st.lists(cyclonedx_docs(spec="1.6"), min_size=1, max_size=3))
def test_merge_result_validates(docs: list[dict[str, Any]]) -> None:
    merged = sbom.merge([_parse(doc) for doc in docs], serial_number=SERIAL, timestamp=WHEN)
    result = sbom.validate(merged)
    assert result.ok, result.issues
