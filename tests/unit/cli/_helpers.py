"""Helpers shared by the CLI tests."""

from __future__ import annotations

from konflux_supply.oci import Layer, Reference, Registry, parse_reference
from konflux_supply.oci.cosign import build_signature_image

__all__ = ["push_image"]


def push_image(registry: Registry, reference: str, content: bytes = b"layer") -> Reference:
    """Push a one-layer image under ``reference``'s tag; returns it pinned to its digest."""
    ref = parse_reference(reference)
    layer = Layer("application/vnd.oci.image.layer.v1.tar", content)
    manifest, config = build_signature_image([layer.descriptor()], created="2024-01-01T00:00:00Z")
    registry.put_blob(ref.repository, layer.data)
    registry.put_blob(ref.repository, config)
    registry.put_manifest(ref.repository, ref.tag or manifest.digest, manifest)
    return ref.with_digest(manifest.digest)
