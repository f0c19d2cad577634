"""Generating an image SBOM from a manifest, an index or an OCI layout."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from konflux_supply import sbom
from konflux_supply.errors import InputError, RegistryError

from .helpers import DIGEST, SERIAL, WHEN, component
from .layout import OCI_INDEX, Layout, digest_of


@pytest.fixture
def layout(tmp_path: Path) -> Layout:
    return Layout(tmp_path / "layout")


def _platforms(doc: sbom.CycloneDxBom) -> list[str]:
    return [p.value or "" for c in doc.components for p in c.properties]


def test_index_gives_one_component_per_platform(layout: Layout) -> None:
    index = layout.index(("linux", "amd64", None), ("linux", "arm64", "v8"))
    digest = digest_of(index)
    doc = sbom.generate(
        f"quay.io/org/app:v1@{digest}", manifest=index, serial_number=SERIAL, timestamp=WHEN
    )
    root = doc.metadata_component
    assert root is not None
    assert root.purl == f"pkg:oci/app@{digest}?repository_url=quay.io/org/app"
    assert root.type == "container"
    assert root.hashes == (sbom.Hash("SHA-256", digest.split(":")[1]),)
    assert [c.purl.split("?")[1] for c in doc.components if c.purl] == [
        "arch=amd64&repository_url=quay.io/org/app",
        "arch=arm64&repository_url=quay.io/org/app",
    ]
    assert _platforms(doc) == ["linux/amd64", "linux/arm64/v8"]  # attestation skipped
    assert doc.dependencies[0].depends_on == tuple(c.bom_ref for c in doc.components)
    assert doc.serial_number == SERIAL
    assert doc.timestamp == "2026-11-20T12:00:00Z"
    result = sbom.validate(doc)
    assert result.ok, result.issues


def _fetch(layout: Layout) -> Callable[[str], bytes]:
    def fetch(digest: str) -> bytes:
        return (layout.root / "blobs" / "sha256" / digest.split(":")[1]).read_bytes()

    return fetch


def test_manifest_with_fetch_reads_the_platform_from_the_config(layout: Layout) -> None:
    manifest = layout.image("s390x")
    digest = digest_of(manifest)
    doc = sbom.generate(f"quay.io/org/app@{digest}", fetch=_fetch(layout))
    assert doc.metadata_component is not None
    assert doc.metadata_component.purl == (
        f"pkg:oci/app@{digest}?arch=s390x&repository_url=quay.io/org/app"
    )
    assert doc.components == ()
    # Without fetch, the manifest alone gives no platform.
    bare = sbom.generate(f"quay.io/org/app@{digest}", manifest=manifest)
    assert bare.metadata_component is not None
    assert "arch=" not in (bare.metadata_component.purl or "")


def test_layout_by_tag_digest_or_only_image(layout: Layout) -> None:
    index = layout.index(("linux", "amd64", None))
    layout.tag(index, "v1", OCI_INDEX)
    digest = digest_of(index)
    by_tag = sbom.generate(f"oci:{layout.root}:v1", serial_number=SERIAL, timestamp=WHEN)
    by_digest = sbom.generate(f"oci:{layout.root}@{digest}", serial_number=SERIAL, timestamp=WHEN)
    only = sbom.generate(f"oci:{layout.root}", serial_number=SERIAL, timestamp=WHEN)
    assert by_tag.to_json() == by_digest.to_json() == only.to_json()
    assert by_tag.metadata_component is not None
    assert by_tag.metadata_component.purl == f"pkg:oci/layout@{digest}"
    named = sbom.generate(f"oci:{layout.root}:v1", repository="registry.example/team/app")
    assert named.metadata_component is not None
    assert named.metadata_component.purl == (
        f"pkg:oci/app@{digest}?repository_url=registry.example/team/app"
    )


def test_caller_components_are_added_and_depended_on() -> None:
    manifest = json.dumps({"schemaVersion": 2, "config": {}, "layers": []}).encode()
    extra = [component("requests", "2.32.3"), {"type": "file", "name": "/etc/os-release"}]
    doc = sbom.generate("quay.io/org/app", manifest=manifest, components=extra)
    assert [c.name for c in doc.components] == ["requests", "/etc/os-release"]
    assert doc.dependencies[0].depends_on == ("pkg:pypi/requests@2.32.3",)
    assert doc.metadata_component is not None
    assert doc.metadata_component.purl == (
        f"pkg:oci/app@{digest_of(manifest)}?repository_url=quay.io/org/app"
    )


def test_docker_manifest_list_and_docker_hub_names() -> None:
    entry = {
        "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
        "digest": DIGEST,
        "size": 1,
        "platform": {"os": "windows", "architecture": "amd64", "os.version": "10.0.17763"},
    }
    data = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.docker.distribution.manifest.list.v2+json",
            "manifests": [entry, entry],
        }
    ).encode()
    doc = sbom.generate("ubuntu", manifest=data, spec_version="1.4")
    assert doc.spec_version == "1.4"
    (child,) = doc.components  # the repeated digest is listed once
    assert (
        child.purl == f"pkg:oci/ubuntu@{DIGEST}?arch=amd64&repository_url=docker.io/library/ubuntu"
    )
    assert _platforms(doc) == ["windows/amd64", "10.0.17763"]
    assert sbom.validate(doc).ok


_INDEX = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": []}


@pytest.mark.parametrize(
    ("image", "manifest", "message", "field"),
    [
        ("quay.io/org/app@sha256:" + "0" * 64, b"{}", "does not match its digest", "manifest"),
        ("quay.io/org/app@sha256:abc", b"{}", "not a sha256/sha512 digest", "image"),
        ("quay.io/Org/App", b"{}", "not a valid image reference", "image"),
        ("quay.io/org/app:bad+tag", b"{}", "not a valid tag", "image"),
        ("quay.io/org/app", b"[1]", "not a JSON object", "manifest"),
        ("quay.io/org/app", b"{", "not JSON", "manifest"),
        ("quay.io/org/app", b'{"mediaType": "text/plain"}', "not an image manifest", None),
        (
            "quay.io/org/app",
            json.dumps(_INDEX | {"manifests": {}}).encode(),
            "needs a 'manifests' array",
            None,
        ),
        (
            "quay.io/org/app",
            json.dumps(_INDEX | {"manifests": [{"digest": "md5:x"}]}).encode(),
            "needs a sha256/sha512 digest",
            "manifest.manifests[0].digest",
        ),
        (
            "quay.io/org/app",
            json.dumps(_INDEX | {"manifests": ["x"]}).encode(),
            "must be an object",
            "manifest.manifests[0]",
        ),
    ],
)
def test_bad_manifests(image: str, manifest: bytes, message: str, field: str | None) -> None:
    with pytest.raises(InputError, match=message) as info:
        sbom.generate(image, manifest=manifest)
    if field is not None:
        assert info.value.field == field


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"components": [{"type": "library"}]}, "needs a string 'name'"),
        ({"components": ["x"]}, "must be a CycloneDX component"),
        (
            {"components": [component("a"), component("a")]},
            "duplicate bom-ref",
        ),
        ({"spec_version": "1.3"}, "cannot write CycloneDX"),
    ],
)
def test_bad_arguments(kwargs: dict[str, Any], message: str) -> None:
    manifest = json.dumps({"schemaVersion": 2, "layers": []}).encode()
    with pytest.raises(InputError, match=message):
        sbom.generate("quay.io/org/app", manifest=manifest, **kwargs)


def test_fetched_bytes_are_checked(layout: Layout) -> None:
    manifest = layout.image()
    digest = digest_of(manifest)
    with pytest.raises(RegistryError, match="does not match its digest"):
        sbom.generate(f"quay.io/org/app@{digest}", fetch=lambda _: b"{}")
    # A corrupt config blob in the layout is caught too.
    config_digest = json.loads(manifest)["config"]["digest"]
    (layout.root / "blobs" / "sha256" / config_digest.split(":")[1]).write_bytes(b"{}")
    with pytest.raises(RegistryError, match=f"blob {config_digest} in the layout is corrupt"):
        sbom.generate(f"oci:{layout.root}@{digest}")
    with pytest.raises(InputError, match="or a registry to read the image from"):
        sbom.generate("quay.io/org/app:latest")


@pytest.mark.parametrize(
    ("reference", "message"),
    [
        ("oci:{root}:missing", "image not found"),
        ("oci:{root}@sha256:" + "1" * 64, "image not found"),
        ("oci:{root}/nope@sha256:" + "1" * 64, "image not found"),
        ("oci:{root}@sha1:abc", "unsupported or malformed digest"),
        ("oci:@sha256:" + "1" * 64, "needs a directory"),
    ],
)
def test_bad_layouts(layout: Layout, reference: str, message: str) -> None:
    layout.tag(layout.image(), "v1")
    with pytest.raises(InputError, match=message):
        sbom.generate(reference.format(root=layout.root))


def test_layout_with_two_untagged_images_needs_a_tag(layout: Layout) -> None:
    layout.tag(layout.image("amd64"), "a")
    layout.tag(layout.image("arm64"), "b")
    with pytest.raises(InputError, match="the layout holds 2 manifests"):
        sbom.generate(f"oci:{layout.root}")


@pytest.mark.parametrize(
    ("image", "purl"),
    [
        ("quay.io/org/app@" + DIGEST, f"pkg:oci/app@{DIGEST}?repository_url=quay.io/org/app"),
        (
            "localhost:5000/a/b/c:tag@" + DIGEST,
            f"pkg:oci/c@{DIGEST}?repository_url=localhost:5000/a/b/c",
        ),
        (
            "library/busybox@" + DIGEST,
            f"pkg:oci/busybox@{DIGEST}?repository_url=docker.io/library/busybox",
        ),
        ("index.docker.io/org/x@" + DIGEST, f"pkg:oci/x@{DIGEST}?repository_url=docker.io/org/x"),
    ],
)
def test_oci_purls(image: str, purl: str) -> None:
    assert sbom.oci_purl(image) == purl
    assert sbom.image_component(image)["bom-ref"] == purl


def test_purl_needs_a_digest() -> None:
    with pytest.raises(InputError, match="needs a digest"):
        sbom.oci_purl("quay.io/org/app:v1")
    assert sbom.oci_purl("quay.io/org/app:v1", digest=DIGEST, with_tag=True).endswith("&tag=v1")
