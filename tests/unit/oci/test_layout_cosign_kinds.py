"""An OCI layout we write carries cosign's ``kind`` annotations (for ``--local-image``)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from konflux_supply.models.oci import RawManifest
from konflux_supply.oci import Layer
from konflux_supply.oci._layout import LayoutRegistry
from konflux_supply.oci.cosign import build_signature_image

COSIGN = "dev.cosignproject.cosign"


def _put(layout: LayoutRegistry, reference: str | None, content: bytes) -> RawManifest:
    layer = Layer("application/vnd.oci.image.layer.v1.tar", content)
    layout.put_blob("", layer.data)
    manifest, config = build_signature_image([layer.descriptor()])
    layout.put_blob("", config)
    layout.put_manifest("", reference or manifest.digest, manifest)
    return manifest


def _kinds(path: Path) -> list[tuple[str, str | None, str | None]]:
    index = json.loads((path / "index.json").read_text())
    return [
        (
            entry["digest"],
            (entry.get("annotations") or {}).get("org.opencontainers.image.ref.name"),
            (entry.get("annotations") or {}).get("kind"),
        )
        for entry in index["manifests"]
    ]


@pytest.mark.parametrize("subject_first", [True, False])
def test_attachment_tags_and_their_image_are_marked(tmp_path: Path, subject_first: bool) -> None:
    layout = LayoutRegistry(tmp_path)
    image_content = b"the image"
    layer = Layer("application/vnd.oci.image.layer.v1.tar", image_content)
    digest = build_signature_image([layer.descriptor()])[0].digest
    tag = "sha256-" + digest.split(":", 1)[1]
    if subject_first:
        _put(layout, None, image_content)
    sig = _put(layout, f"{tag}.sig", b"signatures")
    att = _put(layout, f"{tag}.att", b"attestations")
    sbom = _put(layout, f"{tag}.sbom", b"sbom")
    if not subject_first:
        _put(layout, None, image_content)
        _put(layout, "v1", image_content)

    entries = _kinds(tmp_path)
    assert (sig.digest, f"{tag}.sig", f"{COSIGN}/sigs") in entries
    assert (att.digest, f"{tag}.att", f"{COSIGN}/atts") in entries
    assert (sbom.digest, f"{tag}.sbom", None) in entries  # cosign's layout has no SBOM kind
    images = [e for e in entries if e[0] == digest]
    assert images[0][2] == f"{COSIGN}/image"
    assert [e[2] for e in entries].count(f"{COSIGN}/image") == 1


def test_other_tags_get_no_kind(tmp_path: Path) -> None:
    layout = LayoutRegistry(tmp_path)
    _put(layout, "v1", b"x")
    _put(layout, "sha256-notahexdigest.sig", b"y")
    assert [kind for _, _, kind in _kinds(tmp_path)] == [None, None]


def test_a_cosign_save_layout_is_read_by_kind(tmp_path: Path) -> None:
    """``cosign save`` writes no tags: its .sig/.att images are found by ``kind``."""
    layout = LayoutRegistry(tmp_path)
    image = _put(layout, None, b"the image")
    sig = _put(layout, None, b"signatures")
    att = _put(layout, None, b"attestations")
    index = json.loads((tmp_path / "index.json").read_text())
    for entry, kind in zip(index["manifests"], ("image", "sigs", "atts"), strict=True):
        entry["annotations"] = {"kind": f"{COSIGN}/{kind}"}
    (tmp_path / "index.json").write_text(json.dumps(index))

    tag = "sha256-" + image.digest.split(":", 1)[1]
    found_sig = layout.get_manifest("", f"{tag}.sig")
    found_att = layout.get_manifest("", f"{tag}.att")
    assert found_sig is not None
    assert found_sig.digest == sig.digest
    assert found_att is not None
    assert found_att.digest == att.digest
    assert layout.get_manifest("", f"{tag}.sbom") is None
    other = "sha256-" + "0" * 64
    assert layout.get_manifest("", f"{other}.sig") is None  # not the saved image's
