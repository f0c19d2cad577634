"""Push small images and indexes through any :class:`~konflux_supply.oci.Registry`
(an OCI layout in unit tests, the local registry in integration tests)."""

from __future__ import annotations

import json

from konflux_supply.models.oci import (
    OCI_CONFIG,
    OCI_INDEX,
    OCI_MANIFEST,
    Descriptor,
    ImageIndex,
    ImageManifest,
    RawManifest,
)
from konflux_supply.oci import Registry

Platform = tuple[str, str, str | None]


def push_image(
    registry: Registry, repository: str, platform: Platform, *, tag: str | None = None
) -> RawManifest:
    """A one-layer image whose config names ``platform``; tagged, or stored by digest."""
    os, architecture, variant = platform
    config_doc = {"architecture": architecture, "os": os, "rootfs": {"type": "layers"}}
    if variant:
        config_doc["variant"] = variant
    config = json.dumps(config_doc).encode()
    layer = f"layer for {os}/{architecture}/{variant}".encode()
    registry.put_blob(repository, config)
    registry.put_blob(repository, layer)
    manifest = RawManifest.of(
        ImageManifest(
            schema_version=2,
            media_type=OCI_MANIFEST,
            config=Descriptor.for_bytes(config, OCI_CONFIG),
            layers=[Descriptor.for_bytes(layer, "application/vnd.oci.image.layer.v1.tar")],
        )
    )
    registry.put_manifest(repository, tag or manifest.digest, manifest)
    return manifest


def push_index(
    registry: Registry,
    repository: str,
    tag: str,
    platforms: list[Platform],
    *,
    state_platforms: bool = True,
) -> RawManifest:
    """An index of one image per platform (platforms listed in the index, or not)."""
    entries = []
    for platform in platforms:
        child = push_image(registry, repository, platform)
        stated = None
        if state_platforms:
            stated = {"os": platform[0], "architecture": platform[1]}
            if platform[2]:
                stated["variant"] = platform[2]
        entries.append(
            Descriptor(
                media_type=OCI_MANIFEST,
                size=len(child.data),
                digest=child.digest,
                platform=stated,
            )
        )
    index = RawManifest.of(ImageIndex(schema_version=2, media_type=OCI_INDEX, manifests=entries))
    registry.put_manifest(repository, tag, index)
    return index
