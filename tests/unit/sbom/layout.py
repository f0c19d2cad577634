"""Build small OCI image layouts (and their manifests) in a temporary directory."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"


def digest_of(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def descriptor(media_type: str, data: bytes, **extra: Any) -> dict[str, Any]:
    return {"mediaType": media_type, "digest": digest_of(data), "size": len(data)} | extra


class Layout:
    """A directory with ``oci-layout``, ``index.json`` and ``blobs/sha256``."""

    def __init__(self, root: Path) -> None:
        self.root = root
        (root / "blobs" / "sha256").mkdir(parents=True)
        (root / "oci-layout").write_text('{"imageLayoutVersion": "1.0.0"}')
        self.entries: list[dict[str, Any]] = []
        self._write_index()

    def blob(self, data: bytes) -> str:
        digest = digest_of(data)
        (self.root / "blobs" / "sha256" / digest.split(":")[1]).write_bytes(data)
        return digest

    def image(self, architecture: str = "amd64", os: str = "linux") -> bytes:
        """Write a config, a layer and a manifest; return the manifest bytes."""
        config = json.dumps({"architecture": architecture, "os": os, "rootfs": {}}).encode()
        layer = f"layer for {os}/{architecture}".encode()
        self.blob(config)
        self.blob(layer)
        manifest = json.dumps(
            {
                "schemaVersion": 2,
                "mediaType": OCI_MANIFEST,
                "config": descriptor("application/vnd.oci.image.config.v1+json", config),
                "layers": [descriptor("application/vnd.oci.image.layer.v1.tar", layer)],
            }
        ).encode()
        self.blob(manifest)
        return manifest

    def index(self, *platforms: tuple[str, str, str | None]) -> bytes:
        manifests = []
        for os, architecture, variant in platforms:
            manifest = self.image(architecture, os)
            platform = {"os": os, "architecture": architecture}
            if variant:
                platform["variant"] = variant
            manifests.append(descriptor(OCI_MANIFEST, manifest, platform=platform))
        attestation = b'{"schemaVersion":2}'
        self.blob(attestation)
        manifests.append(
            descriptor(
                OCI_MANIFEST,
                attestation,
                platform={"os": "unknown", "architecture": "unknown"},
                annotations={"vnd.docker.reference.type": "attestation-manifest"},
            )
        )
        data = json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": manifests})
        self.blob(data.encode())
        return data.encode()

    def tag(self, data: bytes, tag: str, media_type: str = OCI_MANIFEST) -> None:
        annotations = {"org.opencontainers.image.ref.name": tag}
        self.entries.append(descriptor(media_type, data, annotations=annotations))
        self._write_index()

    def _write_index(self) -> None:
        index = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": self.entries}
        (self.root / "index.json").write_text(json.dumps(index))
