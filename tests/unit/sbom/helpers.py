"""Builders and Hypothesis strategies shared by the SBOM tests."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from hypothesis import strategies as st

FIXTURES = Path(__file__).resolve().parents[3] / "fixtures" / "sbom"
SERIAL = "urn:uuid:3e671687-395b-41f5-a30f-a58921a69b79"
WHEN = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
DIGEST = "sha256:" + "ab" * 32
IMAGE = f"quay.io/example/app@{DIGEST}"


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def dumps(doc: Any) -> bytes:
    return json.dumps(doc).encode()


def component(name: str, version: str = "1.0", **extra: Any) -> dict[str, Any]:
    purl = f"pkg:pypi/{name}@{version}"
    base = {"bom-ref": purl, "type": "library", "name": name, "version": version, "purl": purl}
    return base | extra


def bom(
    components: list[dict[str, Any]] | None = None,
    dependencies: list[dict[str, Any]] | None = None,
    *,
    spec: str = "1.6",
    **extra: Any,
) -> dict[str, Any]:
    doc: dict[str, Any] = {"bomFormat": "CycloneDX", "specVersion": spec, "version": 1}
    doc["components"] = components if components is not None else [component("a")]
    if dependencies is not None:
        doc["dependencies"] = dependencies
    doc.update(extra)
    return doc


_names = st.sampled_from(["alpha", "beta", "gamma", "delta"])
_versions = st.sampled_from(["1.0", "2.0"])
_hashes = st.lists(
    st.builds(
        lambda alg, c: {"alg": alg, "content": c * 64},
        st.sampled_from(["SHA-256", "SHA-1"]),
        st.sampled_from("0123abcdef"),
    ),
    max_size=2,
)
_properties = st.lists(
    st.builds(
        lambda n, v: {"name": n, "value": v},
        st.sampled_from(["tool:found_by", "tool:location"]),
        st.text(alphabet="xyz/", min_size=1, max_size=4),
    ),
    max_size=2,
)


@st.composite
def cyclonedx_docs(draw: st.DrawFn, spec: str | None = None) -> dict[str, Any]:
    """Valid CycloneDX documents whose purls and bom-refs collide across documents."""
    count = draw(st.integers(min_value=0, max_value=6))
    components = []
    for index in range(count):
        name, version = draw(_names), draw(_versions)
        item: dict[str, Any] = {"type": "library", "name": name, "version": version}
        if draw(st.booleans()):
            item["purl"] = f"pkg:pypi/{name}@{version}"
        if draw(st.booleans()):
            item["bom-ref"] = f"ref-{index}"  # refs clash across documents on purpose
        if hashes := draw(_hashes):
            item["hashes"] = hashes
        if properties := draw(_properties):
            item["properties"] = properties
        components.append(item)
    refs = [c["bom-ref"] for c in components if "bom-ref" in c]
    root = None
    if draw(st.booleans()):
        root = {"type": "container", "name": "root", "bom-ref": "root-ref"}
        refs.append("root-ref")
    dependencies = []
    if refs:
        for ref in draw(st.lists(st.sampled_from(refs), unique=True, max_size=len(refs))):
            targets = draw(st.lists(st.sampled_from(refs), unique=True, max_size=3))
            dependencies.append({"ref": ref, "dependsOn": targets})
    doc: dict[str, Any] = {
        "bomFormat": "CycloneDX",
        "specVersion": spec or draw(st.sampled_from(["1.4", "1.5", "1.6"])),
        "version": 1,
        "components": components,
        "dependencies": dependencies,
    }
    if root is not None:
        doc["metadata"] = {"component": root}
    return doc
